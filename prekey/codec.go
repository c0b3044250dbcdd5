package prekey

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/internal/protofield"
)

// Field numbers of libsignal's PreKeyRecordStructure and
// SignedPreKeyRecordStructure (proto/storage.proto, proto3). Kyber pre-key
// records reuse SignedPreKeyRecordStructure.
const (
	fieldID         protowire.Number = 1 // uint32
	fieldPublicKey  protowire.Number = 2 // bytes
	fieldPrivateKey protowire.Number = 3 // bytes
	fieldSignature  protowire.Number = 4 // bytes (signed records only)
	fieldTimestamp  protowire.Number = 5 // fixed64, ms (signed records only)
)

// recordFields is the union of the fields of the two record structures, kept
// as undecoded bytes: like libsignal, records decode their keys only when they
// are read.
type recordFields struct {
	id        uint32
	public    []byte
	private   []byte
	signature []byte
	timestamp uint64
}

// decodeRecord parses a PreKeyRecordStructure (signed false) or a
// SignedPreKeyRecordStructure (signed true).
//
// The rules are protobuf's, as prost applies them: fields may come in any
// order, a repeated scalar field keeps its last value, absent fields are zero,
// and unknown fields (any number not in the structure, including 4 and 5 in a
// PreKeyRecordStructure) are skipped, so records written by a later libsignal
// with more fields still load. A known field with the wrong wire type, a
// malformed tag, varint or length, field number 0, or an id that does not fit
// in 32 bits is an error (prost rejects the same input, except that it
// truncates oversized ids).
func decodeRecord(b []byte, signed bool) (recordFields, error) {
	var f recordFields
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return recordFields{}, recordError("bad tag", protowire.ParseError(n))
		}
		b = b[n:]
		known := num == fieldID || num == fieldPublicKey || num == fieldPrivateKey ||
			(signed && (num == fieldSignature || num == fieldTimestamp))
		if !known {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return recordFields{}, recordError(fmt.Sprintf("unknown field %d", num), protowire.ParseError(n))
			}
			b = b[n:]
			continue
		}
		want := protowire.BytesType
		switch num {
		case fieldID:
			want = protowire.VarintType
		case fieldTimestamp:
			want = protowire.Fixed64Type
		}
		if typ != want {
			return recordFields{}, recordError(fmt.Sprintf("field %d has wire type %d, want %d", num, typ, want), nil)
		}
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return recordFields{}, recordError("bad id", protowire.ParseError(n))
			}
			if v > math.MaxUint32 {
				return recordFields{}, recordError("id does not fit in 32 bits", nil)
			}
			f.id = uint32(v)
			b = b[n:]
		case protowire.Fixed64Type:
			v, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				return recordFields{}, recordError("bad timestamp", protowire.ParseError(n))
			}
			f.timestamp = v
			b = b[n:]
		default:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return recordFields{}, recordError(fmt.Sprintf("bad field %d", num), protowire.ParseError(n))
			}
			v = clone(v)
			switch num {
			case fieldPublicKey:
				f.public = v
			case fieldPrivateKey:
				clear(f.private)
				f.private = v
			case fieldSignature:
				f.signature = v
			}
			b = b[n:]
		}
	}
	return f, nil
}

// appendRecord appends f in prost's encoding: ascending field numbers, proto3
// zero values (id 0, empty bytes, timestamp 0) omitted.
func (f *recordFields) appendRecord(dst []byte, signed bool) []byte {
	if f.id != 0 {
		dst = protowire.AppendTag(dst, fieldID, protowire.VarintType)
		dst = protowire.AppendVarint(dst, uint64(f.id))
	}
	dst = protofield.AppendBytesNonEmpty(dst, fieldPublicKey, f.public)
	dst = protofield.AppendBytesNonEmpty(dst, fieldPrivateKey, f.private)
	if !signed {
		return dst
	}
	dst = protofield.AppendBytesNonEmpty(dst, fieldSignature, f.signature)
	if f.timestamp != 0 {
		dst = protowire.AppendTag(dst, fieldTimestamp, protowire.Fixed64Type)
		dst = protowire.AppendFixed64(dst, f.timestamp)
	}
	return dst
}

// size returns the length of f's encoding.
func (f *recordFields) size(signed bool) int {
	n := 0
	if f.id != 0 {
		n += protowire.SizeTag(fieldID) + protowire.SizeVarint(uint64(f.id))
	}
	n += sizeBytesField(fieldPublicKey, f.public) + sizeBytesField(fieldPrivateKey, f.private)
	if signed {
		n += sizeBytesField(fieldSignature, f.signature)
		if f.timestamp != 0 {
			n += protowire.SizeTag(fieldTimestamp) + protowire.SizeFixed64()
		}
	}
	return n
}

func sizeBytesField(num protowire.Number, v []byte) int {
	if len(v) == 0 {
		return 0
	}
	return protofield.SizeBytes(num, len(v))
}

// clone returns a copy of b that does not alias it (nil for empty input).
func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
