package session

import (
	"errors"
	"fmt"

	"github.com/ratchetlab/signal/ratchet"
)

// Errors of the ratchet that a Manager returns as they are, repeated here
// so that callers need not import package ratchet.
var (
	// ErrDecryption is returned for every cryptographic rejection of a
	// message (bad MAC, bad padding, no state that decrypts it).
	ErrDecryption = ratchet.ErrDecryption
	// ErrDuplicateMessage is returned for a message already decrypted (or
	// whose key was evicted).
	ErrDuplicateMessage = ratchet.ErrDuplicateMessage
)

var (
	// ErrNoSession is returned when there is no usable session with a peer,
	// including a session whose first message was never answered within
	// MaxUnacknowledgedSessionAge.
	ErrNoSession = errors.New("session: no session")
	// ErrUntrustedIdentity is matched by every *UntrustedIdentityError.
	ErrUntrustedIdentity = errors.New("session: untrusted identity")
	// ErrX3DHDisabled is returned for an X3DH (version 3) bundle or PreKey
	// message when the Manager was not created WithX3DH.
	ErrX3DHDisabled = errors.New("session: X3DH (version 3) sessions are disabled")
	// ErrInvalidPreKeyID is returned for a PreKey message naming a pre-key
	// that is not in the store (used already, or never ours).
	ErrInvalidPreKeyID = errors.New("session: unknown pre-key id")
	// ErrReusedBaseKey is returned when a Kyber pre-key is used twice with
	// the same base key.
	ErrReusedBaseKey = errors.New("session: reused base key")
	// ErrInvalidRecord is returned for a malformed session record.
	ErrInvalidRecord = errors.New("session: invalid session record")
	// ErrUnknownMessageType is returned for a ciphertext type other than
	// PreKey (3) or Whisper (2).
	ErrUnknownMessageType = errors.New("session: unknown message type")
)

// UntrustedIdentityError reports a peer identity key that the identity
// store does not trust, for example a changed key under trust on first use.
type UntrustedIdentityError struct {
	Address Address
}

func (e *UntrustedIdentityError) Error() string {
	return fmt.Sprintf("session: untrusted identity for %s", e.Address)
}

// Is reports whether target is ErrUntrustedIdentity.
func (e *UntrustedIdentityError) Is(target error) bool { return target == ErrUntrustedIdentity }
