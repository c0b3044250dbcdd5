package senderkey

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/internal/protofield"
)

// Field kinds of the sender-key messages. A layout gives each kind's
// protobuf field number in one format (0: the format has no such field).
const (
	kUUID = iota
	kChainID
	kIteration
	kCiphertext
	kChainKey
	kSigningKey
	numKinds
)

type layout [numKinds]protowire.Number

var (
	messageLayout = [...]layout{
		Libsignal: {kUUID: 1, kChainID: 2, kIteration: 3, kCiphertext: 4},
		WhatsApp:  {kChainID: 1, kIteration: 2, kCiphertext: 3},
	}
	distributionLayout = [...]layout{
		Libsignal: {kUUID: 1, kChainID: 2, kIteration: 3, kChainKey: 4, kSigningKey: 5},
		WhatsApp:  {kChainID: 1, kIteration: 2, kChainKey: 3, kSigningKey: 4},
	}
)

// fields holds the values of one parsed protobuf body. Byte fields alias
// the input.
type fields struct {
	bytes     [numKinds][]byte
	chainID   uint32
	iteration uint32
	have      [numKinds]bool
}

// parseFields reads a protobuf body with the given layout. Unknown fields
// are skipped and a repeated field takes its last value, as protobuf
// decoders (and libsignal's prost) do; a known field with the wrong wire
// type, a truncated field, an integer above 2^32 − 1 or a missing field of
// the layout is an error.
func parseFields(body []byte, l *layout) (fields, error) {
	var f fields
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return fields{}, ErrMalformed
		}
		body = body[n:]
		kind := -1
		for k, fn := range l {
			if fn != 0 && fn == num {
				kind = k
				break
			}
		}
		switch {
		case kind < 0:
			n = protowire.ConsumeFieldValue(num, typ, body)
		case kind == kChainID || kind == kIteration:
			if typ != protowire.VarintType {
				return fields{}, fmt.Errorf("%w: field %d has wire type %d", ErrMalformed, num, typ)
			}
			var v uint64
			v, n = protowire.ConsumeVarint(body)
			if n >= 0 && v > math.MaxUint32 {
				return fields{}, fmt.Errorf("%w: field %d out of range", ErrMalformed, num)
			}
			if kind == kChainID {
				f.chainID = uint32(v)
			} else {
				f.iteration = uint32(v)
			}
			f.have[kind] = true
		default:
			if typ != protowire.BytesType {
				return fields{}, fmt.Errorf("%w: field %d has wire type %d", ErrMalformed, num, typ)
			}
			f.bytes[kind], n = protowire.ConsumeBytes(body)
			f.have[kind] = true
		}
		if n < 0 {
			return fields{}, ErrMalformed
		}
		body = body[n:]
	}
	for k, fn := range l {
		if fn != 0 && !f.have[k] {
			return fields{}, fmt.Errorf("%w: missing field %d", ErrMalformed, fn)
		}
	}
	if l[kUUID] != 0 && len(f.bytes[kUUID]) != len(DistributionID{}) {
		return fields{}, fmt.Errorf("%w: distribution id is not 16 bytes", ErrMalformed)
	}
	return f, nil
}

// checkVersion reads the message version from the high nibble of the
// version byte; only Version is accepted (the low nibble is ignored, as
// libsignal ignores it).
func checkVersion(b byte) (uint8, error) {
	if v := b >> 4; v != Version {
		return 0, &VersionError{Version: v}
	}
	return Version, nil
}

func appendVarintField(dst []byte, num protowire.Number, v uint32) []byte {
	return protofield.AppendVarint(dst, num, uint64(v))
}

func varintFieldSize(num protowire.Number, v uint32) int {
	return protofield.SizeVarint(num, uint64(v))
}
