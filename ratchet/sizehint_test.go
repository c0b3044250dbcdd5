package ratchet_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/ratchet"
)

// TestSizeHintBoundsEncoding: SizeHint is at least the encoded size, so a
// buffer sized by it takes the encoding without growing, for states with
// and without SPQR, pending pre-keys, several receiving chains and skipped
// keys.
func TestSizeHintBoundsEncoding(t *testing.T) {
	for _, spqr := range []bool{false, true} {
		alice, bob := newPairSPQR(t, ratchet.VersionPQXDH, spqr)
		check := func(s *ratchet.State) {
			t.Helper()
			b := encode(t, s)
			assert.LessOrEqual(t, len(b), s.SizeHint(), "spqr=%t", spqr)
		}
		check(alice)
		check(bob)
		r := rand.New(rand.NewPCG(3, 4))
		for range 60 {
			from, to := alice, bob
			if r.IntN(2) == 0 {
				from, to = bob, alice
			}
			n := 1 + r.IntN(5)
			var ct []byte
			var typ ratchet.MessageType
			for range n {
				var err error
				ct, typ, err = from.Encrypt(nil, []byte("x"))
				require.NoError(t, err)
			}
			m, err := parseAny(t, typ, ct)
			require.NoError(t, err)
			_, err = to.Decrypt(nil, &m) // the others are lost: skipped keys
			require.NoError(t, err)
			check(alice)
			check(bob)
		}
	}
}
