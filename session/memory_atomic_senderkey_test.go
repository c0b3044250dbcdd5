package session_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/senderkey"
	"github.com/ratchetlab/signal/session"
)

// TestMemoryAtomicSenderKeys checks that sender key records written inside
// a MemoryStore transaction are applied only when it commits, and that the
// transaction reads its own writes.
func TestMemoryAtomicSenderKeys(t *testing.T) {
	ctx := context.Background()
	alice := newParty(t, "alice", 1, withTrust(session.TrustAll), withOwnAddress())
	bob := newParty(t, "bob", 1, withTrust(session.TrustAll), withOwnAddress())
	id := newDistributionID(t)
	d, err := alice.groups.CreateDistributionMessage(ctx, id)
	require.NoError(t, err)
	skdm, err := d.MarshalBinary()
	require.NoError(t, err)
	ct, err := alice.groups.Encrypt(ctx, id, []byte("in a transaction"))
	require.NoError(t, err)

	errAbort := errors.New("handler failed")
	run := func(fail bool) error {
		return bob.store.Atomic(ctx, alice.addr, func(ctx context.Context, tx session.Stores) error {
			g := session.NewGroupCipher(tx.SenderKeys, bob.addr)
			if _, err := g.ProcessDistributionMessage(ctx, alice.addr, skdm); err != nil {
				return err
			}
			pt, _, err := g.Decrypt(ctx, alice.addr, ct)
			if err != nil {
				return err
			}
			assert.Equal(t, "in a transaction", string(pt))
			if fail {
				return errAbort
			}
			return nil
		})
	}

	require.ErrorIs(t, run(true), errAbort)
	rec, err := bob.store.LoadSenderKey(ctx, alice.addr, id)
	require.NoError(t, err)
	assert.Nil(t, rec, "an abandoned transaction left a sender key record")

	require.NoError(t, run(false))
	rec, err = bob.store.LoadSenderKey(ctx, alice.addr, id)
	require.NoError(t, err)
	require.NotNil(t, rec, "a committed transaction stored no sender key record")

	// The message was consumed by the committed transaction.
	g := session.NewGroupCipher(bob.store, bob.addr)
	_, _, err = g.Decrypt(ctx, alice.addr, ct)
	assert.ErrorIs(t, err, senderkey.ErrDuplicateMessage, "a message decrypted in a committed transaction decrypted again")
}
