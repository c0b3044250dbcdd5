package prekey

import (
	"errors"
	"fmt"
)

// Errors returned when parsing bundles and records. They are matched with
// errors.Is; none of them carries key material.
var (
	// ErrInvalidSignedPreKeySignature is returned for a bundle whose signed
	// pre-key signature does not verify under its identity key.
	ErrInvalidSignedPreKeySignature = errors.New("prekey: invalid signed pre-key signature")
	// ErrInvalidKyberPreKeySignature is returned for a bundle whose Kyber
	// pre-key signature does not verify under its identity key.
	ErrInvalidKyberPreKeySignature = errors.New("prekey: invalid Kyber pre-key signature")
	// ErrMissingKyberSignature is returned for a bundle with a Kyber pre-key
	// but no signature for it.
	ErrMissingKyberSignature = errors.New("prekey: Kyber pre-key without signature")
	// ErrMissingKyberPreKey is returned for a bundle with a Kyber pre-key
	// signature but no Kyber pre-key.
	ErrMissingKyberPreKey = errors.New("prekey: Kyber pre-key signature without Kyber pre-key")
	// ErrSignatureLength is returned (in a *FieldError) for a signature
	// shorter than 64 bytes, including an absent one.
	ErrSignatureLength = errors.New("prekey: signature is not 64 bytes")
	// ErrTrailingData is returned (in a *FieldError) for a key or signature
	// that is well formed but followed by extra bytes. libsignal drops the
	// extra bytes of a Curve25519 public key; this package rejects them.
	ErrTrailingData = errors.New("prekey: trailing data")
	// ErrInvalidRecord is returned (wrapped) for bytes that are not a
	// well-formed record structure.
	ErrInvalidRecord = errors.New("prekey: malformed record")
	// ErrKeyMismatch is returned when a record's private key does not belong
	// to its public key.
	ErrKeyMismatch = errors.New("prekey: private key does not match public key")
)

// FieldError reports which field of a bundle or record was rejected. Err is
// the cause: a sentinel of this package, or a key decoding error of package
// keys (keys.ErrNoKeyType, keys.ErrBadKeyType, keys.ErrKeyLength) or package
// kem, all reachable through errors.Is.
type FieldError struct {
	// Field is the field's name, as in the bundle JSON of the interop peer
	// protocol ("identity_key", "signed_prekey", "prekey", "kyber_prekey",
	// "signed_prekey_signature", "kyber_prekey_signature") or the record
	// structure ("public_key", "private_key", "signature").
	Field string
	// Err is the reason.
	Err error
}

// Error implements error.
func (e *FieldError) Error() string { return "prekey: " + e.Field + ": " + e.Err.Error() }

// Unwrap returns e.Err.
func (e *FieldError) Unwrap() error { return e.Err }

// recordError wraps ErrInvalidRecord with a description of the defect (never
// any of the input bytes) and an optional cause.
func recordError(what string, cause error) error {
	if cause != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidRecord, what, cause)
	}
	return fmt.Errorf("%w: %s", ErrInvalidRecord, what)
}
