package senderkey

import (
	"github.com/ratchetlab/signal/internal/protofield"
	"github.com/ratchetlab/signal/internal/xeddsa"
)

// SignatureSize is the size of the XEdDSA signature that ends a message.
const SignatureSize = xeddsa.SignatureSize

// Message is a parsed sender-key message (SKM). It aliases the bytes it was
// parsed from, which must not change while it is in use.
type Message struct {
	// Encoding is the format the message was parsed in.
	Encoding Format
	// Version is the message version (always 3).
	Version uint8
	// DistributionID names the group's sender key (libsignal format only;
	// zero in the WhatsApp format).
	DistributionID DistributionID
	// ChainID names the sender's chain (the key id of the WhatsApp format).
	ChainID uint32
	// Iteration is the message's position in the chain.
	Iteration uint32
	// Ciphertext is the AES-256-CBC body.
	Ciphertext []byte

	signed    []byte // version byte || protobuf
	signature []byte // the last SignatureSize bytes
}

// ParseMessage parses a serialized sender-key message in the given format:
// version byte, protobuf body, 64-byte signature. It checks the form only;
// the signature is checked by Record.Decrypt with the sender's key.
//
// It returns an error matching ErrMalformed for a message shorter than 65
// bytes or with a bad body, and a *VersionError for a version other than 3.
func ParseMessage(b []byte, enc Format) (Message, error) {
	if len(b) < 1+SignatureSize {
		return Message{}, ErrMalformed
	}
	if int(enc) >= len(messageLayout) {
		return Message{}, ErrMalformed
	}
	v, err := checkVersion(b[0])
	if err != nil {
		return Message{}, err
	}
	f, err := parseFields(b[1:len(b)-SignatureSize], &messageLayout[enc])
	if err != nil {
		return Message{}, err
	}
	m := Message{
		Encoding:   enc,
		Version:    v,
		ChainID:    f.chainID,
		Iteration:  f.iteration,
		Ciphertext: f.bytes[kCiphertext],
		signed:     b[:len(b)-SignatureSize],
		signature:  b[len(b)-SignatureSize:],
	}
	copy(m.DistributionID[:], f.bytes[kUUID])
	return m, nil
}

// Bytes returns the serialized message (it aliases the input of
// ParseMessage).
func (m *Message) Bytes() []byte {
	return m.signed[:len(m.signed)+len(m.signature)]
}

// messageBodySize returns the size of the protobuf body of a message.
func messageBodySize(enc Format, chainID, iteration uint32, ctLen int) int {
	l := &messageLayout[enc]
	n := varintFieldSize(l[kChainID], chainID) + varintFieldSize(l[kIteration], iteration) +
		protofield.SizeBytes(l[kCiphertext], ctLen)
	if l[kUUID] != 0 {
		n += protofield.SizeBytes(l[kUUID], len(DistributionID{}))
	}
	return n
}
