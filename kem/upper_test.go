package kem_test

import (
	"testing"

	"github.com/cloudflare/circl/kem/kyber/kyber1024"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/internal/cpu"
	"github.com/ratchetlab/signal/kem"
)

// TestLeavesUpperStateClean checks, through the processor's XINUSE bitmap,
// that every public function that runs circl's AVX2 code clears the upper
// YMM state before returning (see BenchmarkHMACAfterKEM for why).
func TestLeavesUpperStateClean(t *testing.T) {
	if _, ok := cpu.UpperStateDirty(); !ok {
		t.Skip("upper AVX state not observable on this CPU")
	}
	pubBytes, _ := libsignalKeys(t, kem.Kyber1024)

	// Control: circl itself leaves the state dirty, so the check below
	// can fail.
	cpk := new(kyber1024.PublicKey)
	cpk.Unpack(pubBytes[1:])
	ct := make([]byte, kyber1024.CiphertextSize)
	ss := make([]byte, kyber1024.SharedKeySize)
	cpk.EncapsulateTo(ct, ss, make([]byte, 32))
	if dirty, _ := cpu.UpperStateDirty(); !dirty {
		t.Skip("circl left the upper state clean here (no AVX2 path, or cleared by the race runtime)")
	}
	cpu.VZeroUpper()

	for _, typ := range types {
		pubBytes, secBytes := libsignalKeys(t, typ)
		pk, err := kem.ParsePublicKey(pubBytes)
		dirty, _ := cpu.UpperStateDirty()
		require.NoError(t, err)
		assert.False(t, dirty, "%v ParsePublicKey", typ)

		sk, err := kem.ParseSecretKey(secBytes)
		dirty, _ = cpu.UpperStateDirty()
		require.NoError(t, err)
		assert.False(t, dirty, "%v ParseSecretKey", typ)

		_, err = kem.GenerateKey(typ)
		dirty, _ = cpu.UpperStateDirty()
		require.NoError(t, err)
		assert.False(t, dirty, "%v GenerateKey", typ)

		c, _, err := pk.Encapsulate()
		dirty, _ = cpu.UpperStateDirty()
		require.NoError(t, err)
		assert.False(t, dirty, "%v Encapsulate", typ)

		_, err = sk.Decapsulate(c)
		dirty, _ = cpu.UpperStateDirty()
		require.NoError(t, err)
		assert.False(t, dirty, "%v Decapsulate", typ)
	}
}
