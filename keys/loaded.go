package keys

import (
	"crypto/subtle"

	"filippo.io/edwards25519/field"
)

// LoadPrivateKey returns the private key with the 32-byte scalar b (clamped
// as ParsePrivateKey clamps it) and the public key pub stored beside it, for
// a key pair read back from storage such as a session record's ratchet key.
//
// ParsePrivateKey computes the public key, a scalar multiplication of the
// base point (crypto/ecdh does it whenever a private key is made); a stored
// pair already has it, and loading a session record happens for every
// message. LoadPrivateKey trusts pub instead and does not check it: a pair
// that does not match (a corrupted record) gives agreements that do not match
// the peer's, so messages fail to decrypt, as with any other corrupted key.
// Use ParsePrivateKey for a key whose public half is not known.
//
// Agree on such a key computes X25519 with the Montgomery ladder of RFC 7748
// §5 over filippo.io/edwards25519/field (the field arithmetic crypto/ecdh
// uses too), since crypto/ecdh has no private key without its public key.
// The result is the same function of the two keys: tests check it against
// RFC 7748's vectors and crypto/ecdh.
func LoadPrivateKey(b []byte, pub PublicKey) (*PrivateKey, error) {
	if len(b) != PrivateKeySize {
		return nil, ErrKeyLength
	}
	p := &PrivateKey{pub: pub}
	copy(p.s[:], b)
	p.s[0] &= 248
	p.s[31] &= 127
	p.s[31] |= 64
	return p, nil
}

// agreeLoaded is Agree for a key from LoadPrivateKey.
func (p *PrivateKey) agreeLoaded(peer PublicKey) ([32]byte, error) {
	out := x25519(&p.s, &peer.u)
	var zero [32]byte
	if subtle.ConstantTimeCompare(out[:], zero[:]) == 1 {
		return zero, ErrInvalidKeyAgreement
	}
	return out, nil
}

// x25519 is the function X25519(k, u) of RFC 7748 §5 for a clamped scalar
// k: the u-coordinate of k·(u, …) by the constant-time Montgomery ladder.
func x25519(k, u *[32]byte) [32]byte {
	var x1, x2, z2, x3, z3, a, aa, b, bb, e, c, d, da, cb, t field.Element
	x1.SetBytes(u[:]) // ignores the top bit, as §5 requires
	x2.One()
	z2.Zero()
	x3.Set(&x1)
	z3.One()
	swap := 0
	for i := 254; i >= 0; i-- {
		bit := int(k[i/8]>>(i%8)) & 1
		swap ^= bit
		x2.Swap(&x3, swap)
		z2.Swap(&z3, swap)
		swap = bit

		a.Add(&x2, &z2)
		aa.Square(&a)
		b.Subtract(&x2, &z2)
		bb.Square(&b)
		e.Subtract(&aa, &bb)
		c.Add(&x3, &z3)
		d.Subtract(&x3, &z3)
		da.Multiply(&d, &a)
		cb.Multiply(&c, &b)
		x3.Add(&da, &cb)
		x3.Square(&x3)
		z3.Subtract(&da, &cb)
		z3.Square(&z3)
		z3.Multiply(&z3, &x1)
		x2.Multiply(&aa, &bb)
		t.Mult32(&e, 121665) // a24
		t.Add(&t, &aa)
		z2.Multiply(&e, &t)
	}
	x2.Swap(&x3, swap)
	z2.Swap(&z3, swap)
	z2.Invert(&z2)
	x2.Multiply(&x2, &z2)
	var out [32]byte
	copy(out[:], x2.Bytes())
	return out
}
