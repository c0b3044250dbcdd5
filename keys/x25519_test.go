package keys

import (
	"crypto/ecdh"
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMatchesECDH checks public keys (the Edwards fixed-base path) and
// agreements (the ladder) against crypto/ecdh, an independent
// implementation, on random scalars, including unclamped inputs.
func TestMatchesECDH(t *testing.T) {
	for range 200 {
		var b [32]byte
		_, _ = rand.Read(b[:])
		ours, err := ParsePrivateKey(b[:])
		require.NoError(t, err)
		ref, err := ecdh.X25519().NewPrivateKey(b[:])
		require.NoError(t, err)
		assert.Equal(t, ref.PublicKey().Bytes(), ours.PublicKey().Bytes()[1:])

		peer, err := ecdh.X25519().GenerateKey(rand.Reader)
		require.NoError(t, err)
		want, err := ref.ECDH(peer.PublicKey())
		require.NoError(t, err)
		pk, err := NewPublicKey(peer.PublicKey().Bytes())
		require.NoError(t, err)
		got, err := ours.Agree(pk)
		require.NoError(t, err)
		assert.Equal(t, want, got[:])
	}
}

// TestRFC7748KeyPairs: the key pairs and shared secret of RFC 7748 §6.1.
func TestRFC7748KeyPairs(t *testing.T) {
	alice, err := ParsePrivateKey(unhex(t, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
	require.NoError(t, err)
	bob, err := ParsePrivateKey(unhex(t, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))
	require.NoError(t, err)
	assert.Equal(t, unhex(t, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"), alice.PublicKey().Bytes()[1:])
	assert.Equal(t, unhex(t, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"), bob.PublicKey().Bytes()[1:])
	s, err := alice.Agree(bob.PublicKey())
	require.NoError(t, err)
	assert.Equal(t, unhex(t, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"), s[:])
	s2, err := bob.Agree(alice.PublicKey())
	require.NoError(t, err)
	assert.Equal(t, s, s2)
}

func BenchmarkKeyPair(b *testing.B) {
	b.Run("Generate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := GeneratePrivateKey(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Agree", func(b *testing.B) {
		k, err := GeneratePrivateKey()
		require.NoError(b, err)
		peer, err := GeneratePrivateKey()
		require.NoError(b, err)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := k.Agree(peer.PublicKey()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
