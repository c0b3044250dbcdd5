package keys

import (
	"errors"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

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

// scalarBaseMult returns X25519(k, 9), the public key of the clamped
// scalar k. It multiplies the Edwards base point, which RFC 7748 §4.1's
// birational map takes to the Montgomery base point u = 9, with
// filippo.io/edwards25519's constant-time precomputed tables, and maps the
// result to its u-coordinate (u = (1 + y) / (1 − y)). The base point has
// prime order, so reducing the clamped k modulo that order (which
// SetBytesWithClamping does) gives the same point.
func scalarBaseMult(k *[32]byte) ([32]byte, error) {
	var u [32]byte
	s, err := edwards25519.NewScalar().SetBytesWithClamping(k[:])
	if err != nil {
		return u, errors.New("keys: bad scalar length")
	}
	var p edwards25519.Point
	p.ScalarBaseMult(s)
	copy(u[:], p.BytesMontgomery())
	return u, nil
}
