package spqr

import "sync"

// GF(2^16) arithmetic for the erasure code (spqr src/encoding/gf.rs).
//
// Elements are u16 values whose bit i is the coefficient of x^i; the field is
// GF(2)[x] / (x^16 + x^12 + x^3 + x + 1). No secret data goes through this
// field, so the code is not constant time: multiplication uses log/exp
// tables (256 KiB, built on first use).

// gfPoly is the reduction polynomial x^16 + x^12 + x^3 + x + 1.
const gfPoly = 0x1100b

// gfAdd returns a + b (and a - b) in GF(2^16).
func gfAdd(a, b uint16) uint16 { return a ^ b }

// gfMulSlow returns a · b by shift-and-add with reduction.
func gfMulSlow(a, b uint16) uint16 {
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

var (
	gfOnce sync.Once
	gfExp  *[2 * 65535]uint16 // gfExp[i] = g^i, doubled to skip a reduction
	gfLog  *[65536]uint16     // gfLog[g^i] = i; gfLog[0] unused
)

// gfInit builds the tables from the smallest generator of the
// multiplicative group.
func gfInit() {
	exp := new([2 * 65535]uint16)
	log := new([65536]uint16)
	for g := uint16(2); ; g++ {
		x := uint16(1)
		ok := true
		for i := range 65535 {
			if x == 1 && i != 0 {
				ok = false
				break
			}
			exp[i] = x
			x = gfMulSlow(x, g)
		}
		if ok {
			break
		}
	}
	for i := range 65535 {
		exp[65535+i] = exp[i]
		log[exp[i]] = uint16(i)
	}
	gfExp, gfLog = exp, log
}

// gfMul returns a · b in GF(2^16).
func gfMul(a, b uint16) uint16 {
	if a == 0 || b == 0 {
		return 0
	}
	gfOnce.Do(gfInit)
	return gfExp[int(gfLog[a])+int(gfLog[b])]
}

// gfInv returns a^(2^16-2), the inverse of a, and 0 for a = 0.
func gfInv(a uint16) uint16 {
	if a == 0 {
		return 0
	}
	gfOnce.Do(gfInit)
	return gfExp[65535-int(gfLog[a])]
}

// gfDiv returns a / b = a · b^(2^16-2); division by zero gives 0.
func gfDiv(a, b uint16) uint16 { return gfMul(a, gfInv(b)) }

// gfMulTable multiplies by a fixed element c: t[j][n] = c · (n << 4j).
type gfMulTable [4][16]uint16

// init builds the table for c from c·x^i, i = 0..15.
func (t *gfMulTable) init(c uint16) {
	var pow [16]uint16 // c · x^i
	v := uint32(c)
	for i := range pow {
		pow[i] = uint16(v)
		v <<= 1
		if v&0x10000 != 0 {
			v ^= gfPoly
		}
	}
	for j := range t {
		t[j][0] = 0
		for b := range 4 { // entries with top bit b: pow[4j+b] ^ the lower ones
			for n := range 1 << b {
				t[j][1<<b|n] = pow[4*j+b] ^ t[j][n]
			}
		}
	}
}

// mul returns c · a.
func (t *gfMulTable) mul(a uint16) uint16 {
	return t[0][a&15] ^ t[1][a>>4&15] ^ t[2][a>>8&15] ^ t[3][a>>12]
}

// gfMulTable8 multiplies by a fixed element c with two byte-indexed tables:
// t[0][n] = c · n, t[1][n] = c · (n << 8). Building it costs 510 XORs, so it
// pays for the longer messages (many products by the same c).
type gfMulTable8 [2][256]uint16

// init builds the table for c.
func (t *gfMulTable8) init(c uint16) {
	var pow [16]uint16 // c · x^i
	v := uint32(c)
	for i := range pow {
		pow[i] = uint16(v)
		v <<= 1
		if v&0x10000 != 0 {
			v ^= gfPoly
		}
	}
	for j := range t {
		t[j][0] = 0
		for b := range 8 {
			p := pow[8*j+b]
			lo := t[j][:1<<b]
			hi := t[j][1<<b : 2<<b]
			for n := range lo {
				hi[n] = p ^ lo[n]
			}
		}
	}
}

// mul returns c · a.
func (t *gfMulTable8) mul(a uint16) uint16 { return t[0][a&0xff] ^ t[1][a>>8] }
