package spqr

import (
	"bytes"
	"crypto/sha3"
	"math/rand/v2"
	"testing"

	"github.com/cloudflare/circl/kem/mlkem/mlkem768"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chacha is a deterministic io.Reader for tests.
func chacha(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	s[1] = byte(seed >> 8)
	return rand.NewChaCha8(s)
}

func TestIncrementalMLKEM(t *testing.T) {
	rnd := chacha(1)
	for range 5 {
		var seed [64]byte
		_, _ = rnd.Read(seed[:])
		hdr, ek, dk, err := generate(bytes.NewReader(seed[:]))
		require.NoError(t, err)
		// hdr = rho || SHA3-256(ek) with ek = pk2 || rho, from a standard key.
		pk, _ := mlkem768.NewKeyFromSeed(seed[:])
		var std [mlkem768.PublicKeySize]byte
		pk.Pack(std[:])
		assert.Equal(t, std[:ekSize], ek)
		assert.Equal(t, std[ekSize:], hdr[:32])
		h := sha3.Sum256(std[:])
		assert.Equal(t, h[:], hdr[32:])
		require.True(t, ekMatchesHeader(ek, hdr))

		var m [32]byte
		_, _ = rnd.Read(m[:])
		ct1, es, ss, err := encaps1(hdr, bytes.NewReader(m[:]))
		require.NoError(t, err)
		assert.Equal(t, m[:], es[esSize-mSize:])
		ct2 := encaps2(ek, hdr, es)
		// Without the header, ct2 comes from r_hat and e2 in es.
		assert.Equal(t, ct2, encaps2(ek, nil, es))
		// ct1 || ct2 and ss equal a standard ML-KEM encapsulation with m.
		var ct [mlkem768.CiphertextSize]byte
		var ss2 [32]byte
		pk.EncapsulateTo(ct[:], ss2[:], m[:])
		assert.Equal(t, ct[:ct1Size], ct1)
		assert.Equal(t, ct[ct1Size:], ct2)
		assert.Equal(t, ss2, ss)
		got, err := decaps(dk, ct1, ct2)
		require.NoError(t, err)
		assert.Equal(t, ss, got)
		// Implicit rejection: a modified ct2 gives a different secret.
		ct2[0] ^= 1
		bad, err := decaps(dk, ct1, ct2)
		require.NoError(t, err)
		assert.NotEqual(t, ss, bad)
	}
}

func TestEkMatchesHeader(t *testing.T) {
	hdr, ek, _, err := generate(chacha(2))
	require.NoError(t, err)
	bad := bytes.Clone(ek)
	bad[5] ^= 1
	assert.False(t, ekMatchesHeader(bad, hdr))
	// A coefficient >= 3329 fails the modulus check even with a matching hash.
	bad = bytes.Clone(ek)
	bad[0], bad[1] = 0xff, 0x0f
	var pk [ekSize + 32]byte
	copy(pk[:], bad)
	copy(pk[ekSize:], hdr[:32])
	h := sha3.Sum256(pk[:])
	fake := append(bytes.Clone(hdr[:32]), h[:]...)
	assert.False(t, ekMatchesHeader(bad, fake))
	_, err = decaps(make([]byte, dkSize), make([]byte, ct1Size), make([]byte, ct2Size))
	require.ErrorIs(t, err, ErrStateDecode)
}

func BenchmarkMLKEM(b *testing.B) {
	hdr, ek, dk, _ := generate(chacha(3))
	ct1, es, _, _ := encaps1(hdr, chacha(4))
	ct2 := encaps2(ek, hdr, es)
	b.Run("Generate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _, _, _ = generate(chacha(5))
		}
	})
	b.Run("Encaps1", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _, _, _ = encaps1(hdr, chacha(6))
		}
	})
	b.Run("Encaps2", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			encaps2(ek, hdr, es)
		}
	})
	b.Run("Decaps", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = decaps(dk, ct1, ct2)
		}
	})
}
