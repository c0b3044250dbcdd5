package spqr

import (
	"encoding/binary"
	"slices"
)

// The erasure code of SPQR.md §6: a message of L bytes (L even, a multiple of
// 32 for every v1 message) is split into 16 interleaved polynomials over
// GF(2^16), each through k = L/32 points at x = 0..k-1. Chunk i holds the
// values of the 16 polynomials at x = i, so chunks 0..k-1 are the message
// itself and any k distinct chunks recover it.

const (
	// chunkSize is the size of one chunk: one symbol per polynomial.
	chunkSize = 32
	// numPolys is the number of interleaved polynomials.
	numPolys = chunkSize / 2
)

// encoder produces the chunks 0, 1, 2, … of a message. It keeps either the
// raw points (pts, k symbols per polynomial) or, once a parity chunk has been
// requested, the coefficients of every polynomial, constant term first.
type encoder struct {
	idx   uint32             // next chunk index
	pts   [numPolys][]uint16 // raw symbols, or nil once polys is set
	polys [numPolys][]uint16 // coefficients, or nil while pts is set
}

// newEncoder starts an encoder over msg, whose length must be a positive
// multiple of 32 (callers only pass the fixed v1 sizes).
func newEncoder(msg []byte) *encoder {
	k := len(msg) / chunkSize
	e := &encoder{}
	for p := range numPolys {
		e.pts[p] = make([]uint16, k)
	}
	for j := range len(msg) / 2 {
		e.pts[j%numPolys][j/numPolys] = binary.BigEndian.Uint16(msg[2*j:])
	}
	return e
}

// k returns the number of points per polynomial.
func (e *encoder) k() int {
	if e.pts[0] != nil {
		return len(e.pts[0])
	}
	return len(e.polys[0])
}

// chunk returns chunk i without advancing the encoder (it may switch the
// encoder to the polynomial form).
func (e *encoder) chunk(i uint16) [chunkSize]byte {
	var out [chunkSize]byte
	if e.pts[0] != nil && int(i) < len(e.pts[0]) {
		for p := range numPolys {
			binary.BigEndian.PutUint16(out[2*p:], e.pts[p][i])
		}
		return out
	}
	if e.polys[0] == nil {
		for p := range numPolys {
			e.polys[p] = interpolateCoeffs(e.pts[p])
			e.pts[p] = nil
		}
	}
	for p := range numPolys {
		binary.BigEndian.PutUint16(out[2*p:], evalPoly(e.polys[p], i))
	}
	return out
}

// next returns the next chunk and its index; indices wrap modulo 2^16.
func (e *encoder) next() (uint16, [chunkSize]byte) {
	i := uint16(e.idx)
	c := e.chunk(i)
	e.idx = uint32(i) + 1
	if e.idx > 0xffff {
		e.idx = 0
	}
	return i, c
}

// interpolateCoeffs returns the coefficients (constant term first) of the
// polynomial of degree < len(ys) through (x, ys[x]) for x = 0..len(ys)-1.
func interpolateCoeffs(ys []uint16) []uint16 {
	k := len(ys)
	// full = prod_j (X - j).
	full := make([]uint16, k+1)
	full[0] = 1
	for j := range k {
		// multiply by (X + j): shift and add j·full.
		for d := j + 1; d >= 1; d-- {
			full[d] = full[d-1] ^ gfMul(full[d], uint16(j))
		}
		full[0] = gfMul(full[0], uint16(j))
	}
	out := make([]uint16, k)
	q := make([]uint16, k)
	for j := range k {
		// q = full / (X - j) by synthetic division.
		var carry uint16
		for d := k; d >= 1; d-- {
			carry = full[d] ^ gfMul(carry, uint16(j))
			q[d-1] = carry
		}
		// denominator prod_{m != j} (j - m) = q(j).
		scale := gfDiv(ys[j], evalPoly(q, uint16(j)))
		for d := range k {
			out[d] ^= gfMul(q[d], scale)
		}
	}
	return out
}

// evalPoly evaluates the polynomial with coefficients c (constant first) at x.
func evalPoly(c []uint16, x uint16) uint16 {
	var r uint16
	for d := len(c) - 1; d >= 0; d-- {
		r = gfMul(r, x) ^ c[d]
	}
	return r
}

// point is one stored (x, y) pair of a decoder.
type point struct{ x, y uint16 }

// decoder collects chunks of a message of known length until every
// polynomial has at least k points.
type decoder struct {
	ptsNeeded uint32            // L/2, the total number of symbols
	pts       [numPolys][]point // sorted by x
}

// newDecoder starts a decoder for a message of n bytes (a positive multiple
// of 32).
func newDecoder(n int) *decoder {
	return &decoder{ptsNeeded: uint32(n / 2)}
}

// k returns the number of points each polynomial needs.
func (d *decoder) k() int { return int(d.ptsNeeded) / numPolys }

// add stores chunk i.
func (d *decoder) add(i uint16, c *[chunkSize]byte) {
	k := d.k()
	for p := range numPolys {
		y := binary.BigEndian.Uint16(c[2*p:])
		pts := d.pts[p]
		at, found := slices.BinarySearchFunc(pts, i, func(a point, x uint16) int { return int(a.x) - int(x) })
		if found {
			pts[at].y = y
			continue
		}
		if int(i) < k || len(pts) < k {
			d.pts[p] = slices.Insert(pts, at, point{i, y})
		}
	}
}

// complete reports whether every polynomial has enough points.
func (d *decoder) complete() bool {
	k := d.k()
	for p := range numPolys {
		if len(d.pts[p]) < k {
			return false
		}
	}
	return true
}

// decode returns the message once complete, else nil.
func (d *decoder) decode() []byte {
	if !d.complete() {
		return nil
	}
	k := d.k()
	out := make([]byte, 2*int(d.ptsNeeded))
	for p := range numPolys {
		pts := d.pts[p]
		base := pts[:k] // the k lowest-x points
		for x := range k {
			var y uint16
			at, found := slices.BinarySearchFunc(pts, uint16(x), func(a point, x uint16) int { return int(a.x) - int(x) })
			if found {
				y = pts[at].y
			} else {
				y = lagrangeAt(base, uint16(x))
			}
			binary.BigEndian.PutUint16(out[2*(x*numPolys+p):], y)
		}
	}
	return out
}

// lagrangeAt evaluates at x the polynomial through pts (distinct x values).
func lagrangeAt(pts []point, x uint16) uint16 {
	var r uint16
	for j, pj := range pts {
		num, den := uint16(1), uint16(1)
		for m, pm := range pts {
			if m == j {
				continue
			}
			num = gfMul(num, x^pm.x)
			den = gfMul(den, pj.x^pm.x)
		}
		r ^= gfMul(pj.y, gfDiv(num, den))
	}
	return r
}
