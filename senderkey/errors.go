package senderkey

import (
	"errors"
	"fmt"
)

var (
	// ErrNoSenderKeyState is returned when a record has no state for a
	// message's chain id, when there is no record at all, or when a sender
	// has no own sender key to encrypt with.
	ErrNoSenderKeyState = errors.New("senderkey: no sender key state")
	// ErrDuplicateMessage is matched by every *DuplicateError.
	ErrDuplicateMessage = errors.New("senderkey: duplicate message")
	// ErrTooFarInFuture is returned for a message more iterations ahead of
	// the receiver's chain than the format allows (25000 for libsignal,
	// 2000 for WhatsApp).
	ErrTooFarInFuture = errors.New("senderkey: message from too far into the future")
	// ErrBadSignature is returned for a message whose XEdDSA signature does
	// not verify with the state's signing key.
	ErrBadSignature = errors.New("senderkey: bad message signature")
	// ErrMalformed is returned for a message or distribution message that
	// is too short, whose protobuf body is malformed, lacks a required
	// field, or holds a key or id of the wrong length.
	ErrMalformed = errors.New("senderkey: malformed message")
	// ErrInvalidVersion is matched by every *VersionError.
	ErrInvalidVersion = errors.New("senderkey: unsupported message version")
	// ErrDecryption is returned when the body of a correctly signed message
	// does not decrypt (bad length or padding).
	ErrDecryption = errors.New("senderkey: decryption failed")
	// ErrInvalidRecord is returned by ParseRecord for a malformed record.
	ErrInvalidRecord = errors.New("senderkey: invalid sender key record")
	// ErrNoSigningKey is returned by Encrypt when the newest state holds no
	// private signing key (a record received from another member).
	ErrNoSigningKey = errors.New("senderkey: state has no private signing key")
	// ErrChainExhausted is returned when a chain's iteration would pass
	// 2^32 − 1.
	ErrChainExhausted = errors.New("senderkey: chain iteration overflow")
)

// VersionError reports a message version other than 3: below it (legacy),
// above it (unknown), or different from the version of the state.
type VersionError struct {
	Version uint8
}

func (e *VersionError) Error() string {
	if e.Version < Version {
		return fmt.Sprintf("senderkey: legacy message version %d", e.Version)
	}
	return fmt.Sprintf("senderkey: unrecognized message version %d", e.Version)
}

// Is reports whether target is ErrInvalidVersion.
func (e *VersionError) Is(target error) bool { return target == ErrInvalidVersion }

// DuplicateError reports a message whose iteration is behind the
// receiver's chain and whose key is not stored: it was used already, was
// dropped, or lies before the distribution message's iteration.
type DuplicateError struct {
	// ChainIteration is the receiver chain's next iteration.
	ChainIteration uint32
	// Iteration is the message's iteration.
	Iteration uint32
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("senderkey: duplicate message (chain iteration %d, message iteration %d)", e.ChainIteration, e.Iteration)
}

// Is reports whether target is ErrDuplicateMessage.
func (e *DuplicateError) Is(target error) bool { return target == ErrDuplicateMessage }
