package session_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/session"
)

// TestSteadyStateAllocations: on an established session over a
// MemoryStore, Encrypt and Decrypt allocate only the transaction and their
// result (the ciphertext, the plaintext): the record is neither decoded
// nor encoded, and the Manager's operation, closures and parsed message
// come from pools.
func TestSteadyStateAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop objects at random")
	}
	for _, spqr := range []bool{false, true} {
		name := "classical"
		if spqr {
			name = "SPQR"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			alice, bob := newEstablishedPair(t, pqxdh, withOptions(session.WithSPQR(spqr)))
			roundTrips(t, alice, bob, 3)
			msg := make([]byte, 100)
			var err error
			encAllocs := testing.AllocsPerRun(200, func() {
				_, err = alice.m.Encrypt(ctx, bob.addr, msg)
			})
			require.NoError(t, err)
			assert.LessOrEqual(t, encAllocs, 2.0, "Encrypt allocations")

			cts := make([]session.Ciphertext, 201)
			for i := range cts {
				cts[i] = alice.send(t, bob, "0123456789")
			}
			i := 0
			decAllocs := testing.AllocsPerRun(200, func() {
				_, err = bob.m.Decrypt(ctx, alice.addr, cts[i])
				i++
			})
			require.NoError(t, err)
			assert.LessOrEqual(t, decAllocs, 2.0, "Decrypt allocations")
		})
	}
}
