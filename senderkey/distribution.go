package senderkey

import (
	"fmt"

	"github.com/ratchetlab/signal/internal/protofield"
	"github.com/ratchetlab/signal/keys"
)

// ChainKeySize is the size of a chain key.
const ChainKeySize = 32

// DistributionMessage is a sender-key distribution message (SKDM): what a
// receiver needs to decrypt a sender's group messages from Iteration on.
// It is not authenticated: it must reach the receiver inside an
// authenticated 1:1 message. ChainKey is secret; the Format method prints
// only the public fields.
type DistributionMessage struct {
	// Encoding is the wire format of the message.
	Encoding Format
	// Version is the message version (always 3).
	Version uint8
	// DistributionID names the group's sender key (libsignal format only).
	DistributionID DistributionID
	// ChainID names the sender's chain (the key id of the WhatsApp format).
	ChainID uint32
	// Iteration is the chain position of ChainKey.
	Iteration uint32
	// ChainKey is the chain key at Iteration. It must be kept secret.
	ChainKey [ChainKeySize]byte
	// SigningKey is the public key that signs the sender's messages.
	SigningKey keys.PublicKey
}

// ParseDistributionMessage parses a serialized distribution message in the
// given format: the version byte followed by the protobuf body, with no
// signature. Every field is required; the chain key must be 32 bytes and
// the signing key a 33-byte Curve25519 public key.
//
// It returns an error matching ErrMalformed for a bad message (including
// one shorter than 65 bytes, as libsignal) and a *VersionError for a
// version other than 3.
func ParseDistributionMessage(b []byte, enc Format) (*DistributionMessage, error) {
	if len(b) < 1+2*ChainKeySize || int(enc) >= len(distributionLayout) {
		return nil, ErrMalformed
	}
	v, err := checkVersion(b[0])
	if err != nil {
		return nil, err
	}
	f, err := parseFields(b[1:], &distributionLayout[enc])
	if err != nil {
		return nil, err
	}
	if len(f.bytes[kChainKey]) != ChainKeySize {
		return nil, fmt.Errorf("%w: chain key is not 32 bytes", ErrMalformed)
	}
	sk, err := keys.ParsePublicKey(f.bytes[kSigningKey])
	if err != nil {
		return nil, fmt.Errorf("%w: signing key: %w", ErrMalformed, err)
	}
	d := &DistributionMessage{
		Encoding:   enc,
		Version:    v,
		ChainID:    f.chainID,
		Iteration:  f.iteration,
		SigningKey: sk,
	}
	copy(d.DistributionID[:], f.bytes[kUUID])
	copy(d.ChainKey[:], f.bytes[kChainKey])
	return d, nil
}

// AppendBinary appends the serialized message to dst: the version byte
// 0x33 and the protobuf body with every field of d's Encoding, in field
// order, as libsignal and go.mau.fi/libsignal write them.
func (d *DistributionMessage) AppendBinary(dst []byte) ([]byte, error) {
	if int(d.Encoding) >= len(distributionLayout) {
		return nil, fmt.Errorf("senderkey: unknown format %d", d.Encoding)
	}
	v := d.Version
	if v == 0 {
		v = Version
	}
	l := &distributionLayout[d.Encoding]
	dst = append(dst, v<<4|Version)
	if l[kUUID] != 0 {
		dst = protofield.AppendBytes(dst, l[kUUID], d.DistributionID[:])
	}
	dst = appendVarintField(dst, l[kChainID], d.ChainID)
	dst = appendVarintField(dst, l[kIteration], d.Iteration)
	dst = protofield.AppendBytes(dst, l[kChainKey], d.ChainKey[:])
	pub := d.SigningKey.Array()
	return protofield.AppendBytes(dst, l[kSigningKey], pub[:]), nil
}

// MarshalBinary returns the serialized message (see AppendBinary).
func (d *DistributionMessage) MarshalBinary() ([]byte, error) {
	return d.AppendBinary(make([]byte, 0, 96))
}

// Format implements fmt.Formatter: it prints the public fields only, never
// the chain key, whatever the verb.
func (d DistributionMessage) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "senderkey.DistributionMessage{%s, id %s, chain %d, iteration %d, signing key %s}",
		d.Encoding, d.DistributionID, d.ChainID, d.Iteration, d.SigningKey)
}
