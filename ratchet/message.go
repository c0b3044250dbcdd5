package ratchet

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/keys"
)

// MessageType is the type of a ciphertext message, as libsignal numbers it.
type MessageType int

// Message types.
const (
	// WhisperType is a plain SignalMessage.
	WhisperType MessageType = 2
	// PreKeyType is a PreKeySignalMessage: a SignalMessage wrapped with the
	// fields that let the recipient build the session.
	PreKeyType MessageType = 3
)

// String returns "whisper" or "prekey".
func (t MessageType) String() string {
	switch t {
	case WhisperType:
		return "whisper"
	case PreKeyType:
		return "prekey"
	}
	return fmt.Sprintf("MessageType(%d)", int(t))
}

// Message versions.
const (
	// VersionX3DH is the version of sessions set up with X3DH.
	VersionX3DH = 3
	// VersionPQXDH is the version of sessions set up with PQXDH, libsignal's
	// current version.
	VersionPQXDH = 4
	// currentVersion is written in the low nibble of every version byte.
	currentVersion = 4
)

// MACSize is the size of the truncated HMAC-SHA256 that ends a
// SignalMessage.
const MACSize = 8

// versionByte returns libsignal's version byte for a session version: the
// version in the high nibble and the current version (4) in the low one.
func versionByte(v uint8) byte { return v<<4 | currentVersion }

// checkVersion reads the version nibble of a message's first byte.
func checkVersion(b byte) (uint8, error) {
	v := b >> 4
	if v < VersionX3DH || v > VersionPQXDH {
		return 0, &VersionError{Version: v}
	}
	return v, nil
}

// Message is a parsed SignalMessage. It aliases the bytes it was parsed
// from, which must not change while it is in use.
//
// Unknown protobuf fields are skipped, as protobuf decoders do; they are
// covered by the MAC like the rest of the body, so a forger cannot add them.
// A known field sent twice takes its last value, also as protobuf does.
type Message struct {
	// Version is the session version (3 or 4).
	Version uint8
	// RatchetKey is the sender's current ratchet public key.
	RatchetKey keys.PublicKey
	// Counter is the message's index in its sending chain.
	Counter uint32
	// PreviousCounter is the length of the sender's previous chain (unused
	// by receivers).
	PreviousCounter uint32
	// Ciphertext is the AES-256-CBC body.
	Ciphertext []byte
	// PQRatchet is the post-quantum ratchet (SPQR) payload, if any.
	PQRatchet []byte
	// Addresses holds the sender's and recipient's service ids and device
	// ids, if present (libsignal rust/protocol/src/protocol.rs).
	Addresses []byte

	macInput []byte // version byte || protobuf
	mac      []byte // the last MACSize bytes
}

// ParseMessage parses a serialized SignalMessage: version byte, protobuf
// body, 8-byte MAC. It checks the form only; the MAC is checked by
// State.Decrypt.
func ParseMessage(b []byte) (Message, error) {
	var m Message
	if len(b) < 1+MACSize {
		return m, ErrMessageTooShort
	}
	v, err := checkVersion(b[0])
	if err != nil {
		return m, err
	}
	m.Version = v
	body := b[1 : len(b)-MACSize]
	var haveKey, haveCounter, haveBody bool
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return Message{}, ErrMalformedMessage
		}
		body = body[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(body)
			if n < 0 {
				return Message{}, ErrMalformedMessage
			}
			k, err := keys.ParsePublicKey(v)
			if err != nil {
				return Message{}, fmt.Errorf("%w: ratchet key: %w", ErrMalformedMessage, err)
			}
			m.RatchetKey, haveKey, body = k, true, body[n:]
		case num == 2 && typ == protowire.VarintType:
			v, n := consumeUint32(body)
			if n < 0 {
				return Message{}, ErrMalformedMessage
			}
			m.Counter, haveCounter, body = v, true, body[n:]
		case num == 3 && typ == protowire.VarintType:
			v, n := consumeUint32(body)
			if n < 0 {
				return Message{}, ErrMalformedMessage
			}
			m.PreviousCounter, body = v, body[n:]
		case num == 4 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(body)
			if n < 0 {
				return Message{}, ErrMalformedMessage
			}
			m.Ciphertext, haveBody, body = v, true, body[n:]
		case num == 5 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(body)
			if n < 0 {
				return Message{}, ErrMalformedMessage
			}
			m.PQRatchet, body = v, body[n:]
		case num == 6 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(body)
			if n < 0 {
				return Message{}, ErrMalformedMessage
			}
			m.Addresses, body = v, body[n:]
		case num >= 1 && num <= 6:
			return Message{}, fmt.Errorf("%w: field %d has wire type %d", ErrMalformedMessage, num, typ)
		default:
			n := protowire.ConsumeFieldValue(num, typ, body)
			if n < 0 {
				return Message{}, ErrMalformedMessage
			}
			body = body[n:]
		}
	}
	if !haveKey || !haveCounter || !haveBody {
		return Message{}, fmt.Errorf("%w: missing required field", ErrMalformedMessage)
	}
	m.macInput = b[:len(b)-MACSize]
	m.mac = b[len(b)-MACSize:]
	return m, nil
}

// Bytes returns the serialized message the fields were parsed from (it
// aliases the input of ParseMessage).
func (m *Message) Bytes() []byte {
	return m.macInput[:len(m.macInput)+len(m.mac)]
}

func consumeUint32(b []byte) (uint32, int) {
	v, n := protowire.ConsumeVarint(b)
	if n < 0 || v > math.MaxUint32 {
		return 0, -1
	}
	return uint32(v), n
}

// signalBodySize returns the size of a SignalMessage protobuf body.
func signalBodySize(counter, prev uint32, ctLen, pqLen, addrLen int) int {
	n := 1 + protowire.SizeBytes(keys.PublicKeySize) +
		1 + protowire.SizeVarint(uint64(counter)) +
		1 + protowire.SizeVarint(uint64(prev)) +
		1 + protowire.SizeBytes(ctLen)
	if pqLen > 0 {
		n += 1 + protowire.SizeBytes(pqLen)
	}
	if addrLen > 0 {
		n += 1 + protowire.SizeBytes(addrLen)
	}
	return n
}

// PreKeyMessage is a parsed PreKeySignalMessage: the fields Bob needs to
// build his side of the session, and the SignalMessage it carries. It
// aliases the bytes it was parsed from.
type PreKeyMessage struct {
	// Version is the session version (3 or 4).
	Version uint8
	// RegistrationID is the sender's registration id.
	RegistrationID uint32
	// PreKeyID is the one-time pre-key used, if HasPreKeyID.
	PreKeyID    uint32
	HasPreKeyID bool
	// SignedPreKeyID is the signed pre-key used.
	SignedPreKeyID uint32
	// KyberPreKeyID and KyberCiphertext (serialized, with its type byte)
	// are set for version 4.
	KyberPreKeyID   uint32
	KyberCiphertext []byte
	// BaseKey is the sender's ephemeral key (EK_A).
	BaseKey keys.PublicKey
	// IdentityKey is the sender's identity key (IK_A).
	IdentityKey keys.PublicKey
	// Message is the SignalMessage carried inside.
	Message Message
}

// HasKyber reports whether the message carries a KEM ciphertext (PQXDH).
func (m *PreKeyMessage) HasKyber() bool { return m.KyberCiphertext != nil }

// ParsePreKeyMessage parses a serialized PreKeySignalMessage: a version
// byte followed by the protobuf body, with no MAC of its own. The inner
// SignalMessage is parsed too and must have the same version. Unknown
// fields are skipped (see Message).
func ParsePreKeyMessage(b []byte) (PreKeyMessage, error) {
	var m PreKeyMessage
	if len(b) < 1 {
		return m, ErrMessageTooShort
	}
	v, err := checkVersion(b[0])
	if err != nil {
		return m, err
	}
	m.Version = v
	body := b[1:]
	var haveSPK, haveBase, haveID, haveMsg, haveKyberID bool
	var inner []byte
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return PreKeyMessage{}, ErrMalformedMessage
		}
		body = body[n:]
		if num >= 1 && num <= 8 {
			want := protowire.VarintType
			if num == 2 || num == 3 || num == 4 || num == 8 {
				want = protowire.BytesType
			}
			if typ != want {
				return PreKeyMessage{}, fmt.Errorf("%w: field %d has wire type %d", ErrMalformedMessage, num, typ)
			}
		}
		var u uint32
		var bs []byte
		switch typ {
		case protowire.VarintType:
			if num >= 1 && num <= 8 {
				u, n = consumeUint32(body)
			} else {
				n = protowire.ConsumeFieldValue(num, typ, body)
			}
		case protowire.BytesType:
			bs, n = protowire.ConsumeBytes(body)
		default:
			n = protowire.ConsumeFieldValue(num, typ, body)
		}
		if n < 0 {
			return PreKeyMessage{}, ErrMalformedMessage
		}
		body = body[n:]
		switch num {
		case 1:
			m.PreKeyID, m.HasPreKeyID = u, true
		case 2:
			k, err := keys.ParsePublicKey(bs)
			if err != nil {
				return PreKeyMessage{}, fmt.Errorf("%w: base key: %w", ErrMalformedMessage, err)
			}
			m.BaseKey, haveBase = k, true
		case 3:
			k, err := keys.ParsePublicKey(bs)
			if err != nil {
				return PreKeyMessage{}, fmt.Errorf("%w: identity key: %w", ErrMalformedMessage, err)
			}
			m.IdentityKey, haveID = k, true
		case 4:
			inner, haveMsg = bs, true
		case 5:
			m.RegistrationID = u
		case 6:
			m.SignedPreKeyID, haveSPK = u, true
		case 7:
			m.KyberPreKeyID, haveKyberID = u, true
		case 8:
			m.KyberCiphertext = bs
			if m.KyberCiphertext == nil {
				m.KyberCiphertext = []byte{}
			}
		}
	}
	if !haveSPK || !haveBase || !haveID || !haveMsg {
		return PreKeyMessage{}, fmt.Errorf("%w: missing required field", ErrMalformedMessage)
	}
	if haveKyberID != (m.KyberCiphertext != nil) {
		return PreKeyMessage{}, fmt.Errorf("%w: Kyber pre-key id and ciphertext must come together", ErrMalformedMessage)
	}
	if m.Version >= VersionPQXDH && !haveKyberID {
		return PreKeyMessage{}, fmt.Errorf("%w: version 4 message without Kyber ciphertext", ErrMalformedMessage)
	}
	inner2, err := ParseMessage(inner)
	if err != nil {
		return PreKeyMessage{}, err
	}
	if inner2.Version != m.Version {
		return PreKeyMessage{}, fmt.Errorf("%w: inner message version differs", ErrMalformedMessage)
	}
	m.Message = inner2
	return m, nil
}

// preKeyHeader holds what a PreKeySignalMessage adds around the
// SignalMessage.
type preKeyHeader struct {
	registrationID  uint32
	preKeyID        uint32
	hasPreKeyID     bool
	signedPreKeyID  uint32
	kyberPreKeyID   uint32
	kyberCiphertext []byte // nil for version 3
	baseKey         keys.PublicKey
	identityKey     keys.PublicKey
}

// appendPreKeyHeader appends the version byte and the PreKeySignalMessage
// fields 1 to 3 and the tag and length of field 4, whose value (the
// SignalMessage, innerLen bytes) the caller appends next, followed by
// appendPreKeyTrailer. Fields are written in ascending tag order, as
// libsignal writes them.
func appendPreKeyHeader(dst []byte, vb byte, h *preKeyHeader, innerLen int) []byte {
	dst = append(dst, vb)
	if h.hasPreKeyID {
		dst = protowire.AppendTag(dst, 1, protowire.VarintType)
		dst = protowire.AppendVarint(dst, uint64(h.preKeyID))
	}
	dst = protowire.AppendTag(dst, 2, protowire.BytesType)
	dst = protowire.AppendVarint(dst, keys.PublicKeySize)
	dst = h.baseKey.AppendBytes(dst)
	dst = protowire.AppendTag(dst, 3, protowire.BytesType)
	dst = protowire.AppendVarint(dst, keys.PublicKeySize)
	dst = h.identityKey.AppendBytes(dst)
	dst = protowire.AppendTag(dst, 4, protowire.BytesType)
	return protowire.AppendVarint(dst, uint64(innerLen))
}

func appendPreKeyTrailer(dst []byte, h *preKeyHeader) []byte {
	dst = protowire.AppendTag(dst, 5, protowire.VarintType)
	dst = protowire.AppendVarint(dst, uint64(h.registrationID))
	dst = protowire.AppendTag(dst, 6, protowire.VarintType)
	dst = protowire.AppendVarint(dst, uint64(h.signedPreKeyID))
	if h.kyberCiphertext != nil {
		dst = protowire.AppendTag(dst, 7, protowire.VarintType)
		dst = protowire.AppendVarint(dst, uint64(h.kyberPreKeyID))
		dst = protowire.AppendTag(dst, 8, protowire.BytesType)
		dst = protowire.AppendBytes(dst, h.kyberCiphertext)
	}
	return dst
}
