package ratchet_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/ratchet"
)

// TestUsedSkippedKeyWiped: a skipped message key that decrypted its
// message leaves no copy in the chain's memory, whichever position it had
// (the last one used to stay past the slice's end).
func TestUsedSkippedKeyWiped(t *testing.T) {
	for _, order := range [][]int{{2, 1, 0}, {0, 1, 2}, {1, 0, 2}} {
		alice, bob := newPair(t, ratchet.VersionPQXDH)
		var msgs []ratchet.Message
		for range 4 {
			ct, typ, err := alice.Encrypt(nil, []byte("x"))
			require.NoError(t, err)
			m, err := parseAny(t, typ, ct)
			require.NoError(t, err)
			msgs = append(msgs, m)
		}
		_, err := bob.Decrypt(nil, &msgs[3]) // skips 0, 1, 2
		require.NoError(t, err)
		before := ratchet.SkippedSeeds(bob)
		var live [][32]byte
		for _, s := range before {
			if s != ([32]byte{}) {
				live = append(live, s)
			}
		}
		require.Len(t, live, 3)
		for _, i := range order {
			_, err := bob.Decrypt(nil, &msgs[i])
			require.NoError(t, err)
		}
		for _, s := range ratchet.SkippedSeeds(bob) {
			assert.Equal(t, [32]byte{}, s, "order %v: a used key is still in memory", order)
		}
	}
}
