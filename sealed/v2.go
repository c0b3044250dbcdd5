package sealed

import (
	"crypto/subtle"
	"encoding/binary"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/internal/gcmsiv"
	"github.com/ratchetlab/signal/kdf"
	"github.com/ratchetlab/signal/keys"
)

// HKDF labels of sealed sender v2.
const (
	labelR   = "Sealed Sender v2: r (2023-08)"
	labelK   = "Sealed Sender v2: K"
	labelDH  = "Sealed Sender v2: DH"
	labelDHS = "Sealed Sender v2: DH-sender"
)

// Sizes of the v2 fields.
const (
	v2MessageKeySize = 32 // M and C
	v2TagSize        = 16 // AT
	v2PublicKeySize  = 32 // E, raw u-coordinate
	// v2PrefixSize is C || AT || E of a received message.
	v2PrefixSize = v2MessageKeySize + v2TagSize + v2PublicKeySize

	registrationIDMask = 0x3FFF
	hasMoreDevices     = 0x8000
)

// v2Keys derives the ephemeral private key E and the body key K from M.
func v2Keys(m *[32]byte) (*keys.PrivateKey, [32]byte) {
	prk := kdf.Extract(nil, m[:])
	var r, k [32]byte
	kdf.Expand(r[:0], prk[:], []byte(labelR), 32)
	kdf.Expand(k[:0], prk[:], []byte(labelK), 32)
	clear(prk[:])
	e, err := keys.ParsePrivateKey(r[:])
	clear(r[:])
	if err != nil {
		panic("sealed: " + err.Error()) // unreachable: 32 bytes
	}
	return e, k
}

// v2C returns HKDF(DH || E || R, "Sealed Sender v2: DH", 32) XOR m, which
// is C for m = M and M for m = C.
func v2C(dh *[32]byte, e, r keys.PublicKey, m []byte) [32]byte {
	var ikm [32 + 2*keys.PublicKeySize]byte
	copy(ikm[:32], dh[:])
	ea, ra := e.Array(), r.Array()
	copy(ikm[32:], ea[:])
	copy(ikm[32+keys.PublicKeySize:], ra[:])
	var out [32]byte
	kdf.HKDF(out[:0], ikm[:], nil, []byte(labelDH), 32)
	clear(ikm[:])
	subtle.XORBytes(out[:], out[:], m)
	return out
}

// v2AT returns HKDF(DH(S, R) || E || C || S || R, "Sealed Sender v2:
// DH-sender", 16).
func v2AT(dh *[32]byte, e keys.PublicKey, c []byte, s, r keys.PublicKey) [16]byte {
	var ikm [32 + keys.PublicKeySize + 32 + 2*keys.PublicKeySize]byte
	b := append(ikm[:0], dh[:]...)
	b = e.AppendBytes(b)
	b = append(b, c...)
	b = s.AppendBytes(b)
	b = r.AppendBytes(b)
	var out [16]byte
	kdf.HKDF(out[:0], b, nil, []byte(labelDHS), 16)
	clear(ikm[:])
	return out
}

// Destination is one recipient device of a multi-recipient message.
type Destination struct {
	// ServiceID names the recipient account: an ACI (a UUID) or
	// "PNI:" and a UUID.
	ServiceID string
	// DeviceID is the device id, 1 to 127.
	DeviceID uint32
	// RegistrationID is the device's registration id (at most 0x3FFF), from
	// its session.
	RegistrationID uint32
	// IdentityKey is the account's identity key.
	IdentityKey keys.PublicKey
}

// SealMulti encrypts content once for many recipient devices as a sealed
// sender v2 sent message (first byte 0x23), which the server splits into
// one received message per recipient (see [ParseSentMessage]). Devices of
// one account must come one after another; C and AT are computed once per
// account, with the identity key of its first device. excluded lists
// service ids of members deliberately left out, which the server records.
// sender is our identity key.
func SealMulti(content *Content, sender *keys.PrivateKey, dests []Destination, excluded []string) ([]byte, error) {
	var m [32]byte
	if err := randRead(m[:]); err != nil {
		return nil, err
	}
	defer clear(m[:])
	return sealMulti(content, sender, dests, excluded, &m)
}

func sealMulti(content *Content, sender *keys.PrivateKey, dests []Destination, excluded []string, m *[32]byte) ([]byte, error) {
	// Check the arguments before any work.
	type group struct {
		id         [ServiceIDSize]byte
		key        keys.PublicKey
		start, end int
	}
	var groups []group
	for i, d := range dests {
		if d.DeviceID < 1 || d.DeviceID > 127 {
			return nil, fmt.Errorf("%w: device id %d", ErrInvalidArgument, d.DeviceID)
		}
		if d.RegistrationID&registrationIDMask != d.RegistrationID {
			return nil, fmt.Errorf("%w: registration id %d", ErrInvalidArgument, d.RegistrationID)
		}
		if i > 0 && d.ServiceID == dests[i-1].ServiceID {
			groups[len(groups)-1].end = i + 1
			continue
		}
		id, err := ParseServiceID(d.ServiceID)
		if err != nil {
			return nil, err
		}
		groups = append(groups, group{id: id, key: d.IdentityKey, start: i, end: i + 1})
	}
	excl := make([][ServiceIDSize]byte, len(excluded))
	for i, s := range excluded {
		id, err := ParseServiceID(s)
		if err != nil {
			return nil, err
		}
		excl[i] = id
	}

	e, k := v2Keys(m)
	defer clear(k[:])
	ePub := e.PublicKey()
	sPub := sender.PublicKey()

	aead, err := gcmsiv.New(k[:])
	if err != nil {
		return nil, err
	}
	var nonce [gcmsiv.NonceSize]byte

	size := 1 + protowire.SizeVarint(uint64(len(groups)+len(excl))) +
		len(groups)*(ServiceIDSize+v2MessageKeySize+v2TagSize) + len(dests)*3 +
		len(excl)*(ServiceIDSize+1) + v2PublicKeySize + len(content.serialized) + gcmsiv.TagSize
	out := make([]byte, 0, size)
	out = append(out, VersionV2ServiceID)
	out = protowire.AppendVarint(out, uint64(len(groups)+len(excl)))
	for _, g := range groups {
		out = append(out, g.id[:]...)
		for i := g.start; i < g.end; i++ {
			reg := uint16(dests[i].RegistrationID)
			if i+1 < g.end {
				reg |= hasMoreDevices
			}
			out = append(out, byte(dests[i].DeviceID))
			out = binary.BigEndian.AppendUint16(out, reg)
		}
		dh, err := e.Agree(g.key)
		if err != nil {
			return nil, fmt.Errorf("%w: identity key of %s: %w", ErrInvalidArgument, dests[g.start].ServiceID, err)
		}
		c := v2C(&dh, ePub, g.key, m[:])
		clear(dh[:])
		dh, err = sender.Agree(g.key)
		if err != nil {
			return nil, fmt.Errorf("%w: identity key of %s: %w", ErrInvalidArgument, dests[g.start].ServiceID, err)
		}
		at := v2AT(&dh, ePub, c[:], sPub, g.key)
		clear(dh[:])
		out = append(out, c[:]...)
		out = append(out, at[:]...)
	}
	for _, id := range excl {
		out = append(out, id[:]...)
		out = append(out, 0)
	}
	u := ePub.U()
	out = append(out, u[:]...)
	return aead.Seal(out, nonce[:], content.serialized, nil), nil
}

// SentDevice is one device of a recipient in a sent message.
type SentDevice struct {
	// ID is the device id (1 to 127).
	ID uint32
	// RegistrationID is the registration id (14 bits).
	RegistrationID uint16
}

// SentRecipient is one account of a sent message.
type SentRecipient struct {
	// ServiceID is the account's service id in string form.
	ServiceID string
	// Devices are the account's devices; none for an excluded member.
	Devices []SentDevice
	cAndAT  []byte
}

// Excluded reports whether the recipient was left out on purpose (listed
// with no devices).
func (r *SentRecipient) Excluded() bool { return len(r.Devices) == 0 }

// SentMessage is a parsed sealed sender v2 sent message, as the server
// sees it: enough to give each recipient its received message.
type SentMessage struct {
	// Version is the first byte, 0x22 (bare UUID recipients, all ACIs) or
	// 0x23 (service ids).
	Version byte
	// Recipients are the accounts in the order they first appear; an
	// account listed twice has its devices merged.
	Recipients []SentRecipient
	shared     []byte // E || ciphertext
}

// ParseSentMessage decodes a v2 sent message with libsignal's rules: the
// version byte 0x22 or 0x23, a varint count, each recipient's service id,
// devices (device id 1..127, big-endian 16-bit registration id whose top
// bit says more devices follow; device 0 alone marks an excluded member),
// C and AT (only with devices), then at least the 32-byte E.
func ParseSentMessage(b []byte) (*SentMessage, error) {
	bad := fmt.Errorf("%w: sealed sender v2 sent message", ErrMalformed)
	if len(b) == 0 {
		return nil, bad
	}
	msg := &SentMessage{Version: b[0]}
	if b[0] != VersionV2UUID && b[0] != VersionV2ServiceID {
		return nil, &VersionError{Version: b[0] >> 4}
	}
	rest := b[1:]
	count, n := protowire.ConsumeVarint(rest)
	if n < 0 || count > 0xFFFFFFFF {
		return nil, bad
	}
	rest = rest[n:]
	index := map[[ServiceIDSize]byte]int{}
	for range count {
		var id [ServiceIDSize]byte
		if msg.Version == VersionV2UUID {
			if len(rest) < 16 {
				return nil, bad
			}
			copy(id[1:], rest[:16])
			rest = rest[16:]
		} else {
			if len(rest) < ServiceIDSize || rest[0] > 1 {
				return nil, bad
			}
			copy(id[:], rest[:ServiceIDSize])
			rest = rest[ServiceIDSize:]
		}
		var devices []SentDevice
		for {
			if len(rest) < 1 {
				return nil, bad
			}
			dev := rest[0]
			rest = rest[1:]
			if dev == 0 {
				if len(devices) > 0 {
					return nil, bad
				}
				break
			}
			if dev > 127 || len(rest) < 2 {
				return nil, bad
			}
			reg := binary.BigEndian.Uint16(rest)
			rest = rest[2:]
			devices = append(devices, SentDevice{ID: uint32(dev), RegistrationID: reg & registrationIDMask})
			if reg&hasMoreDevices == 0 {
				break
			}
		}
		var cAndAT []byte
		if len(devices) > 0 {
			if len(rest) < v2MessageKeySize+v2TagSize {
				return nil, bad
			}
			cAndAT = rest[:v2MessageKeySize+v2TagSize]
			rest = rest[v2MessageKeySize+v2TagSize:]
		}
		if i, ok := index[id]; ok {
			r := &msg.Recipients[i]
			if len(r.Devices) == 0 || len(devices) == 0 {
				return nil, bad // a recipient redundantly encoded as empty
			}
			r.Devices = append(r.Devices, devices...)
			continue
		}
		s, _ := ServiceIDString(id)
		index[id] = len(msg.Recipients)
		msg.Recipients = append(msg.Recipients, SentRecipient{ServiceID: s, Devices: devices, cAndAT: cAndAT})
	}
	if len(rest) < v2PublicKeySize {
		return nil, bad
	}
	msg.shared = rest
	// Copy the slices out of b so that the message does not alias it.
	owned := append([]byte(nil), b...)
	off := len(b) - len(rest)
	msg.shared = owned[off:]
	for i := range msg.Recipients {
		if r := &msg.Recipients[i]; r.cAndAT != nil {
			r.cAndAT = append([]byte(nil), r.cAndAT...)
		}
	}
	return msg, nil
}

// ReceivedMessage returns the received message the server delivers to the
// recipient's devices: 0x22 || C || AT || E || ciphertext. For an excluded
// recipient it returns nil.
func (m *SentMessage) ReceivedMessage(r *SentRecipient) []byte {
	if r.Excluded() {
		return nil
	}
	out := make([]byte, 0, 1+len(r.cAndAT)+len(m.shared))
	out = append(out, VersionV2UUID)
	out = append(out, r.cAndAT...)
	return append(out, m.shared...)
}

// openV2 opens the part of a v2 received message after the version byte.
func openV2(body []byte, us *keys.PrivateKey) (*Content, error) {
	if len(body) < v2PrefixSize {
		return nil, fmt.Errorf("%w: v2 message too short", ErrInvalidMessage)
	}
	c := body[:v2MessageKeySize]
	at := body[v2MessageKeySize : v2MessageKeySize+v2TagSize]
	ePub, _ := keys.NewPublicKey(body[v2MessageKeySize+v2TagSize : v2PrefixSize])
	ct := body[v2PrefixSize:]

	dh, err := us.Agree(ePub)
	if err != nil {
		return nil, fmt.Errorf("%w: ephemeral key: %w", ErrInvalidMessage, err)
	}
	m := v2C(&dh, ePub, us.PublicKey(), c)
	clear(dh[:])
	e, k := v2Keys(&m)
	clear(m[:])
	defer clear(k[:])
	if !e.PublicKey().Equal(ePub) {
		return nil, fmt.Errorf("%w: not addressed to this key", ErrInvalidMessage)
	}
	aead, err := gcmsiv.New(k[:])
	if err != nil {
		return nil, err
	}
	var nonce [gcmsiv.NonceSize]byte
	pt, err := aead.Open(nil, nonce[:], ct, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: body does not decrypt", ErrInvalidMessage)
	}
	content, err := ParseContent(pt)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	dh, err = us.Agree(content.sender.key)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate key: %w", ErrInvalidCertificate, err)
	}
	want := v2AT(&dh, ePub, c, content.sender.key, us.PublicKey())
	clear(dh[:])
	if subtle.ConstantTimeCompare(want[:], at) != 1 {
		return nil, fmt.Errorf("%w: certificate key does not match the authentication tag", ErrInvalidCertificate)
	}
	return content, nil
}
