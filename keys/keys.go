// Package keys holds the Curve25519 key types of the Signal protocol in
// libsignal's encodings: 33-byte public keys (a 0x05 type byte followed by the
// X25519 u-coordinate), 32-byte clamped private keys, X25519 key agreement and
// XEdDSA signatures.
//
// The key types live in one small package of their own so that every other
// package (x3dh, pqxdh, ratchet, session, fingerprint) can share them without
// an import cycle. Post-quantum KEM keys are in package kem.
//
// Key agreement is X25519 as specified in [RFC 7748]; an all-zero shared
// secret is rejected, as libsignal does. Signatures are XEdDSA as specified in
// [The XEdDSA and VXEdDSA Signature Schemes], with libsignal's variant that
// carries the Edwards sign bit in the top bit of the signature's last byte.
//
// [RFC 7748]: https://www.rfc-editor.org/rfc/rfc7748
// [The XEdDSA and VXEdDSA Signature Schemes]: https://signal.org/docs/specifications/xeddsa/
package keys

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/ratchetlab/signal/internal/xeddsa"
)

// Sizes of the encodings.
const (
	// TypeDJB is the type byte of a Curve25519 public key.
	TypeDJB = 0x05
	// PublicKeySize is the size of a serialized public key: TypeDJB || u.
	PublicKeySize = 33
	// PrivateKeySize is the size of a private key: a clamped X25519 scalar.
	PrivateKeySize = 32
	// SignatureSize is the size of an XEdDSA signature.
	SignatureSize = 64
)

// Errors returned when decoding keys or using them.
var (
	// ErrNoKeyType is returned for an empty public key.
	ErrNoKeyType = errors.New("keys: public key is empty")
	// ErrBadKeyType is returned for a public key whose type byte is not TypeDJB.
	ErrBadKeyType = errors.New("keys: unknown public key type")
	// ErrKeyLength is returned for a key of the wrong length.
	ErrKeyLength = errors.New("keys: wrong key length")
	// ErrInvalidKeyAgreement is returned when X25519 gives the all-zero
	// shared secret, which happens only for low-order public keys.
	ErrInvalidKeyAgreement = errors.New("keys: X25519 shared secret is all zeros (low-order public key)")
)

// PublicKey is a Curve25519 public key. The zero value is not a valid key.
// PublicKey is a small comparable value; == compares the encodings.
type PublicKey struct {
	u [32]byte
}

// ParsePublicKey decodes a serialized public key: the type byte 0x05 followed
// by the 32-byte X25519 u-coordinate.
//
// libsignal accepts (and drops) trailing bytes after the 33 bytes;
// ParsePublicKey is stricter and requires exactly 33 bytes, which no
// libsignal encoder ever exceeds.
func ParsePublicKey(b []byte) (PublicKey, error) {
	switch {
	case len(b) == 0:
		return PublicKey{}, ErrNoKeyType
	case b[0] != TypeDJB:
		return PublicKey{}, ErrBadKeyType
	case len(b) != PublicKeySize:
		return PublicKey{}, ErrKeyLength
	}
	var k PublicKey
	copy(k.u[:], b[1:])
	return k, nil
}

// NewPublicKey returns the public key with the given raw 32-byte X25519
// u-coordinate (no type byte).
func NewPublicKey(u []byte) (PublicKey, error) {
	if len(u) != 32 {
		return PublicKey{}, ErrKeyLength
	}
	var k PublicKey
	copy(k.u[:], u)
	return k, nil
}

// Bytes returns the 33-byte serialized form of k.
func (k PublicKey) Bytes() []byte {
	return k.AppendBytes(make([]byte, 0, PublicKeySize))
}

// AppendBytes appends the 33-byte serialized form of k to dst.
func (k PublicKey) AppendBytes(dst []byte) []byte {
	dst = append(dst, TypeDJB)
	return append(dst, k.u[:]...)
}

// Array returns the 33-byte serialized form of k as an array.
func (k PublicKey) Array() [PublicKeySize]byte {
	var a [PublicKeySize]byte
	a[0] = TypeDJB
	copy(a[1:], k.u[:])
	return a
}

// U returns the raw 32-byte X25519 u-coordinate.
func (k PublicKey) U() [32]byte { return k.u }

// IsZero reports whether k is the zero value (no key).
func (k PublicKey) IsZero() bool { return k == PublicKey{} }

// Equal reports whether k and o encode the same key, in constant time.
func (k PublicKey) Equal(o PublicKey) bool {
	return subtle.ConstantTimeCompare(k.u[:], o.u[:]) == 1
}

// String returns the serialized key in hex. Public keys are not secret.
func (k PublicKey) String() string { return hex.EncodeToString(k.Bytes()) }

// VerifySignature reports whether sig is a valid XEdDSA signature by k over
// the concatenation of msg. See [xeddsa.Verify] for the exact rules and how
// they compare with libsignal's.
func (k PublicKey) VerifySignature(sig []byte, msg ...[]byte) bool {
	return xeddsa.Verify(&k.u, sig, msg...)
}

// PrivateKey is a Curve25519 private key, held as a clamped scalar together
// with its public key. Its methods never reveal the scalar through fmt.
//
// X25519 is computed with the constant-time Montgomery ladder of RFC 7748
// §5 and a public key with a fixed-base multiplication on the birationally
// equivalent Edwards curve (filippo.io/edwards25519's precomputed tables,
// about 2.5 times faster than a ladder), over the field arithmetic
// crypto/ecdh uses too. crypto/ecdh is not used because it cannot hold a
// private key without recomputing its public key (see LoadPrivateKey).
type PrivateKey struct {
	s   [32]byte // the clamped scalar
	pub PublicKey
}

// GeneratePrivateKey returns a new random private key.
func GeneratePrivateKey() (*PrivateKey, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	defer clear(b[:])
	return ParsePrivateKey(b[:])
}

// ParsePrivateKey decodes a 32-byte private key and computes its public
// key. Like libsignal it clamps the scalar (k[0] &= 248, k[31] &= 127,
// k[31] |= 64), so Bytes returns the clamped form.
func ParsePrivateKey(b []byte) (*PrivateKey, error) {
	if len(b) != PrivateKeySize {
		return nil, ErrKeyLength
	}
	p := new(PrivateKey)
	copy(p.s[:], b)
	clamp(&p.s)
	u, err := scalarBaseMult(&p.s)
	if err != nil {
		return nil, err
	}
	p.pub.u = u
	return p, nil
}

// clamp clamps a scalar as RFC 7748 §5 decodes it.
func clamp(s *[32]byte) {
	s[0] &= 248
	s[31] &= 127
	s[31] |= 64
}

// Bytes returns the 32-byte clamped scalar. It must be kept secret.
func (p *PrivateKey) Bytes() []byte { return append([]byte(nil), p.s[:]...) }

// PublicKey returns the public key of p.
func (p *PrivateKey) PublicKey() PublicKey { return p.pub }

// Agree returns the X25519 shared secret of p and the peer's public key. It
// returns ErrInvalidKeyAgreement for a low-order peer key (all-zero result),
// which libsignal rejects too.
func (p *PrivateKey) Agree(peer PublicKey) ([32]byte, error) {
	out := x25519(&p.s, &peer.u)
	var zero [32]byte
	if subtle.ConstantTimeCompare(out[:], zero[:]) == 1 {
		return zero, ErrInvalidKeyAgreement
	}
	return out, nil
}

// Sign returns an XEdDSA signature by p over the concatenation of msg, drawn
// with fresh randomness from crypto/rand, as libsignal computes it.
func (p *PrivateKey) Sign(msg ...[]byte) ([]byte, error) {
	var z [64]byte
	if _, err := rand.Read(z[:]); err != nil {
		return nil, err
	}
	var s [32]byte
	copy(s[:], p.Bytes())
	sig := xeddsa.Sign(&s, &z, msg...)
	clear(s[:])
	clear(z[:])
	return sig[:], nil
}

// Format implements fmt.Formatter: a private key prints as its public key,
// never as its scalar.
func (p *PrivateKey) Format(f fmt.State, verb rune) {
	if p == nil {
		fmt.Fprint(f, "keys.PrivateKey(nil)")
		return
	}
	fmt.Fprintf(f, "keys.PrivateKey(public=%s)", p.pub)
}

// GoString implements fmt.GoStringer so %#v hides the scalar too.
func (p *PrivateKey) GoString() string { return fmt.Sprint(p) }
