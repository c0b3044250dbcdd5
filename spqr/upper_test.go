package spqr

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/cloudflare/circl/kem/mlkem/mlkem768"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/internal/cpu"
)

// TestLeavesUpperStateClean checks, through the processor's XINUSE bitmap,
// that every helper running circl's ML-KEM/Kyber code (AVX2 on amd64)
// clears the upper YMM state before it returns, as package kem does.
func TestLeavesUpperStateClean(t *testing.T) {
	if _, ok := cpu.UpperStateDirty(); !ok {
		t.Skip("upper AVX state not observable on this CPU")
	}
	// Control: circl itself leaves the state dirty, so the checks can fail.
	pk, _, err := mlkem768.GenerateKeyPair(rand.Reader)
	require.NoError(t, err)
	ct := make([]byte, mlkem768.CiphertextSize)
	ss := make([]byte, mlkem768.SharedKeySize)
	pk.EncapsulateTo(ct, ss, make([]byte, 32))
	if dirty, _ := cpu.UpperStateDirty(); !dirty {
		t.Skip("circl left the upper state clean here (no AVX2 path, or cleared by the race runtime)")
	}
	cpu.VZeroUpper()

	clean := func(what string) {
		t.Helper()
		dirty, _ := cpu.UpperStateDirty()
		assert.False(t, dirty, what)
	}
	hdr, ek, dk, err := generate(rand.Reader)
	clean("generate")
	require.NoError(t, err)
	_, _, _, ok := keyPairFromDK(dk)
	clean("keyPairFromDK")
	require.True(t, ok)
	ct1, es, _, err := encaps1(hdr, rand.Reader)
	clean("encaps1")
	require.NoError(t, err)
	assert.True(t, ekMatchesHeader(ek, hdr))
	clean("ekMatchesHeader")
	ct2 := encaps2(ek, hdr, es)
	clean("encaps2")
	_, err = decaps(dk, ct1, ct2)
	clean("decaps")
	require.NoError(t, err)
	assert.False(t, bytes.Equal(ct1, ct2))
}
