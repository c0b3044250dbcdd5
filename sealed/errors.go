package sealed

import (
	"errors"
	"strconv"
)

var (
	// ErrInvalidMessage is returned for every envelope that does not open:
	// not addressed to us, tampered, truncated, malformed, or of an unknown
	// version (then as a *VersionError, which matches it).
	ErrInvalidMessage = errors.New("sealed: invalid sealed sender message")
	// ErrInvalidCertificate is returned for a sender certificate that does
	// not validate (trust root, signatures, revoked or unknown server
	// certificate, expiry) and for an envelope whose sender key is not the
	// certificate's identity key.
	ErrInvalidCertificate = errors.New("sealed: invalid sender certificate")
	// ErrMalformed is returned when a certificate, inner message or sent
	// message cannot be decoded.
	ErrMalformed = errors.New("sealed: malformed encoding")
	// ErrSelfSend is returned for a sealed message whose certificate names
	// the receiving device itself.
	ErrSelfSend = errors.New("sealed: message sent by this device")
	// ErrInvalidArgument is returned for unusable arguments of the sending
	// functions (a name that is not a service id, a device or registration
	// id out of range).
	ErrInvalidArgument = errors.New("sealed: invalid argument")
)

// VersionError reports a sealed sender version this package does not read
// (the first byte's high nibble). It matches ErrInvalidMessage.
type VersionError struct {
	Version byte
}

func (e *VersionError) Error() string {
	return "sealed: unknown sealed sender version " + strconv.Itoa(int(e.Version))
}

// Is reports whether target is ErrInvalidMessage.
func (e *VersionError) Is(target error) bool { return target == ErrInvalidMessage }
