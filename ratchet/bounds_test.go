package ratchet_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/ratchet"
)

// ForwardJump and NeedsDHStep tell the work Decrypt does before the MAC
// check; TrimSkippedKeys drops the oldest skipped keys first.
func TestForwardJumpAndTrim(t *testing.T) {
	alice, bob := newPair(t, ratchet.VersionPQXDH)
	var cts [][]byte
	var typ ratchet.MessageType
	for range 10 {
		ct, ty, err := alice.Encrypt(nil, []byte("m"))
		require.NoError(t, err)
		cts, typ = append(cts, ct), ty
	}
	msg := func(i int) *ratchet.Message {
		m, err := parseAny(t, typ, cts[i])
		require.NoError(t, err)
		return &m
	}
	assert.True(t, bob.NeedsDHStep(msg(0)))
	assert.Equal(t, uint32(9), bob.ForwardJump(msg(9)))
	_, err := bob.Decrypt(nil, msg(9)) // skips 0..8
	require.NoError(t, err)
	assert.False(t, bob.NeedsDHStep(msg(3)))
	assert.Zero(t, bob.ForwardJump(msg(3)), "behind the chain: a skipped key")
	assert.Equal(t, 1, bob.ReceiverChains())
	assert.Equal(t, 9, bob.SkippedKeys())

	bob.TrimSkippedKeys(4) // keeps 5..8
	assert.Equal(t, 4, bob.SkippedKeys())
	_, err = bob.Decrypt(nil, msg(4))
	require.ErrorIs(t, err, ratchet.ErrDuplicateMessage, "trimmed: the oldest went first")
	pt, err := bob.Decrypt(nil, msg(5))
	require.NoError(t, err)
	assert.Equal(t, "m", string(pt))
	bob.TrimSkippedKeys(-1)
	assert.Zero(t, bob.SkippedKeys())
}
