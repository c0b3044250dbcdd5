package senderkey

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/internal/protofield"
	"github.com/ratchetlab/signal/keys"
)

// messageKey is a skipped message key, kept as its seed.
type messageKey struct {
	iteration uint32
	seed      [32]byte
}

// state is one sender chain: libsignal's SenderKeyStateStructure.
type state struct {
	// version is message_version as stored (0 means 3).
	version    uint32
	chainID    uint32
	iteration  uint32
	chainKey   [32]byte
	signingPub keys.PublicKey
	// signingPriv is the private signing key, held only by the sender.
	signingPriv [32]byte
	hasPriv     bool
	// skipped holds the skipped message keys, oldest first.
	skipped []messageKey
}

func (s *state) messageVersion() uint32 {
	if s.version == 0 {
		return Version
	}
	return s.version
}

func (s *state) clone() state {
	c := *s
	c.skipped = append([]messageKey(nil), s.skipped...)
	return c
}

// Record holds one sender's states (chains) for one group, newest first:
// libsignal's SenderKeyRecord. The zero value is an empty record. A Record
// is not safe for concurrent use.
type Record struct {
	states []state
}

// NewRecord returns an empty record.
func NewRecord() *Record { return new(Record) }

// Len returns the number of states in the record.
func (r *Record) Len() int { return len(r.states) }

// Clone returns a deep copy of r.
func (r *Record) Clone() *Record {
	c := &Record{states: make([]state, len(r.states))}
	for i := range r.states {
		c.states[i] = r.states[i].clone()
	}
	return c
}

// StateInfo describes one state of a record by its public data.
type StateInfo struct {
	ChainID uint32
	// Iteration is the chain's next iteration.
	Iteration uint32
	// MessageVersion is the state's message version (3).
	MessageVersion uint32
	SigningKey     keys.PublicKey
	// HasSigningPrivateKey is true for the sender's own state.
	HasSigningPrivateKey bool
	// SkippedIterations lists the iterations of the stored skipped
	// message keys, oldest first.
	SkippedIterations []uint32
}

// States describes the record's states, newest first.
func (r *Record) States() []StateInfo {
	out := make([]StateInfo, len(r.states))
	for i := range r.states {
		s := &r.states[i]
		out[i] = StateInfo{
			ChainID: s.chainID, Iteration: s.iteration, MessageVersion: s.messageVersion(),
			SigningKey: s.signingPub, HasSigningPrivateKey: s.hasPriv,
		}
		for _, k := range s.skipped {
			out[i].SkippedIterations = append(out[i].SkippedIterations, k.iteration)
		}
	}
	return out
}

// Format implements fmt.Formatter: it prints the number of states and
// their chain ids and iterations, never a key.
func (r *Record) Format(f fmt.State, _ rune) {
	if r == nil {
		fmt.Fprint(f, "senderkey.Record(nil)")
		return
	}
	fmt.Fprint(f, "senderkey.Record{")
	for i := range r.states {
		if i > 0 {
			fmt.Fprint(f, ", ")
		}
		fmt.Fprintf(f, "chain %d at %d", r.states[i].chainID, r.states[i].iteration)
	}
	fmt.Fprint(f, "}")
}

// Record encoding (proto/storage.proto, proto3: zero values are left out):
//
//	SenderKeyRecordStructure { repeated SenderKeyStateStructure sender_key_states = 1; }
//	SenderKeyStateStructure {
//	    uint32 chain_id = 1;
//	    SenderChainKey { uint32 iteration = 1; bytes seed = 2; } sender_chain_key = 2;
//	    SenderSigningKey { bytes public = 1; bytes private = 2; } sender_signing_key = 3;
//	    repeated SenderMessageKey { uint32 iteration = 1; bytes seed = 2; } sender_message_keys = 4;
//	    uint32 message_version = 5;
//	}

func uintSize(num protowire.Number, v uint32) int {
	if v == 0 {
		return 0
	}
	return varintFieldSize(num, v)
}

func appendUint(dst []byte, num protowire.Number, v uint32) []byte {
	if v == 0 {
		return dst
	}
	return appendVarintField(dst, num, v)
}

func chainKeySize(iteration uint32) int {
	return uintSize(1, iteration) + protofield.SizeBytes(2, 32)
}

func signingKeySize(s *state) int {
	n := protofield.SizeBytes(1, keys.PublicKeySize)
	if s.hasPriv {
		n += protofield.SizeBytes(2, 32)
	}
	return n
}

func (s *state) size() int {
	n := uintSize(1, s.chainID) + protofield.SizeBytes(2, chainKeySize(s.iteration)) +
		protofield.SizeBytes(3, signingKeySize(s)) + uintSize(5, s.version)
	for i := range s.skipped {
		n += protofield.SizeBytes(4, chainKeySize(s.skipped[i].iteration))
	}
	return n
}

func (s *state) appendTo(dst []byte) []byte {
	dst = appendUint(dst, 1, s.chainID)
	dst = protowire.AppendTag(dst, 2, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(chainKeySize(s.iteration)))
	dst = appendUint(dst, 1, s.iteration)
	dst = protofield.AppendBytes(dst, 2, s.chainKey[:])
	dst = protowire.AppendTag(dst, 3, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(signingKeySize(s)))
	pub := s.signingPub.Array()
	dst = protofield.AppendBytes(dst, 1, pub[:])
	if s.hasPriv {
		dst = protofield.AppendBytes(dst, 2, s.signingPriv[:])
	}
	for i := range s.skipped {
		k := &s.skipped[i]
		dst = protowire.AppendTag(dst, 4, protowire.BytesType)
		dst = protowire.AppendVarint(dst, uint64(chainKeySize(k.iteration)))
		dst = appendUint(dst, 1, k.iteration)
		dst = protofield.AppendBytes(dst, 2, k.seed[:])
	}
	return appendUint(dst, 5, s.version)
}

// AppendBinary appends the record in libsignal's SenderKeyRecordStructure
// encoding to dst. The encoding holds secret keys.
func (r *Record) AppendBinary(dst []byte) ([]byte, error) {
	n := 0
	for i := range r.states {
		n += protofield.SizeBytes(1, r.states[i].size())
	}
	if cap(dst)-len(dst) < n {
		dst = append(make([]byte, 0, len(dst)+n), dst...)
	}
	for i := range r.states {
		s := &r.states[i]
		dst = protowire.AppendTag(dst, 1, protowire.BytesType)
		dst = protowire.AppendVarint(dst, uint64(s.size()))
		dst = s.appendTo(dst)
	}
	return dst, nil
}

// MarshalBinary returns the record in libsignal's SenderKeyRecordStructure
// encoding. The encoding holds secret keys.
func (r *Record) MarshalBinary() ([]byte, error) {
	return r.AppendBinary(nil)
}

// ParseRecord decodes a record in libsignal's SenderKeyRecordStructure
// encoding. Every state must have a 32-byte chain key, a 33-byte public
// signing key, a private signing key of 32 bytes or none, and 32-byte
// skipped-key seeds; unknown fields are skipped. Errors match
// ErrInvalidRecord.
func ParseRecord(b []byte) (*Record, error) {
	r := new(Record)
	err := forEachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != 1 {
			return nil
		}
		if typ != protowire.BytesType {
			return errRecord
		}
		s, err := parseState(v)
		if err != nil {
			return err
		}
		r.states = append(r.states, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

var errRecord = fmt.Errorf("%w: bad field", ErrInvalidRecord)

// forEachField calls fn for each field of a protobuf body with its bytes
// (length-delimited fields) or its varint value.
func forEachField(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errRecord
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return errRecord
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

// want checks a field's wire type and, for varints, that it fits 32 bits.
func want(typ, expect protowire.Type, x uint64) error {
	if typ != expect || (typ == protowire.VarintType && x > math.MaxUint32) {
		return errRecord
	}
	return nil
}

// parseKeyPair reads a SenderChainKey or SenderMessageKey: {1 iteration,
// 2 seed (32 B)}.
func parseIterSeed(b []byte) (it uint32, seed [32]byte, err error) {
	have := false
	err = forEachField(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 1:
			if err := want(typ, protowire.VarintType, x); err != nil {
				return err
			}
			it = uint32(x)
		case 2:
			if err := want(typ, protowire.BytesType, 0); err != nil {
				return err
			}
			if len(v) != 32 {
				return fmt.Errorf("%w: key is not 32 bytes", ErrInvalidRecord)
			}
			copy(seed[:], v)
			have = true
		}
		return nil
	})
	if err == nil && !have {
		err = fmt.Errorf("%w: missing key", ErrInvalidRecord)
	}
	return it, seed, err
}

func parseState(b []byte) (state, error) {
	var s state
	var haveChain, haveSigning bool
	err := forEachField(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		var err error
		switch num {
		case 1, 5:
			if err := want(typ, protowire.VarintType, x); err != nil {
				return err
			}
			if num == 1 {
				s.chainID = uint32(x)
			} else {
				s.version = uint32(x)
			}
		case 2:
			if err := want(typ, protowire.BytesType, 0); err != nil {
				return err
			}
			s.iteration, s.chainKey, err = parseIterSeed(v)
			haveChain = true
		case 3:
			if err := want(typ, protowire.BytesType, 0); err != nil {
				return err
			}
			err = s.parseSigningKey(v)
			haveSigning = true
		case 4:
			if err := want(typ, protowire.BytesType, 0); err != nil {
				return err
			}
			var k messageKey
			k.iteration, k.seed, err = parseIterSeed(v)
			s.skipped = append(s.skipped, k)
		}
		return err
	})
	if err != nil {
		return state{}, err
	}
	if !haveChain || !haveSigning {
		return state{}, fmt.Errorf("%w: state lacks its chain or signing key", ErrInvalidRecord)
	}
	return s, nil
}

func (s *state) parseSigningKey(b []byte) error {
	havePub := false
	s.hasPriv = false
	err := forEachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch num {
		case 1:
			if typ != protowire.BytesType {
				return errRecord
			}
			k, err := keys.ParsePublicKey(v)
			if err != nil {
				return fmt.Errorf("%w: signing key: %w", ErrInvalidRecord, err)
			}
			s.signingPub, havePub = k, true
		case 2:
			if typ != protowire.BytesType {
				return errRecord
			}
			switch len(v) {
			case 0:
				s.hasPriv = false
			case 32:
				copy(s.signingPriv[:], v)
				s.hasPriv = true
			default:
				return fmt.Errorf("%w: private signing key is not 32 bytes", ErrInvalidRecord)
			}
		}
		return nil
	})
	if err == nil && !havePub {
		err = fmt.Errorf("%w: missing public signing key", ErrInvalidRecord)
	}
	return err
}
