package spqr

// GF(2^16) arithmetic for the erasure code (SPQR.md §6).
//
// Elements are u16 values whose bit i is the coefficient of x^i; the field is
// GF(2)[x] / (x^16 + x^12 + x^3 + x + 1). No secret data goes through this
// field, so the code is not constant time.

// gfPoly is the reduction polynomial x^16 + x^12 + x^3 + x + 1.
const gfPoly = 0x1100b

// gfAdd returns a + b (and a - b) in GF(2^16).
func gfAdd(a, b uint16) uint16 { return a ^ b }

// gfMul returns a · b in GF(2^16).
func gfMul(a, b uint16) uint16 {
	var p uint32
	x, y := uint32(a), uint32(b)
	for y != 0 {
		if y&1 != 0 {
			p ^= x
		}
		y >>= 1
		x <<= 1
		if x&0x10000 != 0 {
			x ^= gfPoly
		}
	}
	return uint16(p)
}

// gfInv returns a^(2^16-2), the inverse of a, and 0 for a = 0.
func gfInv(a uint16) uint16 {
	// a^(2^16-2) = a^(2+4+...+2^15) = product of a^(2^i), i = 1..15.
	var r uint16 = 1
	sq := a
	for range 15 {
		sq = gfMul(sq, sq)
		r = gfMul(r, sq)
	}
	return r
}

// gfDiv returns a / b = a · b^(2^16-2); division by zero gives 0.
func gfDiv(a, b uint16) uint16 { return gfMul(a, gfInv(b)) }
