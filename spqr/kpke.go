package spqr

import (
	"crypto/sha3"
	"encoding/binary"
)

// The K-PKE pieces (FIPS 203 §4.3 and Algorithms 8–12) needed to read and
// write libcrux's 2080-byte encapsulation state es = r_hat (3 polynomials)
// || e2 (1 polynomial), each 256 × i16 little-endian, || m (32 bytes)
// (spqr src/incremental_mlkem768.rs). ct1 and, whenever the header is known, ct2 are computed
// with circl; this code produces the r_hat and e2 that libsignal stores,
// and computes ct2 = ByteEncode4(Compress4(InvNTT(t_hat ∘ r_hat) + e2 +
// Decompress1(m))) in the one state that no longer holds the header
// (EkReceivedCt1Sampled), where r cannot be re-derived from m.
//
// libcrux keeps r_hat in the plain (non-Montgomery) NTT domain with centred
// coefficients in [-(q-1)/2, (q-1)/2], as written here (checked byte for
// byte against libsignal 0.103.0's states). States written by
// old libcrux versions hold every i16 big-endian (libcrux issue 1275); they
// are recognised by e2, whose coefficients lie in [-2, 2].

const (
	kyberQ   = 3329
	kyberN   = 256
	kyberK   = 3
	esPolys  = kyberK + 1
	invN128  = 3303 // 128^-1 mod q
	kyberEta = 2    // η1 = η2 = 2 for ML-KEM-768
)

// zetas[i] = 17^BitRev7(i) mod q; gammas[i] = 17^(2·BitRev7(i)+1) mod q.
var zetas, gammas = func() (z, g [128]int32) {
	pow := func(e int) int32 {
		r := int32(1)
		for range e {
			r = r * 17 % kyberQ
		}
		return r
	}
	for i := range 128 {
		br := 0
		for b := range 7 {
			br |= (i >> b & 1) << (6 - b)
		}
		z[i] = pow(br)
		g[i] = pow(2*br + 1)
	}
	return z, g
}()

type poly [kyberN]int32 // coefficients in [0, q)

func modq(x int32) int32 {
	x %= kyberQ
	if x < 0 {
		x += kyberQ
	}
	return x
}

// cbd2 is SamplePolyCBD_2 (Algorithm 8) of PRF_2(s, n) = SHAKE256(s || n).
func cbd2(s []byte, n byte) poly {
	var buf [64 * kyberEta]byte
	h := sha3.NewSHAKE256()
	h.Write(s)
	h.Write([]byte{n})
	h.Read(buf[:])
	var f poly
	for i := range kyberN {
		bits := buf[i/2] >> (4 * (i % 2)) // four bits per coefficient
		x := int32(bits&1) + int32(bits>>1&1)
		y := int32(bits>>2&1) + int32(bits>>3&1)
		f[i] = modq(x - y)
	}
	clear(buf[:])
	return f
}

// ntt is Algorithm 9.
func (f *poly) ntt() {
	i := 1
	for l := 128; l >= 2; l /= 2 {
		for start := 0; start < kyberN; start += 2 * l {
			z := zetas[i]
			i++
			for j := start; j < start+l; j++ {
				t := z * f[j+l] % kyberQ
				f[j+l] = modq(f[j] - t)
				f[j] = (f[j] + t) % kyberQ
			}
		}
	}
}

// invNTT is Algorithm 10.
func (f *poly) invNTT() {
	i := 127
	for l := 2; l <= 128; l *= 2 {
		for start := 0; start < kyberN; start += 2 * l {
			z := zetas[i]
			i--
			for j := start; j < start+l; j++ {
				t := f[j]
				f[j] = (t + f[j+l]) % kyberQ
				f[j+l] = z * modq(f[j+l]-t) % kyberQ
			}
		}
	}
	for j := range f {
		f[j] = f[j] * invN128 % kyberQ
	}
}

// mulAddNTT adds f ∘ g (Algorithms 11 and 12) to acc.
func (acc *poly) mulAddNTT(f, g *poly) {
	for i := range 128 {
		a0, a1, b0, b1 := f[2*i], f[2*i+1], g[2*i], g[2*i+1]
		c0 := (a0*b0 + a1*b1%kyberQ*gammas[i]) % kyberQ
		c1 := (a0*b1 + a1*b0) % kyberQ
		acc[2*i] = (acc[2*i] + c0) % kyberQ
		acc[2*i+1] = (acc[2*i+1] + c1) % kyberQ
	}
}

// libcruxES returns es = r_hat || e2 || m for the encapsulation of m under
// the key whose hash is hEK, with the centred representatives, little-endian.
func libcruxES(m, hEK []byte) []byte {
	var in [mSize + 32]byte
	copy(in[:], m)
	copy(in[mSize:], hEK)
	kr := sha3.Sum512(in[:])
	r := kr[32:]
	es := make([]byte, esSize)
	for i := range kyberK {
		p := cbd2(r, byte(i))
		p.ntt()
		putPoly(es[2*kyberN*i:], &p)
	}
	e2 := cbd2(r, 2*kyberK) // N = 6 after r (0..2) and e1 (3..5)
	putPoly(es[2*kyberN*kyberK:], &e2)
	copy(es[esSize-mSize:], m)
	clear(kr[:])
	return es
}

func putPoly(b []byte, p *poly) {
	for j, c := range p {
		if c > kyberQ/2 {
			c -= kyberQ
		}
		binary.LittleEndian.PutUint16(b[2*j:], uint16(int16(c)))
	}
}

// esOrder reports the byte order of an es: little-endian (current libcrux
// and this package) or big-endian (libcrux issue 1275), told apart by e2,
// whose coefficients lie in [-2, 2]. ok is false for neither.
func esOrder(es []byte) (order binary.ByteOrder, ok bool) {
	if len(es) != esSize {
		return nil, false
	}
	for _, o := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		good := true
		for j := range kyberN {
			v := int16(o.Uint16(es[2*kyberN*kyberK+2*j:]))
			if v < -kyberEta || v > kyberEta {
				good = false
				break
			}
		}
		if good {
			return o, true
		}
	}
	return nil, false
}

// getPoly reads a stored polynomial (any i16 representatives) modulo q.
func getPoly(b []byte, o binary.ByteOrder) poly {
	var p poly
	for j := range p {
		p[j] = modq(int32(int16(o.Uint16(b[2*j:]))))
	}
	return p
}

// ct2FromES computes ct2 from pk2 = ByteEncode12(t_hat) and es.
func ct2FromES(ek, es []byte) ([]byte, bool) {
	o, ok := esOrder(es)
	if !ok {
		return nil, false
	}
	var v poly
	for i := range kyberK {
		var t poly
		for j := 0; j < kyberN; j += 2 {
			b := ek[384*i+3*j/2:]
			t[j] = int32(b[0]) | int32(b[1]&0x0f)<<8
			t[j+1] = int32(b[1]>>4) | int32(b[2])<<4
			if t[j] >= kyberQ || t[j+1] >= kyberQ {
				return nil, false
			}
		}
		rh := getPoly(es[2*kyberN*i:], o)
		v.mulAddNTT(&t, &rh)
	}
	v.invNTT()
	e2 := getPoly(es[2*kyberN*kyberK:], o)
	m := es[esSize-mSize:]
	ct2 := make([]byte, ct2Size)
	for j := range kyberN {
		x := (v[j] + e2[j]) % kyberQ
		if m[j/8]>>(j%8)&1 == 1 {
			x = (x + (kyberQ+1)/2) % kyberQ
		}
		// Compress4: round(16·x / q) mod 16.
		c := byte(((x<<4)+kyberQ/2)/kyberQ) & 0x0f
		ct2[j/2] |= c << (4 * (j % 2))
	}
	return ct2, true
}

// ekValid reports whether every 12-bit value of pk2 is below q (the FIPS 203
// modulus check).
func ekValid(ek []byte) bool {
	if len(ek) != ekSize {
		return false
	}
	for j := 0; j+3 <= len(ek); j += 3 {
		if int32(ek[j])|int32(ek[j+1]&0x0f)<<8 >= kyberQ || int32(ek[j+1]>>4)|int32(ek[j+2])<<4 >= kyberQ {
			return false
		}
	}
	return true
}
