package session

import "github.com/ratchetlab/signal/ratchet"

// MessageTypeOf tells the type of a serialized message for a transport that
// did not keep it: PreKeyType if b parses as a PreKeySignalMessage,
// WhisperType if it parses as a SignalMessage, else the parse error
// (ErrMessageTooShort, ErrInvalidVersion, ErrMalformedMessage). Only the
// form is checked; nothing is authenticated.
func MessageTypeOf(b []byte) (MessageType, error) {
	if _, err := ratchet.ParsePreKeyMessage(b); err == nil {
		return PreKeyType, nil
	}
	if _, err := ratchet.ParseMessage(b); err != nil {
		return 0, err
	}
	return WhisperType, nil
}
