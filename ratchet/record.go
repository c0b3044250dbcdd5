package ratchet

import (
	"fmt"
	"math"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/internal/protofield"
	"github.com/ratchetlab/signal/kdf"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/spqr"
)

// The binary form of a State is libsignal's SessionStructure (storage.proto,
// proto3), written as libsignal writes it: fields in ascending tag order,
// zero scalars and empty byte strings left out.
//
//	SessionStructure {
//	  1 session_version uint32          2 local_identity_public bytes
//	  3 remote_identity_public bytes    4 root_key bytes
//	  5 previous_counter uint32         6 sender_chain Chain
//	  7 receiver_chains repeated Chain  9 pending_pre_key PendingPreKey
//	  10 remote_registration_id uint32  11 local_registration_id uint32
//	  13 alice_base_key bytes           14 pending_kyber_pre_key PendingKyberPreKey
//	  15 pq_ratchet_state bytes }
//	Chain { 1 sender_ratchet_key bytes  2 sender_ratchet_key_private bytes
//	        3 chain_key {1 index uint32, 2 key bytes}
//	        4 message_keys repeated {1 index, 2 cipher_key, 3 mac_key, 4 iv, 5 seed} }
//	PendingPreKey { 1 pre_key_id optional uint32  2 base_key bytes
//	                3 signed_pre_key_id int32     4 timestamp uint64 }
//	PendingKyberPreKey { 1 pre_key_id uint32  2 ciphertext bytes }
//
// Skipped message keys are written newest first, as libsignal keeps them.

// Bounds applied when decoding.
const (
	maxKyberCiphertext = 4096
	maxPQState         = 1 << 20
)

// MarshalBinary returns the state in libsignal's SessionStructure encoding.
func (s *State) MarshalBinary() ([]byte, error) {
	return s.AppendBinary(nil)
}

// SizeHint returns an upper bound of how many bytes AppendBinary appends,
// for callers sizing a buffer (the SPQR part is spqr.State.SizeHint's).
func (s *State) SizeHint() int {
	// Version, identities, root key, previous counter, sending chain,
	// pending pre-key and registration ids: at most 303 bytes.
	n := 320 + len(s.aliceBaseKey) + 3
	if s.pendingKyber != nil {
		n += len(s.pendingKyber.Ciphertext) + 16
	}
	for i := range s.receivers {
		n += 80 // ratchet key and chain key
		for j := range s.receivers[i].skipped {
			if s.receivers[i].skipped[j].legacy != nil {
				n += 94 // index, cipher key, MAC key, IV
			} else {
				n += 42 // index and seed
			}
		}
	}
	if s.pq != nil {
		n += 5 + s.pq.SizeHint()
	}
	return n
}

// AppendBinary appends the state's SessionStructure encoding to dst.
func (s *State) AppendBinary(dst []byte) ([]byte, error) {
	dst = slices.Grow(dst, s.SizeHint())
	dst = protofield.AppendVarintNonZero(dst, 1, uint64(s.version))
	local, remote := s.localIdentity.Array(), s.remoteIdentity.Array()
	dst = protofield.AppendBytesNonEmpty(dst, 2, local[:])
	if !s.remoteIdentity.IsZero() {
		dst = protofield.AppendBytesNonEmpty(dst, 3, remote[:])
	}
	dst = protofield.AppendBytesNonEmpty(dst, 4, s.rootKey[:])
	dst = protofield.AppendVarintNonZero(dst, 5, uint64(s.prevCounter))
	if s.hasSender {
		dst = protofield.AppendMessage(dst, 6, 1, func(b []byte) []byte {
			pub := s.sender.pub.Array()
			b = protofield.AppendBytesNonEmpty(b, 1, pub[:])
			b = protofield.AppendBytesNonEmpty(b, 2, s.sender.privRaw[:])
			return appendChainKey(b, s.sender.index, &s.sender.chainKey)
		})
	}
	for i := range s.receivers {
		r := &s.receivers[i]
		dst = protofield.AppendMessage(dst, 7, 1, func(b []byte) []byte {
			rk := r.ratchetKey.Array()
			b = protofield.AppendBytesNonEmpty(b, 1, rk[:])
			b = appendChainKey(b, r.index, &r.chainKey)
			for j := len(r.skipped) - 1; j >= 0; j-- {
				k := &r.skipped[j]
				b = protofield.AppendMessage(b, 4, 1, func(b []byte) []byte {
					b = protofield.AppendVarintNonZero(b, 1, uint64(k.index))
					if k.legacy != nil {
						b = protofield.AppendBytesNonEmpty(b, 2, k.legacy.CipherKey[:])
						b = protofield.AppendBytesNonEmpty(b, 3, k.legacy.MACKey[:])
						return protofield.AppendBytesNonEmpty(b, 4, k.legacy.IV[:])
					}
					return protofield.AppendBytesNonEmpty(b, 5, k.seed[:])
				})
			}
			return b
		})
	}
	if p := s.pendingPreKey; p != nil {
		dst = protofield.AppendMessage(dst, 9, 1, func(b []byte) []byte {
			if p.HasPreKeyID {
				b = protowire.AppendTag(b, 1, protowire.VarintType)
				b = protowire.AppendVarint(b, uint64(p.PreKeyID))
			}
			base := p.BaseKey.Array()
			b = protofield.AppendBytesNonEmpty(b, 2, base[:])
			// int32 on the wire: libsignal casts the u32 id.
			b = protofield.AppendVarintNonZero(b, 3, uint64(int64(int32(p.SignedPreKeyID))))
			return protofield.AppendVarintNonZero(b, 4, p.Timestamp)
		})
	}
	dst = protofield.AppendVarintNonZero(dst, 10, uint64(s.remoteRegistrationID))
	dst = protofield.AppendVarintNonZero(dst, 11, uint64(s.localRegistrationID))
	dst = protofield.AppendBytesNonEmpty(dst, 13, s.aliceBaseKey)
	if p := s.pendingKyber; p != nil {
		dst = protofield.AppendMessage(dst, 14, 1, func(b []byte) []byte {
			b = protofield.AppendVarintNonZero(b, 1, uint64(p.PreKeyID))
			return protofield.AppendBytesNonEmpty(b, 2, p.Ciphertext)
		})
	}
	if s.pq != nil {
		// Encoded in place; the length's width is guessed from the size
		// hint. An empty encoding leaves the field out, as proto3 does.
		mark := len(dst)
		w := protowire.SizeVarint(uint64(s.pq.SizeHint()))
		dst = protofield.AppendMessage(dst, 15, w, func(b []byte) []byte {
			b, _ = s.pq.AppendBinary(b)
			return b
		})
		if len(dst) == mark+2 {
			dst = dst[:mark]
		}
	}
	return dst, nil
}

func appendChainKey(b []byte, index uint32, key *[32]byte) []byte {
	return protofield.AppendMessage(b, 3, 1, func(b []byte) []byte {
		b = protofield.AppendVarintNonZero(b, 1, uint64(index))
		return protofield.AppendBytesNonEmpty(b, 2, key[:])
	})
}

// ParseState decodes a SessionStructure. It rejects malformed encodings,
// keys of the wrong length and counts above the limits with an error
// wrapping ErrInvalidState, and never panics. Unknown fields are skipped.
func ParseState(b []byte) (*State, error) {
	s := new(State)
	var haveVersion bool
	err := forEachField(b, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error {
		switch num {
		case 1:
			if typ != protowire.VarintType {
				return errWire(num)
			}
			s.version, haveVersion = uint8(v), v <= math.MaxUint8
		case 2, 3:
			if typ != protowire.BytesType {
				return errWire(num)
			}
			if len(bs) == 0 {
				return nil
			}
			k, err := keys.ParsePublicKey(bs)
			if err != nil {
				return fmt.Errorf("%w: identity key: %w", ErrInvalidState, err)
			}
			if num == 2 {
				s.localIdentity = k
			} else {
				s.remoteIdentity = k
			}
		case 4:
			if typ != protowire.BytesType || len(bs) != 32 {
				return fmt.Errorf("%w: root key", ErrInvalidState)
			}
			copy(s.rootKey[:], bs)
		case 5, 10, 11:
			if typ != protowire.VarintType || v > math.MaxUint32 {
				return errWire(num)
			}
			switch num {
			case 5:
				s.prevCounter = uint32(v)
			case 10:
				s.remoteRegistrationID = uint32(v)
			default:
				s.localRegistrationID = uint32(v)
			}
		case 6:
			if typ != protowire.BytesType {
				return errWire(num)
			}
			c, err := parseSenderChain(bs)
			if err != nil {
				return err
			}
			s.sender, s.hasSender = c, true
		case 7:
			if typ != protowire.BytesType {
				return errWire(num)
			}
			if len(s.receivers) == MaxReceiverChains {
				return fmt.Errorf("%w: too many receiver chains", ErrInvalidState)
			}
			c, err := parseReceiverChain(bs)
			if err != nil {
				return err
			}
			if s.receivers == nil {
				s.receivers = make([]receiverChain, 0, MaxReceiverChains)
			}
			s.receivers = append(s.receivers, c)
		case 9:
			if typ != protowire.BytesType {
				return errWire(num)
			}
			p, err := parsePendingPreKey(bs)
			if err != nil {
				return err
			}
			s.pendingPreKey = p
		case 13:
			if typ != protowire.BytesType {
				return errWire(num)
			}
			s.aliceBaseKey = append([]byte(nil), bs...)
		case 14:
			if typ != protowire.BytesType {
				return errWire(num)
			}
			p, err := parsePendingKyber(bs)
			if err != nil {
				return err
			}
			s.pendingKyber = p
		case 15:
			if typ != protowire.BytesType || len(bs) > maxPQState {
				return errWire(num)
			}
			// Decoded once here and kept decoded (the State does not keep
			// b); an empty field is a classical session.
			pq, err := spqr.ParseState(bs)
			if err != nil {
				return fmt.Errorf("%w: SPQR state: %w", ErrInvalidState, err)
			}
			s.pq = pq
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !haveVersion || (s.version != VersionX3DH && s.version != VersionPQXDH) {
		return nil, fmt.Errorf("%w: unsupported session version", ErrInvalidState)
	}
	if s.localIdentity.IsZero() {
		return nil, fmt.Errorf("%w: missing local identity", ErrInvalidState)
	}
	return s, nil
}

func errWire(num protowire.Number) error {
	return fmt.Errorf("%w: field %d", ErrInvalidState, num)
}

// forEachField calls f for each field of a protobuf message: v holds
// varint values, bs length-delimited ones. Other wire types are skipped.
func forEachField(b []byte, f func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: bad tag", ErrInvalidState)
		}
		b = b[n:]
		var v uint64
		var bs []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			bs, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n >= 0 {
				b = b[n:]
				continue
			}
		}
		if n < 0 {
			return fmt.Errorf("%w: truncated field %d", ErrInvalidState, num)
		}
		b = b[n:]
		if err := f(num, typ, v, bs); err != nil {
			return err
		}
	}
	return nil
}

func parseChainKey(b []byte) (index uint32, key [32]byte, err error) {
	var have bool
	err = forEachField(b, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error {
		switch {
		case num == 1 && typ == protowire.VarintType && v <= math.MaxUint32:
			index = uint32(v)
		case num == 2 && typ == protowire.BytesType && len(bs) == 32:
			copy(key[:], bs)
			have = true
		case num == 1 || num == 2:
			return fmt.Errorf("%w: chain key", ErrInvalidState)
		}
		return nil
	})
	if err == nil && !have {
		err = fmt.Errorf("%w: missing chain key", ErrInvalidState)
	}
	return index, key, err
}

func parseSenderChain(b []byte) (senderChain, error) {
	var c senderChain
	var havePub, havePriv, haveCK bool
	err := forEachField(b, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error {
		switch num {
		case 1:
			k, err := keys.ParsePublicKey(bs)
			if err != nil {
				return fmt.Errorf("%w: sender ratchet key: %w", ErrInvalidState, err)
			}
			c.pub, havePub = k, true
		case 2:
			if len(bs) != keys.PrivateKeySize {
				return fmt.Errorf("%w: sender ratchet private key", ErrInvalidState)
			}
			copy(c.privRaw[:], bs)
			havePriv = true
		case 3:
			i, k, err := parseChainKey(bs)
			if err != nil {
				return err
			}
			c.index, c.chainKey, haveCK = i, k, true
		}
		return nil
	})
	if err != nil {
		return c, err
	}
	if !havePub || !havePriv || !haveCK {
		return c, fmt.Errorf("%w: incomplete sender chain", ErrInvalidState)
	}
	return c, nil
}

func parseReceiverChain(b []byte) (receiverChain, error) {
	var c receiverChain
	var havePub, haveCK bool
	err := forEachField(b, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error {
		switch num {
		case 1:
			k, err := keys.ParsePublicKey(bs)
			if err != nil {
				return fmt.Errorf("%w: receiver ratchet key: %w", ErrInvalidState, err)
			}
			c.ratchetKey, havePub = k, true
		case 3:
			i, k, err := parseChainKey(bs)
			if err != nil {
				return err
			}
			c.index, c.chainKey, haveCK = i, k, true
		case 4:
			if len(c.skipped) == MaxMessageKeys {
				return fmt.Errorf("%w: too many message keys", ErrInvalidState)
			}
			k, err := parseMessageKey(bs)
			if err != nil {
				return err
			}
			c.skipped = append(c.skipped, k)
		}
		return nil
	})
	if err != nil {
		return c, err
	}
	if !havePub || !haveCK {
		return c, fmt.Errorf("%w: incomplete receiver chain", ErrInvalidState)
	}
	// Stored newest first; kept oldest first.
	for i, j := 0, len(c.skipped)-1; i < j; i, j = i+1, j-1 {
		c.skipped[i], c.skipped[j] = c.skipped[j], c.skipped[i]
	}
	return c, nil
}

func parseMessageKey(b []byte) (skippedKey, error) {
	var k skippedKey
	var cipherKey, macKey, iv, seed []byte
	err := forEachField(b, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error {
		switch num {
		case 1:
			if typ != protowire.VarintType || v > math.MaxUint32 {
				return errWire(num)
			}
			k.index = uint32(v)
		case 2:
			cipherKey = bs
		case 3:
			macKey = bs
		case 4:
			iv = bs
		case 5:
			seed = bs
		}
		return nil
	})
	if err != nil {
		return k, err
	}
	switch {
	case len(seed) == 32:
		copy(k.seed[:], seed)
	case len(seed) == 0 && len(cipherKey) == 32 && len(macKey) == 32 && len(iv) == 16:
		k.legacy = new(kdf.MessageKeys)
		copy(k.legacy.CipherKey[:], cipherKey)
		copy(k.legacy.MACKey[:], macKey)
		copy(k.legacy.IV[:], iv)
	default:
		return k, fmt.Errorf("%w: message key", ErrInvalidState)
	}
	return k, nil
}

func parsePendingPreKey(b []byte) (*PendingPreKey, error) {
	p := new(PendingPreKey)
	var haveBase bool
	err := forEachField(b, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error {
		switch num {
		case 1:
			if typ != protowire.VarintType || v > math.MaxUint32 {
				return errWire(num)
			}
			p.PreKeyID, p.HasPreKeyID = uint32(v), true
		case 2:
			k, err := keys.ParsePublicKey(bs)
			if err != nil {
				return fmt.Errorf("%w: pending base key: %w", ErrInvalidState, err)
			}
			p.BaseKey, haveBase = k, true
		case 3:
			if typ != protowire.VarintType {
				return errWire(num)
			}
			p.SignedPreKeyID = uint32(int32(v))
		case 4:
			if typ != protowire.VarintType {
				return errWire(num)
			}
			p.Timestamp = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !haveBase {
		return nil, fmt.Errorf("%w: pending pre-key without base key", ErrInvalidState)
	}
	return p, nil
}

func parsePendingKyber(b []byte) (*PendingKyberPreKey, error) {
	p := new(PendingKyberPreKey)
	err := forEachField(b, func(num protowire.Number, typ protowire.Type, v uint64, bs []byte) error {
		switch num {
		case 1:
			if typ != protowire.VarintType || v > math.MaxUint32 {
				return errWire(num)
			}
			p.PreKeyID = uint32(v)
		case 2:
			if typ != protowire.BytesType || len(bs) > maxKyberCiphertext {
				return errWire(num)
			}
			p.Ciphertext = append([]byte(nil), bs...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}
