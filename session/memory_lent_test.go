package session_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/session"
)

// A record lent to a transaction and kept after Atomic returned must not
// show another session: its memory is reused once the store is done with
// it. It may refuse to encode, or still show its own address's session,
// but it must never turn into the record of another address.
func TestMemoryLentRecordKeptAfterEnd(t *testing.T) {
	ctx := context.Background()
	bob := newParty(t, "bob", 2)
	alice := newParty(t, "alice", 1)
	carol := newParty(t, "carol", 3)
	for _, p := range []*party{alice, carol} {
		p.startSession(t, bob, pqxdh)
		roundTrips(t, p, bob, 1)
	}
	for i := range 20 {
		var lent *session.Record
		require.NoError(t, bob.store.Atomic(ctx, alice.addr, func(ctx context.Context, tx session.Stores) error {
			var err error
			lent, err = tx.Sessions.LoadSession(ctx, alice.addr)
			require.NoError(t, err)
			return tx.Sessions.StoreSession(ctx, alice.addr, lent)
		}))
		// The store replaces alice's record, then works for carol.
		alice.recv(t, bob, bob.send(t, alice, "to alice"))
		carol.recv(t, bob, bob.send(t, carol, "to carol"))

		if _, err := lent.MarshalBinary(); err != nil {
			continue // refused: fine
		}
		info, ok := lent.Info()
		require.True(t, ok, "round %d: the record lent for alice, kept after Atomic returned, was wiped under its holder", i)
		if info.RemoteIdentity != alice.id.PublicKey() {
			whose := "an unknown peer's"
			for _, s := range []struct {
				name string
				rec  *party
				peer *party
			}{{"bob's session with carol", bob, carol}, {"carol's (another store's) session with bob", carol, bob}, {"alice's (another store's) session with bob", alice, bob}} {
				if info.LocalIdentity == s.rec.id.PublicKey() && info.RemoteIdentity == s.peer.id.PublicKey() {
					whose = s.name
				}
			}
			require.Failf(t, "a lent record kept after Atomic returned shows another session",
				"round %d: bob's record for alice, lent to a finished transaction, now holds %s", i, whose)
		}
	}
}
