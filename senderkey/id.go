package senderkey

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// Format selects the wire encoding of messages and distribution messages.
// The cryptography and the record encoding are the same for both.
type Format uint8

const (
	// Libsignal is libsignal's format: the messages carry the 16-byte
	// distribution id, and a message may be up to MaxForwardJumps
	// iterations ahead.
	Libsignal Format = iota
	// WhatsApp is the legacy format of WhatsApp and go.mau.fi/libsignal:
	// no distribution id in the messages, and a message may be up to
	// LegacyMaxForwardJumps iterations ahead.
	WhatsApp
)

// String returns "libsignal" or "whatsapp".
func (f Format) String() string {
	switch f {
	case Libsignal:
		return "libsignal"
	case WhatsApp:
		return "whatsapp"
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// maxJump returns the forward-jump limit of the format.
func (f Format) maxJump() uint32 {
	if f == WhatsApp {
		return LegacyMaxForwardJumps
	}
	return MaxForwardJumps
}

// Limits, as libsignal (consts.rs) and go.mau.fi/libsignal set them.
const (
	// Version is the only sender-key message version: the high nibble of
	// the version byte (the low nibble is the current version, also 3).
	Version = 3
	// MaxForwardJumps is how many iterations a libsignal-format message
	// may be ahead of the receiver's chain (exactly this many is allowed).
	MaxForwardJumps = 25000
	// LegacyMaxForwardJumps is the same limit for the WhatsApp format.
	LegacyMaxForwardJumps = 2000
	// MaxMessageKeys is how many skipped message keys a state keeps; the
	// oldest are dropped first.
	MaxMessageKeys = 2000
	// MaxStates is how many states (chains) a record keeps, newest first.
	MaxStates = 5
)

// DistributionID names a group's sender key: a UUID, in its 16-byte form.
type DistributionID [16]byte

// errBadUUID is wrapped by ParseDistributionID.
var errBadUUID = errors.New("senderkey: distribution id is not a UUID")

// ParseDistributionID parses a UUID in its hyphenated string form
// (8-4-4-4-12 hex digits, either case).
func ParseDistributionID(s string) (DistributionID, error) {
	var id DistributionID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, errBadUUID
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(id[:], []byte(h)); err != nil {
		return DistributionID{}, errBadUUID
	}
	return id, nil
}

// NewDistributionID returns a random (version 4) UUID.
func NewDistributionID() (DistributionID, error) {
	var id DistributionID
	if _, err := rand.Read(id[:]); err != nil {
		return id, err
	}
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return id, nil
}

// LegacyGroupID maps the group id of the WhatsApp format (for example a
// group JID such as "120363000000000000@g.us"), which names the chain there,
// to the DistributionID under which its records are stored. It is a
// name-based UUID (RFC 9562 version 8): the first 16 bytes of
// SHA-256("senderkey legacy group id" || 0x00 || groupID), with the version
// and variant bits set. The mapping is fixed: records stored under it stay
// readable.
func LegacyGroupID(groupID string) DistributionID {
	h := sha256.New()
	h.Write([]byte("senderkey legacy group id\x00"))
	h.Write([]byte(groupID))
	var id DistributionID
	copy(id[:], h.Sum(nil))
	id[6] = id[6]&0x0f | 0x80
	id[8] = id[8]&0x3f | 0x80
	return id
}

// String returns the UUID in lowercase hyphenated form.
func (id DistributionID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], id[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], id[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], id[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], id[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], id[10:16])
	return string(b[:])
}
