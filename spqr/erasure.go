package spqr

import (
	"encoding/binary"
	"slices"
	"sync"
)

// The erasure code of spqr src/encoding/polynomial.rs: a message of L bytes (L even, a multiple of
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
//
// The symbol slices are never changed in place (switching to the polynomial
// form builds new ones), so a copy of the struct is a snapshot (undo.go).
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
	syms := make([]uint16, numPolys*k)
	for p := range numPolys {
		e.pts[p] = syms[p*k : (p+1)*k : (p+1)*k]
	}
	for j := range len(msg) / 2 {
		e.pts[j%numPolys][j/numPolys] = binary.BigEndian.Uint16(msg[2*j:])
	}
	return e
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
		k := len(e.pts[0])
		basis := lagrangeBasisCached(k)
		coef := make([]uint16, numPolys*k)
		for p := range numPolys {
			c := coef[p*k : (p+1)*k : (p+1)*k]
			combine(c, basis, e.pts[p])
			e.polys[p] = c
			e.pts[p] = nil
		}
	}
	var ys [numPolys]uint16
	evalPolys(&ys, &e.polys, i)
	for p := range numPolys {
		binary.BigEndian.PutUint16(out[2*p:], ys[p])
	}
	return out
}

// evalPolys sets ys[p] to polys[p](x) for the 16 polynomials, by Horner's
// rule with the multiplication by the constant x done through small tables
// built for x: no branches and no lookups in the 256 KiB log/exp tables.
// Short polynomials (the 96- and 160-byte messages) use four 16-entry
// tables, cheap to build; long ones (960 and 1152 bytes) two 256-entry
// tables, half the lookups per product.
func evalPolys(ys *[numPolys]uint16, polys *[numPolys][]uint16, x uint16) {
	k := len(polys[0])
	for p := range numPolys {
		if len(polys[p]) != k { // never for an encoder: all have k symbols
			for p := range numPolys {
				ys[p] = evalPoly(polys[p], x)
			}
			return
		}
	}
	// The 16 Horner chains run interleaved, so that their table lookups
	// overlap instead of waiting for each other.
	var r [numPolys]uint16
	if k >= 8 {
		var t gfMulTable8
		t.init(x)
		for d := k - 1; d >= 0; d-- {
			for p := range numPolys {
				r[p] = t.mul(r[p]) ^ polys[p][d]
			}
		}
	} else {
		var t gfMulTable
		t.init(x)
		for d := k - 1; d >= 0; d-- {
			for p := range numPolys {
				r[p] = t.mul(r[p]) ^ polys[p][d]
			}
		}
	}
	*ys = r
}

// lagrangeBasisCached returns lagrangeBasis(k), computed once per k (the
// v1 messages have four fixed lengths). The result is shared: read only.
func lagrangeBasisCached(k int) [][]uint16 {
	if k >= len(basisCache) {
		return lagrangeBasis(k)
	}
	c := &basisCache[k]
	c.once.Do(func() { c.basis = lagrangeBasis(k) })
	return c.basis
}

var basisCache [ekSize/chunkSize + 1]struct {
	once  sync.Once
	basis [][]uint16
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

// lagrangeBasis returns, for the points x = 0..k-1, the coefficients
// (constant term first) of the Lagrange basis polynomials
// l_j(X) = prod_{m != j} (X - m) / (j - m).
func lagrangeBasis(k int) [][]uint16 {
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
	basis := make([][]uint16, k)
	for j := range k {
		// q = full / (X - j) by synthetic division.
		q := make([]uint16, k)
		var carry uint16
		for d := k; d >= 1; d-- {
			carry = full[d] ^ gfMul(carry, uint16(j))
			q[d-1] = carry
		}
		// q(j) = prod_{m != j} (j - m).
		inv := gfInv(evalPoly(q, uint16(j)))
		for d := range q {
			q[d] = gfMul(q[d], inv)
		}
		basis[j] = q
	}
	return basis
}

// combine sets out (len(ys) coefficients) to sum_j ys[j] · basis[j], the
// polynomial through (j, ys[j]).
func combine(out []uint16, basis [][]uint16, ys []uint16) {
	clear(out)
	for j, y := range ys {
		if y == 0 {
			continue
		}
		for d, c := range basis[j] {
			out[d] ^= gfMul(c, y)
		}
	}
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
//
// The point slices are never changed in place below their length: add
// appends, or rebuilds the slices when it must insert or overwrite, so a copy
// of the struct is a snapshot (undo.go).
type decoder struct {
	ptsNeeded uint32            // L/2, the total number of symbols
	pts       [numPolys][]point // sorted by x
}

// newDecoder starts a decoder for a message of n bytes (a positive multiple
// of 32).
func newDecoder(n int) *decoder {
	return &decoder{ptsNeeded: uint32(n / 2)}
}

// reserve gives an empty decoder room for k points per polynomial in one
// allocation (made on the first chunk, not for decoders that stay empty).
func (d *decoder) reserve() {
	for p := range numPolys {
		if cap(d.pts[p]) != 0 {
			return
		}
	}
	k := d.k()
	backing := make([]point, numPolys*k)
	for p := range numPolys {
		d.pts[p] = backing[p*k : p*k : (p+1)*k]
	}
}

// rebuild moves the points to a new backing array, with room for one more
// point per polynomial, so that add can change them in place.
func (d *decoder) rebuild() {
	var n int
	for p := range numPolys {
		n += len(d.pts[p]) + 1
	}
	backing := make([]point, n)
	off := 0
	for p := range numPolys {
		l := len(d.pts[p])
		copy(backing[off:], d.pts[p])
		d.pts[p] = backing[off : off+l : off+l+1]
		off += l + 1
	}
}

// k returns the number of points each polynomial needs.
func (d *decoder) k() int { return int(d.ptsNeeded) / numPolys }

// add stores chunk i.
func (d *decoder) add(i uint16, c *[chunkSize]byte) {
	k := d.k()
	d.reserve()
	// A chunk that overwrites a point or lands between points changes the
	// slices in place: rebuild them first (rare: repeated or reordered
	// chunks). Appending at the end needs no copy.
	for p := range numPolys {
		pts := d.pts[p]
		at, found := slices.BinarySearchFunc(pts, i, cmpPoint)
		if found || (at < len(pts) && (int(i) < k || len(pts) < k)) {
			d.rebuild()
			break
		}
	}
	for p := range numPolys {
		y := binary.BigEndian.Uint16(c[2*p:])
		pts := d.pts[p]
		at, found := slices.BinarySearchFunc(pts, i, cmpPoint)
		if found {
			pts[at].y = y
			continue
		}
		if int(i) < k || len(pts) < k {
			d.pts[p] = slices.Insert(pts, at, point{i, y})
		}
	}
}

func cmpPoint(a point, x uint16) int { return int(a.x) - int(x) }

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
	var (
		baseXs  []uint16
		weights [][]uint16 // weights[x][j] for the current base
	)
	for p := range numPolys {
		pts := d.pts[p]
		base := pts[:k] // the k lowest-x points
		if weights == nil || !sameXs(baseXs, base) {
			baseXs = baseXs[:0]
			for _, pt := range base {
				baseXs = append(baseXs, pt.x)
			}
			weights = lagrangeWeights(baseXs, k)
		}
		for x := range k {
			var y uint16
			at, found := slices.BinarySearchFunc(pts, uint16(x), cmpPoint)
			if found {
				y = pts[at].y
			} else {
				for j, pt := range base {
					y ^= gfMul(weights[x][j], pt.y)
				}
			}
			binary.BigEndian.PutUint16(out[2*(x*numPolys+p):], y)
		}
	}
	return out
}

func sameXs(xs []uint16, pts []point) bool {
	if len(xs) != len(pts) {
		return false
	}
	for i, pt := range pts {
		if xs[i] != pt.x {
			return false
		}
	}
	return true
}

// lagrangeWeights returns w[x][j] = prod_{m != j} (x - xs[m]) / (xs[j] - xs[m])
// for x = 0..k-1 (rows for x in xs are left nil: those values are stored).
func lagrangeWeights(xs []uint16, k int) [][]uint16 {
	den := make([]uint16, len(xs))
	for j, xj := range xs {
		d := uint16(1)
		for m, xm := range xs {
			if m != j {
				d = gfMul(d, xj^xm)
			}
		}
		den[j] = d
	}
	w := make([][]uint16, k)
	for x := range k {
		if slices.Contains(xs, uint16(x)) {
			continue
		}
		all := uint16(1) // prod_m (x - xs[m]), non-zero as x is not in xs
		for _, xm := range xs {
			all = gfMul(all, uint16(x)^xm)
		}
		w[x] = make([]uint16, len(xs))
		for j, xj := range xs {
			w[x][j] = gfDiv(all, gfMul(uint16(x)^xj, den[j]))
		}
	}
	return w
}
