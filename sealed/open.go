package sealed

import (
	"crypto/rand"
	"fmt"

	"github.com/ratchetlab/signal/keys"
)

var randRead = func(b []byte) error {
	_, err := rand.Read(b)
	return err
}

// Open opens a sealed envelope, v1 or a v2 received message, with our
// identity key (libsignal's sealed_sender_decrypt_to_usmc), and returns the
// inner message. It checks that the envelope's sender key is the
// certificate's identity key (v1: the decrypted static key; v2: the
// authentication tag), returning an error matching ErrInvalidCertificate
// otherwise; every other failure matches ErrInvalidMessage. It does not
// validate the certificate: call [SenderCertificate.Validate] on
// Content.Sender().
func Open(us *keys.PrivateKey, msg []byte) (*Content, error) {
	if len(msg) == 0 {
		return nil, fmt.Errorf("%w: empty message", ErrInvalidMessage)
	}
	switch msg[0] >> 4 {
	case 0, 1:
		return openV1(msg[1:], us)
	case 2:
		return openV2(msg[1:], us)
	}
	return nil, &VersionError{Version: msg[0] >> 4}
}

// Version returns the sealed sender version of an envelope (the first
// byte's high nibble, with 0 read as 1 as libsignal does), or 0 for an
// empty one.
func Version(msg []byte) int {
	if len(msg) == 0 {
		return 0
	}
	if v := int(msg[0] >> 4); v != 0 {
		return v
	}
	return 1
}
