package spqr

import (
	"encoding/hex"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// vectorMessage is the §6 test message: byte i = (31·i² + 7·i + 5) mod 256.
func vectorMessage(n int) []byte {
	m := make([]byte, n)
	for i := range m {
		m[i] = byte(31*i*i + 7*i + 5)
	}
	return m
}

func TestGF16(t *testing.T) {
	// x^16 = x^12 + x^3 + x + 1 in this field.
	assert.Equal(t, uint16(0x100b), gfMul(0x8000, 2))
	assert.Equal(t, uint16(0), gfMul(0, 0x1234))
	assert.Equal(t, uint16(0), gfDiv(7, 0))
	for _, a := range []uint16{1, 2, 3, 0x100b, 0x8000, 0xffff, 0x1234} {
		assert.Equal(t, uint16(1), gfMul(a, gfInv(a)), "inverse of %#x", a)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		a, b := uint16(r.Uint32()), uint16(r.Uint32())
		require.Equal(t, gfMulSlow(a, b), gfMul(a, b), "%#x * %#x", a, b)
	}
	for range 1000 {
		a, b, c := uint16(r.Uint32()), uint16(r.Uint32()), uint16(r.Uint32())
		assert.Equal(t, gfMul(a, b), gfMul(b, a))
		assert.Equal(t, gfMul(a, gfAdd(b, c)), gfAdd(gfMul(a, b), gfMul(a, c)))
		assert.Equal(t, gfMul(gfMul(a, b), c), gfMul(a, gfMul(b, c)))
		if b != 0 {
			assert.Equal(t, a, gfDiv(gfMul(a, b), b))
		}
	}
}

func TestErasureVectors(t *testing.T) {
	for _, v := range []struct {
		n     int
		chunk uint16
		want  string
	}{
		{96, 3, "258b2f11318f2b059df387d9e9b7438d15dbdfa1215f5b950dc337695907731d"},
		{96, 1000, "342d5c982029588c95cda108a25b0639512560d527391e21493d1fe07e9ca01e"},
		{160, 5, "56565ccc425258d85d33449919ea004dd69b9fe152021855ce8347b41ac780c0"},
		{960, 30, "45ebcff151efcbe53dd3a7b90997636db53bff0141bf7b75ad23d7c9f96713fd"},
		{1152, 36, "2f79a5633b7da1777d93a82eacd2ec7abaac3fc12badf462a2b4f20c7670f96f"},
		{1152, 1000, "f5d840ece1dc44f80cdd3f47d4f8038512ebb90ccd361b9d0af3f2b0a6a1d759"},
	} {
		e := newEncoder(vectorMessage(v.n))
		c := e.chunk(v.chunk)
		assert.Equal(t, v.want, hex.EncodeToString(c[:]), "L=%d chunk %d", v.n, v.chunk)
	}
	e := newEncoder(vectorMessage(96))
	e.chunk(3)
	assert.Equal(t, []uint16{0x052b, 0x6f59, 0x8fb9}, e.polys[0])
}

func TestErasureSystematic(t *testing.T) {
	msg := vectorMessage(160)
	e := newEncoder(msg)
	for i := range 5 {
		idx, c := e.next()
		assert.Equal(t, uint16(i), idx)
		assert.Equal(t, msg[32*i:32*i+32], c[:])
	}
	// Switching to the polynomial form keeps the systematic chunks.
	e.chunk(9)
	for i := range 5 {
		c := e.chunk(uint16(i))
		assert.Equal(t, msg[32*i:32*i+32], c[:])
	}
}

// TestErasureAnyK checks that any k distinct chunks, in any order and with
// duplicates, recover the message.
func TestErasureAnyK(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{32, 96, 160, 960, 1152} {
		for trial := range 20 {
			msg := make([]byte, n)
			for i := range msg {
				msg[i] = byte(r.Uint32())
			}
			k := n / 32
			e := newEncoder(msg)
			// Choose k distinct indices among the first 3k and a few far ones.
			pool := r.Perm(3 * k)
			if trial%4 == 0 {
				pool[0] = 60000 + trial
			}
			d := newDecoder(n)
			for j, x := range pool[:k] {
				require.False(t, d.complete(), "complete after %d of %d chunks", j, k)
				c := e.chunk(uint16(x))
				d.add(uint16(x), &c)
				if j == 0 {
					d.add(uint16(x), &c) // a duplicate changes nothing
				}
			}
			require.True(t, d.complete(), "L=%d", n)
			assert.Equal(t, msg, d.decode(), "L=%d indices %v", n, pool[:k])
		}
	}
}

func TestEncoderWraps(t *testing.T) {
	e := newEncoder(vectorMessage(96))
	e.idx = 0xffff
	i, _ := e.next()
	assert.Equal(t, uint16(0xffff), i)
	i, _ = e.next()
	assert.Equal(t, uint16(0), i)
}

func BenchmarkErasure(b *testing.B) {
	msg := vectorMessage(1152)
	b.Run("EncodeParity1152", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e := newEncoder(msg)
			e.chunk(36)
		}
	})
	b.Run("Decode1152", func(b *testing.B) {
		e := newEncoder(msg)
		chunks := make([][chunkSize]byte, 72)
		for i := range chunks {
			chunks[i] = e.chunk(uint16(i))
		}
		b.ReportAllocs()
		for b.Loop() {
			d := newDecoder(1152)
			for i := 36; i < 72; i++ {
				d.add(uint16(i), &chunks[i])
			}
			d.decode()
		}
	})
}

// TestEvalPolysMatchesEvalPoly checks the nibble-table evaluation of the
// encoder against Horner's rule with the log/exp-table multiplication
// (itself checked against shift-and-add in TestGF16), at every x.
func TestEvalPolysMatchesEvalPoly(t *testing.T) {
	for _, k := range []int{3, 5, 30, 36} { // both table kinds
		var polys [numPolys][]uint16
		for p := range polys {
			polys[p] = make([]uint16, k)
			for d := range polys[p] {
				polys[p][d] = uint16(p*7919 + d*104729 + d*d*31)
			}
		}
		polys[3] = make([]uint16, k) // the zero polynomial
		if k == 30 {
			polys[5] = polys[5][:7] // unequal lengths (not from an encoder)
		}
		var ys [numPolys]uint16
		for x := range 1 << 16 {
			evalPolys(&ys, &polys, uint16(x))
			for p := range numPolys {
				if want := evalPoly(polys[p], uint16(x)); ys[p] != want {
					t.Fatalf("k=%d: poly %d at x=%d: got %#x, want %#x", k, p, x, ys[p], want)
				}
			}
		}
	}
}
