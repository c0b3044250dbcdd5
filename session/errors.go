package session

import (
	"errors"
	"fmt"

	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/ratchet"
)

// Errors of the ratchet that a Manager returns as they are, repeated here
// so that callers need not import package ratchet: each is the same value
// as its ratchet counterpart, so errors.Is matches either.
var (
	// ErrDecryption is returned for every cryptographic rejection of a
	// message (bad MAC, bad padding, no state that decrypts it).
	ErrDecryption = ratchet.ErrDecryption
	// ErrDuplicateMessage is returned for a message already decrypted (or
	// whose key was evicted).
	ErrDuplicateMessage = ratchet.ErrDuplicateMessage
	// ErrTooFarInFuture is returned, for Whisper and PreKey messages alike,
	// for a message more than ratchet.MaxForwardJumps ahead of the current
	// state's chain, or more than MaxArchivedJump ahead of an archived
	// state's (see MaxArchivedJump). It does not match ErrDecryption: the
	// message was refused before its MAC was checked.
	ErrTooFarInFuture = ratchet.ErrTooFarInFuture
	// ErrModeMismatch is returned when a message and the session disagree
	// on SPQR: a session that requires SPQR (WithSPQR) got a message
	// without SPQR data, or a classical message arrived after SPQR was
	// negotiated. It does not match ErrDecryption.
	ErrModeMismatch = ratchet.ErrModeMismatch
	// ErrMessageTooShort is returned for a ciphertext too short to hold a
	// version byte (and, for a Whisper message, a MAC).
	ErrMessageTooShort = ratchet.ErrMessageTooShort
	// ErrInvalidVersion is returned for a message of a version this
	// package does not accept: below 3 (legacy) or above 4 (unknown).
	ErrInvalidVersion = ratchet.ErrInvalidVersion
	// ErrMalformedMessage is returned for a message whose protobuf body is
	// malformed, lacks a required field or holds a key of the wrong form.
	ErrMalformedMessage = ratchet.ErrMalformedMessage
	// ErrChainExhausted is returned by Encrypt when the sending chain's
	// counter would overflow; the session must be replaced.
	ErrChainExhausted = ratchet.ErrChainExhausted
	// ErrInvalidState is matched, besides ErrCorruptState, by a stored
	// session state that does not parse (including its SPQR state), and
	// by ParseRecord for such a record.
	ErrInvalidState = ratchet.ErrInvalidState
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
	// ErrCorruptState is returned when our own stored state cannot be used:
	// a session record or session state (including its SPQR state) that the
	// store returned does not parse. Retrying does not help; the session
	// must be replaced. The error also matches the underlying cause
	// (ErrInvalidRecord or ErrInvalidState). It does not match
	// ErrDecryption.
	ErrCorruptState = errors.New("session: local session state is corrupt")
	// ErrKeyAgreement is matched by every error of the X3DH or PQXDH key
	// agreement of ProcessBundle and of a PreKey message: a low-order key
	// (keys.ErrInvalidKeyAgreement), a non-canonical base key
	// (pqxdh.ErrInvalidBaseKey), a KEM ciphertext or key of the wrong type
	// or length (kem.ErrWrongKEMType, kem.ErrCiphertextLength,
	// kem.ErrUnknownKeyType, ...). The underlying error is wrapped too.
	ErrKeyAgreement = errors.New("session: key agreement failed")
	// ErrUnknownMessageType is returned for a ciphertext type other than
	// PreKey (3) or Whisper (2).
	ErrUnknownMessageType = errors.New("session: unknown message type")
)

// UntrustedIdentityError reports a peer identity key that the identity
// store does not trust, for example a changed key under trust on first use.
type UntrustedIdentityError struct {
	Address Address
	// Key is the identity key that was refused (the new key, for a changed
	// identity), so that the application can show it and, once the user
	// has verified it, save it with IdentityStore.SaveIdentity and retry.
	Key keys.PublicKey
}

func (e *UntrustedIdentityError) Error() string {
	return fmt.Sprintf("session: untrusted identity for %s", e.Address)
}

// Is reports whether target is ErrUntrustedIdentity.
func (e *UntrustedIdentityError) Is(target error) bool { return target == ErrUntrustedIdentity }

// PreKeyIDError reports a PreKey message naming a pre-key that is not in
// the store: used already (a stale message, or a pre-key handed out twice)
// or never ours. It matches ErrInvalidPreKeyID.
type PreKeyIDError struct {
	// Kind is "one-time", "signed" or "kyber".
	Kind string
	// ID is the pre-key id the message names.
	ID uint32
}

func (e *PreKeyIDError) Error() string {
	return fmt.Sprintf("session: unknown %s pre-key id %d", e.Kind, e.ID)
}

// Is reports whether target is ErrInvalidPreKeyID.
func (e *PreKeyIDError) Is(target error) bool { return target == ErrInvalidPreKeyID }
