package keys

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/internal/testvectors"
)

// TestLoadPrivateKeyWycheproof runs Wycheproof's X25519 cases through a key
// made by LoadPrivateKey, whose Agree uses this package's ladder rather than
// crypto/ecdh.
func TestLoadPrivateKeyWycheproof(t *testing.T) {
	cases, err := testvectors.X25519()
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	var zero [32]byte
	for _, c := range cases {
		priv, err := LoadPrivateKey(c.Private, PublicKey{})
		require.NoError(t, err, "tcId %d", c.ID)
		pub, err := NewPublicKey(c.Public)
		require.NoError(t, err, "tcId %d", c.ID)
		got, err := priv.Agree(pub)
		if bytes.Equal(c.Shared, zero[:]) {
			assert.ErrorIs(t, err, ErrInvalidKeyAgreement, "tcId %d", c.ID)
			continue
		}
		switch c.Result {
		case testvectors.Valid, testvectors.Acceptable:
			require.NoError(t, err, "tcId %d (%s)", c.ID, c.Comment)
			assert.Equal(t, c.Shared, got[:], "tcId %d (%s)", c.ID, c.Comment)
		default:
			assert.Error(t, err, "tcId %d (%s)", c.ID, c.Comment)
		}
	}
}

// TestLoadPrivateKeyMatchesParse checks a loaded key against the same key
// from ParsePrivateKey on random keys (agreements against crypto/ecdh):
// same scalar, same agreements, same signatures' verification, and the
// stored public key kept as given.
func TestLoadPrivateKeyMatchesParse(t *testing.T) {
	for range 50 {
		var b [32]byte
		_, _ = rand.Read(b[:])
		parsed, err := ParsePrivateKey(b[:])
		require.NoError(t, err)
		loaded, err := LoadPrivateKey(b[:], parsed.PublicKey())
		require.NoError(t, err)
		assert.Equal(t, parsed.Bytes(), loaded.Bytes(), "clamped the same way")
		assert.Equal(t, parsed.PublicKey(), loaded.PublicKey())

		peer, err := ecdh.X25519().GenerateKey(rand.Reader)
		require.NoError(t, err)
		pk, err := NewPublicKey(peer.PublicKey().Bytes())
		require.NoError(t, err)
		ref, err := ecdh.X25519().NewPrivateKey(b[:])
		require.NoError(t, err)
		want, err := ref.ECDH(peer.PublicKey())
		require.NoError(t, err)
		got, err := loaded.Agree(pk)
		require.NoError(t, err)
		assert.Equal(t, want, got[:])

		sig, err := loaded.Sign([]byte("msg"))
		require.NoError(t, err)
		assert.True(t, parsed.PublicKey().VerifySignature(sig, []byte("msg")))
	}
	_, err := LoadPrivateKey(make([]byte, 31), PublicKey{})
	assert.ErrorIs(t, err, ErrKeyLength)
}

// TestLoadPrivateKeyTrustsPublic documents the contract: the public key is
// taken as given, not recomputed.
func TestLoadPrivateKeyTrustsPublic(t *testing.T) {
	a, err := GeneratePrivateKey()
	require.NoError(t, err)
	other, err := GeneratePrivateKey()
	require.NoError(t, err)
	k, err := LoadPrivateKey(a.Bytes(), other.PublicKey())
	require.NoError(t, err)
	assert.Equal(t, other.PublicKey(), k.PublicKey())
	assert.NotContains(t, k.GoString(), fmt.Sprintf("%x", a.Bytes()[:8]))
}

func BenchmarkLoadedAgree(b *testing.B) {
	a, err := GeneratePrivateKey()
	require.NoError(b, err)
	peer, err := GeneratePrivateKey()
	require.NoError(b, err)
	loaded, err := LoadPrivateKey(a.Bytes(), a.PublicKey())
	require.NoError(b, err)
	b.Run("ParsePrivateKey", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, _ := ParsePrivateKey(a.Bytes())
			_, _ = p.Agree(peer.PublicKey())
		}
	})
	b.Run("LoadPrivateKey", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, _ := LoadPrivateKey(a.Bytes(), a.PublicKey())
			_, _ = p.Agree(peer.PublicKey())
		}
	})
	b.Run("AgreeOnly/ecdh", func(b *testing.B) {
		for b.Loop() {
			_, _ = a.Agree(peer.PublicKey())
		}
	})
	b.Run("AgreeOnly/loaded", func(b *testing.B) {
		for b.Loop() {
			_, _ = loaded.Agree(peer.PublicKey())
		}
	})
}
