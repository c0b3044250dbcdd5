package sealed

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/internal/protofield"
)

// MessageType is the type of the inner message, numbered as libsignal's
// CiphertextMessageType (the protobuf enum numbers PreKey 1, Whisper 2).
type MessageType uint8

// Inner message types.
const (
	// WhisperType is a SignalMessage (1:1, established session).
	WhisperType MessageType = 2
	// PreKeyType is a PreKeySignalMessage (1:1, first messages).
	PreKeyType MessageType = 3
	// SenderKeyType is a SenderKeyMessage (group).
	SenderKeyType MessageType = 7
	// PlaintextType is a PlaintextContent (unencrypted, e.g. a decryption
	// error report).
	PlaintextType MessageType = 8
)

// protoType maps a MessageType to UnidentifiedSenderMessage.Message.Type.
func (t MessageType) protoType() (uint64, bool) {
	switch t {
	case PreKeyType:
		return 1, true
	case WhisperType:
		return 2, true
	case SenderKeyType:
		return 7, true
	case PlaintextType:
		return 8, true
	}
	return 0, false
}

func typeFromProto(v uint64) (MessageType, bool) {
	switch v {
	case 1:
		return PreKeyType, true
	case 2:
		return WhisperType, true
	case 7:
		return SenderKeyType, true
	case 8:
		return PlaintextType, true
	}
	return 0, false
}

// ContentHint tells the receiver how to treat a message it cannot decrypt.
// Values other than the named ones are kept as they are.
type ContentHint uint32

// Content hints.
const (
	// HintDefault: the sender will not resend; show an error at once.
	// It is not written on the wire.
	HintDefault ContentHint = 0
	// HintResendable: the sender will try to resend; delay any error.
	HintResendable ContentHint = 1
	// HintImplicit: show no error (typing indicators, receipts).
	HintImplicit ContentHint = 2
)

// Content is the inner message of a sealed envelope
// (UnidentifiedSenderMessage.Message, libsignal's
// UnidentifiedSenderMessageContent): the sender certificate, the inner
// message and its type, a content hint and an optional group id.
type Content struct {
	serialized []byte
	typ        MessageType
	sender     *SenderCertificate
	contents   []byte
	hint       ContentHint
	groupID    []byte
}

// NewContent builds the inner message. An empty groupID is not written.
func NewContent(typ MessageType, sender *SenderCertificate, contents []byte, hint ContentHint, groupID []byte) (*Content, error) {
	pt, ok := typ.protoType()
	if !ok {
		return nil, fmt.Errorf("%w: message type %d", ErrInvalidArgument, typ)
	}
	b := protofield.AppendVarint(nil, 1, pt)
	b = protofield.AppendBytes(b, 2, sender.serialized)
	b = protofield.AppendBytes(b, 3, contents)
	if hint != HintDefault {
		b = protofield.AppendVarint(b, 4, uint64(hint))
	}
	if len(groupID) > 0 {
		b = protofield.AppendBytes(b, 5, groupID)
		groupID = append([]byte(nil), groupID...)
	} else {
		groupID = nil
	}
	return &Content{
		serialized: b, typ: typ, sender: sender,
		contents: append([]byte(nil), contents...), hint: hint, groupID: groupID,
	}, nil
}

// ParseContent decodes an inner message and the sender certificate in it
// (without validating the certificate).
func ParseContent(b []byte) (*Content, error) {
	bad := fmt.Errorf("%w: sealed sender content", ErrMalformed)
	c := &Content{serialized: append([]byte(nil), b...)}
	var hasType, hasCert, hasContents bool
	var certBytes []byte
	err := eachField(b, func(f fieldValue) error {
		switch f.num {
		case 1:
			if err := f.want(protowire.VarintType); err != nil {
				return err
			}
			// An enum field is an int32: values are taken modulo 2^32.
			t, ok := typeFromProto(uint64(uint32(f.v)))
			if !ok {
				return ErrMalformed
			}
			c.typ, hasType = t, true
		case 2:
			certBytes, hasCert = f.b, true
			return f.want(protowire.BytesType)
		case 3:
			c.contents, hasContents = append([]byte(nil), f.b...), true
			return f.want(protowire.BytesType)
		case 4:
			c.hint = ContentHint(uint32(f.v))
			return f.want(protowire.VarintType)
		case 5:
			c.groupID = append([]byte(nil), f.b...)
			return f.want(protowire.BytesType)
		}
		return nil
	})
	if err != nil || !hasType || !hasCert || !hasContents {
		return nil, bad
	}
	if c.sender, err = ParseSenderCertificate(certBytes); err != nil {
		return nil, err
	}
	return c, nil
}

// Bytes returns the serialized inner message.
func (c *Content) Bytes() []byte { return append([]byte(nil), c.serialized...) }

// Type returns the inner message's type.
func (c *Content) Type() MessageType { return c.typ }

// Sender returns the sender certificate (not yet validated by Open).
func (c *Content) Sender() *SenderCertificate { return c.sender }

// Contents returns the inner message bytes.
func (c *Content) Contents() []byte { return c.contents }

// ContentHint returns the content hint (HintDefault when absent).
func (c *Content) ContentHint() ContentHint { return c.hint }

// GroupID returns the group id, or nil when absent. A group id field that
// is present but empty gives an empty, non-nil slice.
func (c *Content) GroupID() []byte { return c.groupID }
