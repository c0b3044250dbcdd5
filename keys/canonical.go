package keys

import (
	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// scalarLMinus1 is the group order L minus one, little-endian.
var scalarLMinus1 = func() *edwards25519.Scalar {
	b := [32]byte{
		0xec, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
		0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
		0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0x10,
	}
	s, err := edwards25519.NewScalar().SetCanonicalBytes(b[:])
	if err != nil {
		panic("keys: bad constant")
	}
	return s
}()

// IsCanonical reports whether k passes libsignal's canonicity check, which
// PQXDH applies to the initiator's base key on the responder's side: the
// u-coordinate is fully reduced (u < 2^255-19, top bit clear), and the
// Edwards point it maps to with sign 0 lies in the prime-order subgroup (is
// torsion-free). It runs in variable time; public keys are not secret.
func (k PublicKey) IsCanonical() bool {
	if !inRange(&k.u) {
		return false
	}
	p, ok := edwardsFromMontgomery(&k.u)
	if !ok {
		return false
	}
	// Torsion-free iff [L]P is the identity: [L-1]P + P.
	// Public data: the variable-time multiplication is safe and faster.
	q := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(scalarLMinus1, p, edwards25519.NewScalar())
	q.Add(q, p)
	return q.Equal(edwards25519.NewIdentityPoint()) == 1
}

// edwardsFromMontgomery maps u to the Edwards point with y = (u-1)/(u+1)
// and sign bit 0. It fails for u = -1 and for u on the twist.
func edwardsFromMontgomery(u *[32]byte) (*edwards25519.Point, bool) {
	fu, err := new(field.Element).SetBytes(u[:])
	if err != nil {
		return nil, false
	}
	one := new(field.Element).One()
	den := new(field.Element).Add(fu, one)
	if den.Equal(new(field.Element).Zero()) == 1 {
		return nil, false
	}
	num := new(field.Element).Subtract(fu, one)
	y := new(field.Element).Multiply(num, new(field.Element).Invert(den))
	p, err := new(edwards25519.Point).SetBytes(y.Bytes())
	if err != nil {
		return nil, false
	}
	return p, true
}

// inRange reports whether u, read as a 256-bit little-endian integer, is
// below 2^255-19: the top bit is clear and u is not one of 2^255-19..2^255-1.
func inRange(u *[32]byte) bool {
	if u[31]&0x80 != 0 {
		return false
	}
	if u[31] != 0x7f || u[0] < 0xed {
		return true
	}
	for _, b := range u[1:31] {
		if b != 0xff {
			return true
		}
	}
	return false
}
