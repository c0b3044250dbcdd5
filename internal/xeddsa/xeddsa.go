// Package xeddsa implements XEdDSA signatures over Curve25519 keys exactly as
// libsignal computes them, as a variant of [XEdDSA] (Perrin, 2016).
//
// XEdDSA lets a party sign with its X25519 key pair: the Montgomery private
// scalar k is used as an Edwards scalar, and a verifier converts the
// Montgomery u-coordinate of the public key to the Edwards y-coordinate
// y = (u−1)/(u+1). Since u determines the Edwards point only up to sign, the
// specification forces the public Edwards point to have sign bit 0 by negating
// the private scalar when needed. libsignal does not: it keeps a = k mod L as
// is, computes A = a·B, and carries A's sign bit in the otherwise unused top
// bit of the last signature byte (bit 7 of sig[63]; s < L < 2^253 leaves the
// top three bits of the s encoding free). A verifier reads that bit to pick
// the Edwards point. Signatures made by this variant are therefore not
// interchangeable with the specification's: both sides must use it.
//
// Signing, with the clamped private key k (32 bytes), message M and 64 random
// bytes Z:
//
//	a = k mod L;  A = a·B;  sign = A[31] & 0x80
//	r = SHA-512(0xFE || 0xFF×31 || k || M || Z) mod L;  R = r·B
//	h = SHA-512(R || A || M) mod L;  s = h·a + r mod L
//	signature = R || s, with sig[63] |= sign
//
// Verification converts u to the Edwards point A with the sign bit
// sig[63]>>7, then checks R == compress(s·B − h·A) byte for byte with
// h = SHA-512(R || A || M) mod L; see [Verify] for the exact input rules and
// where they are stricter than libsignal's.
//
// The private key must be kept secret; Sign runs in constant time with respect
// to it and to the random bytes.
//
// [XEdDSA]: https://signal.org/docs/specifications/xeddsa/
package xeddsa

import (
	"crypto/sha512"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// SignatureSize is the size of an XEdDSA signature in bytes: R (32) || s (32),
// with the Edwards sign bit in the top bit of the last byte.
const SignatureSize = 64

// PrivateKeySize and PublicKeySize are the sizes of the raw X25519 private
// scalar and public u-coordinate (without libsignal's 0x05 type byte).
const (
	PrivateKeySize = 32
	PublicKeySize  = 32
)

// noncePrefix is hash1 of the XEdDSA specification: the 32-byte encoding of
// 2^256 − 1 − 1, that is 0xFE followed by 31 bytes 0xFF.
var noncePrefix = [32]byte{
	0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
}

// clamp applies X25519 clamping (RFC 7748, decodeScalar25519) in place.
func clamp(k *[32]byte) {
	k[0] &= 248
	k[31] &= 127
	k[31] |= 64
}

// Sign returns libsignal's XEdDSA signature over the concatenation of the
// parts of msg, made with the X25519 private key priv and 64 bytes of
// randomness Z, which callers draw from crypto/rand. The key is clamped
// before use (libsignal clamps every private key it loads, so this changes
// nothing for its keys) and both the clamped scalar and its bytes enter the
// computation as described in the package documentation.
//
// Given the same priv, random and message, Sign returns the same signature.
// Sign does not modify priv or random.
func Sign(priv *[PrivateKeySize]byte, random *[64]byte, msg ...[]byte) [SignatureSize]byte {
	a := PublicEdwards(priv)
	return SignWithPublic(priv, &a, random, msg...)
}

// PublicEdwards returns the compressed Edwards point A = (k mod L)·B of the
// clamped private key k, with its sign bit: the public key as Sign uses it.
// It is public data (the Edwards form of the X25519 public key, with the
// sign that the Montgomery u-coordinate lacks), so a signer that signs
// often with one key may compute it once and use SignWithPublic.
func PublicEdwards(priv *[PrivateKeySize]byte) [32]byte {
	k := *priv
	clamp(&k)
	var a edwards25519.Scalar
	if _, err := a.SetBytesWithClamping(k[:]); err != nil {
		panic("xeddsa: internal error: " + err.Error())
	}
	clear(k[:])
	var aPoint edwards25519.Point
	aPoint.ScalarBaseMult(&a)
	var out [32]byte
	copy(out[:], aPoint.Bytes())
	var zero edwards25519.Scalar
	a.Set(&zero)
	return out
}

// SignWithPublic is Sign with the signer's Edwards public key A given, as
// PublicEdwards(priv) returns it, which saves a scalar multiplication. If
// pub is not PublicEdwards(priv), the signature does not verify.
func SignWithPublic(priv *[PrivateKeySize]byte, pub *[32]byte, random *[64]byte, msg ...[]byte) [SignatureSize]byte {
	k := *priv
	clamp(&k)

	// a = k mod L. SetBytesWithClamping clamps again (a no-op on k) and
	// reduces modulo L; it only fails on a wrong length.
	var a edwards25519.Scalar
	if _, err := a.SetBytesWithClamping(k[:]); err != nil {
		panic("xeddsa: internal error: " + err.Error())
	}
	aBytes := *pub
	signBit := aBytes[31] & 0x80

	// r = SHA-512(hash1 || k || M || Z) mod L.
	var digest [64]byte
	h := sha512.New()
	h.Write(noncePrefix[:])
	h.Write(k[:])
	for _, m := range msg {
		h.Write(m)
	}
	h.Write(random[:])
	h.Sum(digest[:0])
	var r edwards25519.Scalar
	if _, err := r.SetUniformBytes(digest[:]); err != nil {
		panic("xeddsa: internal error: " + err.Error())
	}
	var rPoint edwards25519.Point
	rPoint.ScalarBaseMult(&r)

	var sig [SignatureSize]byte
	copy(sig[:32], rPoint.Bytes())

	// h = SHA-512(R || A || M) mod L; s = h·a + r mod L.
	h.Reset()
	h.Write(sig[:32])
	h.Write(aBytes[:])
	for _, m := range msg {
		h.Write(m)
	}
	h.Sum(digest[:0])
	var hs edwards25519.Scalar
	if _, err := hs.SetUniformBytes(digest[:]); err != nil {
		panic("xeddsa: internal error: " + err.Error())
	}
	var s edwards25519.Scalar
	s.MultiplyAdd(&hs, &a, &r)
	copy(sig[32:], s.Bytes())
	// s < L < 2^253, so bit 7 of sig[63] is free for the sign bit.
	sig[63] = sig[63]&0x7f | signBit

	clear(k[:])
	clear(digest[:])
	var zero edwards25519.Scalar
	a.Set(&zero)
	r.Set(&zero)
	return sig
}

// Verify reports whether sig is a valid libsignal XEdDSA signature over the
// concatenation of the parts of msg by the X25519 public key u (the raw
// 32-byte u-coordinate, without libsignal's 0x05 type byte).
//
// It accepts every signature libsignal's signer produces with a key pair
// libsignal (or any X25519 implementation) generated. It computes what
// libsignal's verifier computes (the Edwards point from u and the sign bit
// sig[63]>>7, h over R || compress(A) || M, cofactorless check, R compared
// byte for byte so that a non-canonical R fails), and rejects everything
// libsignal rejects: a sig that is not exactly 64 bytes, u ≡ −1 (mod p), a u
// with no Edwards point, and bits 5 or 6 of sig[63] set. It is stricter than
// libsignal only on inputs that no honest signer produces:
//
//   - s ≥ L is rejected (libsignal reduces s modulo L instead; its signer
//     always writes a reduced s). This makes signatures non-malleable.
//   - A non-canonical u is rejected: bit 255 set, or u ≥ p = 2^255 − 19
//     (libsignal ignores bit 255 and reduces u modulo p, as X25519 does;
//     X25519 public keys it generates are always canonical). This is the
//     "if u ≥ p return false" step of the XEdDSA specification.
//   - A public key whose Edwards point has small order (order dividing 8,
//     such as u = 0 or u = 1) is rejected. Anyone can forge signatures for such
//     keys; an X25519 public key made from a private key never has small
//     order.
func Verify(u *[PublicKeySize]byte, sig []byte, msg ...[]byte) bool {
	if len(sig) != SignatureSize {
		return false
	}
	var fu field.Element
	if _, err := fu.SetBytes(u[:]); err != nil {
		return false
	}
	// field.Element.SetBytes ignores bit 255 and reduces; a round trip
	// that changes the bytes means u was not canonical.
	if string(fu.Bytes()) != string(u[:]) {
		return false
	}
	// y = (u − 1) / (u + 1), undefined for u = −1.
	var one, num, den, zero field.Element
	one.One()
	den.Add(&fu, &one)
	if den.Equal(&zero) == 1 {
		return false
	}
	num.Subtract(&fu, &one)
	num.Multiply(&num, den.Invert(&den))

	var pub [32]byte
	copy(pub[:], num.Bytes())
	pub[31] |= sig[63] & 0x80

	var s [32]byte
	copy(s[:], sig[32:])
	s[31] &= 0x7f
	return verify(&pub, (*[32]byte)(sig[:32]), &s, msg)
}

// VerifyEdwards reports whether sig is a valid Ed25519 signature over the
// concatenation of the parts of msg by the 32-byte compressed Edwards public
// key pub (RFC 8032, section 5.1.7, cofactorless, like Go's crypto/ed25519).
// Unlike crypto/ed25519 it rejects non-canonical and small-order public keys.
//
// It is the check that [Verify] runs once it has converted u to pub: pub must
// be the canonical encoding of a point that does not have small order, sig
// must be exactly 64 bytes, s must be canonical (s < L), and R must equal the
// compressed s·B − h·A byte for byte. Unlike Verify, bit 7 of sig[63] belongs
// to s here (so a set bit makes s ≥ L). It exists so that the core can be
// checked against Ed25519 test vectors.
func VerifyEdwards(pub []byte, sig []byte, msg ...[]byte) bool {
	if len(pub) != 32 || len(sig) != SignatureSize {
		return false
	}
	return verify((*[32]byte)(pub), (*[32]byte)(sig[:32]), (*[32]byte)(sig[32:]), msg)
}

// verify is the Edwards verification shared by Verify and VerifyEdwards. All
// inputs are public, so it runs in variable time.
func verify(pub, rBytes, sBytes *[32]byte, msg [][]byte) bool {
	var a edwards25519.Point
	if _, err := a.SetBytes(pub[:]); err != nil {
		return false
	}
	// SetBytes accepts non-canonical encodings (y ≥ p, or x = 0 with the
	// sign bit set); the hash below must cover compress(A), so require it.
	if string(a.Bytes()) != string(pub[:]) {
		return false
	}
	var t edwards25519.Point
	if t.MultByCofactor(&a).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return false
	}
	// SetCanonicalBytes rejects s ≥ L, which includes every s with any of
	// the top three bits set.
	var s edwards25519.Scalar
	if _, err := s.SetCanonicalBytes(sBytes[:]); err != nil {
		return false
	}

	var digest [64]byte
	h := sha512.New()
	h.Write(rBytes[:])
	h.Write(pub[:])
	for _, m := range msg {
		h.Write(m)
	}
	h.Sum(digest[:0])
	var k edwards25519.Scalar
	if _, err := k.SetUniformBytes(digest[:]); err != nil {
		return false
	}

	// R' = k·(−A) + s·B.
	a.Negate(&a)
	var check edwards25519.Point
	check.VarTimeDoubleScalarBaseMult(&k, &a, &s)
	return string(check.Bytes()) == string(rBytes[:])
}
