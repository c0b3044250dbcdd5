package ratchet

import (
	"errors"
	"fmt"
)

var (
	// ErrDecryption is returned for every cryptographic rejection of a
	// message: a wrong MAC, bad padding, or a ciphertext of impossible
	// length. It deliberately says nothing more.
	ErrDecryption = errors.New("ratchet: decryption failed")
	// ErrMessageTooShort is returned for a message too short to hold a
	// version byte and a MAC.
	ErrMessageTooShort = errors.New("ratchet: message too short")
	// ErrInvalidVersion is matched by every *VersionError.
	ErrInvalidVersion = errors.New("ratchet: unsupported message version")
	// ErrMalformedMessage is returned for a message whose protobuf body is
	// malformed, lacks a required field or holds a key of the wrong form.
	ErrMalformedMessage = errors.New("ratchet: malformed message")
	// ErrDuplicateMessage is matched by every *DuplicateError.
	ErrDuplicateMessage = errors.New("ratchet: duplicate message")
	// ErrTooFarInFuture is returned for a message more than
	// MaxForwardJumps ahead of its chain.
	ErrTooFarInFuture = errors.New("ratchet: message from too far into the future")
	// ErrNoSenderChain is returned when a state has no sending chain.
	ErrNoSenderChain = errors.New("ratchet: session state has no sender chain")
	// ErrVersionMismatch is returned when a message's version differs from
	// the session state's.
	ErrVersionMismatch = errors.New("ratchet: message version does not match session version")
	// ErrChainExhausted is returned when a sending chain's counter would
	// overflow.
	ErrChainExhausted = errors.New("ratchet: sending chain exhausted")
	// ErrModeMismatch is returned when a message and the session state
	// disagree on the post-quantum ratchet: a state that requires SPQR
	// (libsignal ≥ 0.92) got a message without SPQR data, or a message of
	// the classical protocol arrived after SPQR was negotiated. Like
	// ErrTooFarInFuture it is reported before the MAC is checked, so it
	// does not prove who sent the message.
	ErrModeMismatch = errors.New("ratchet: SPQR/classical mode mismatch")
	// ErrInvalidState is returned by ParseState for a malformed session
	// state encoding.
	ErrInvalidState = errors.New("ratchet: invalid session state encoding")
)

// VersionError reports a message version this implementation does not
// accept: below 3 (legacy) or above 4 (unknown).
type VersionError struct {
	Version uint8
}

func (e *VersionError) Error() string {
	if e.Version < 3 {
		return fmt.Sprintf("ratchet: legacy message version %d", e.Version)
	}
	return fmt.Sprintf("ratchet: unrecognized message version %d", e.Version)
}

// Is reports whether target is ErrInvalidVersion.
func (e *VersionError) Is(target error) bool { return target == ErrInvalidVersion }

// DuplicateError reports a message whose key was already used or evicted:
// its counter is behind the chain and no skipped key is stored for it.
type DuplicateError struct {
	// ChainIndex is the receiving chain's next index.
	ChainIndex uint32
	// Counter is the message's counter.
	Counter uint32
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("ratchet: duplicate message (chain index %d, counter %d)", e.ChainIndex, e.Counter)
}

// Is reports whether target is ErrDuplicateMessage.
func (e *DuplicateError) Is(target error) bool { return target == ErrDuplicateMessage }
