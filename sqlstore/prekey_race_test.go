package sqlstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ratchetlab/signal/session"
	"github.com/ratchetlab/signal/sqlstore"
	"github.com/stretchr/testify/require"
)

// TestOneTimePreKeyRace has two peers start sessions with the same
// one-time pre-key (a server handed it out twice) and two Stores on one
// database (two processes) receive their first messages at the same time:
// the second waits until the first has loaded the pre-key. Exactly one
// receive succeeds; the other finds the pre-key gone
// (session.ErrInvalidPreKeyID) rather than using it a second time.
func TestOneTimePreKeyRace(t *testing.T) {
	forEachDB(t, func(t *testing.T, tg target) {
		ctx := context.Background()
		k := newBobKeys(t, 1)
		setup := tg.open(t)
		k.install(t, setup)
		_, err := setup.DB().Exec(messagesTable)
		require.NoError(t, err)

		loaded := make(chan struct{})
		var once sync.Once
		first := tg.open(t, sqlstore.WithFaultHook(func(op string) error {
			if op == "LoadPreKey" {
				once.Do(func() {
					close(loaded)
					// Hold the transaction open while the other
					// process tries.
					time.Sleep(300 * time.Millisecond)
				})
			}
			return nil
		}))
		second := tg.open(t)
		carol := session.Address{Name: "carol", DeviceID: 1}
		ct1, err := newAlice(t, k, 0).Encrypt(ctx, bobAddr, body(1))
		require.NoError(t, err)
		ct2, err := newAlice(t, k, 0).Encrypt(ctx, bobAddr, body(2))
		require.NoError(t, err)

		var err1, err2 error
		var wg sync.WaitGroup
		wg.Go(func() { err1 = receive(ctx, first, aliceAddr, ct1, saveMessage("alice")) })
		<-loaded
		wg.Go(func() { err2 = receive(ctx, second, carol, ct2, saveMessage("carol")) })
		wg.Wait()
		require.NoError(t, err1)
		require.ErrorIs(t, err2, session.ErrInvalidPreKeyID)
		require.Equal(t, 1, countMessages(t, setup, "alice", 1))
		require.Equal(t, 0, countMessages(t, setup, "carol", 2))
		r, err := setup.Stores().Sessions.LoadSession(ctx, carol)
		require.NoError(t, err)
		require.Nil(t, r)
	})
}
