package sqlstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ratchetlab/signal/senderkey"
	"github.com/ratchetlab/signal/session"
	"github.com/stretchr/testify/require"
)

// TestSenderKeys stores and loads sender key records, then runs a group
// conversation (libsignal's format) with both members' records in the
// database, and checks that a failed Atomic leaves the receiver's record
// as it was.
func TestSenderKeys(t *testing.T) {
	forEachDB(t, func(t *testing.T, tg target) {
		ctx := context.Background()
		s := tg.open(t)
		st := s.Stores()
		id, err := senderkey.NewDistributionID()
		require.NoError(t, err)
		other, err := senderkey.NewDistributionID()
		require.NoError(t, err)

		r, err := st.SenderKeys.LoadSenderKey(ctx, aliceAddr, id)
		require.NoError(t, err)
		require.Nil(t, r)
		rec, err := senderkey.NewSenderKey()
		require.NoError(t, err)
		require.NoError(t, st.SenderKeys.StoreSenderKey(ctx, aliceAddr, id, rec))
		r, err = tg.open(t).Stores().SenderKeys.LoadSenderKey(ctx, aliceAddr, id)
		require.NoError(t, err)
		require.Equal(t, mustBytes(t, rec), mustBytes(t, r))
		for _, miss := range []struct {
			addr session.Address
			id   senderkey.DistributionID
		}{{bobAddr, id}, {aliceAddr, other}, {session.Address{Name: "alice", DeviceID: 2}, id}} {
			r, err = st.SenderKeys.LoadSenderKey(ctx, miss.addr, miss.id)
			require.NoError(t, err)
			require.Nil(t, r)
		}

		// Carol (in memory) sends to the group; Bob keeps her key in the
		// database.
		sender := session.Address{Name: "carol", DeviceID: 1}
		carol := session.NewGroupCipher(session.NewMemoryStore(nil, 1, session.TrustAll), sender)
		bob := session.NewGroupCipher(st.SenderKeys, bobAddr)
		skdm, err := carol.CreateDistributionMessage(ctx, other)
		require.NoError(t, err)
		raw, err := skdm.MarshalBinary()
		require.NoError(t, err)
		_, err = bob.ProcessDistributionMessage(ctx, sender, raw)
		require.NoError(t, err)
		ct1, err := carol.Encrypt(ctx, other, []byte("one"))
		require.NoError(t, err)
		ct2, err := carol.Encrypt(ctx, other, []byte("two"))
		require.NoError(t, err)

		before, err := st.SenderKeys.LoadSenderKey(ctx, sender, other)
		require.NoError(t, err)
		errBoom := errors.New("boom")
		err = s.Atomic(ctx, sender, func(ctx context.Context, tx session.Stores) error {
			pt, _, err := session.NewGroupCipher(tx.SenderKeys, bobAddr).Decrypt(ctx, sender, ct1)
			require.NoError(t, err)
			require.Equal(t, "one", string(pt))
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		after, err := st.SenderKeys.LoadSenderKey(ctx, sender, other)
		require.NoError(t, err)
		require.Equal(t, mustBytes(t, before), mustBytes(t, after), "rolled back")

		pt, gid, err := bob.Decrypt(ctx, sender, ct2)
		require.NoError(t, err)
		require.Equal(t, "two", string(pt))
		require.Equal(t, other, gid)
		pt, _, err = bob.Decrypt(ctx, sender, ct1)
		require.NoError(t, err)
		require.Equal(t, "one", string(pt))
		_, _, err = bob.Decrypt(ctx, sender, ct1)
		require.Error(t, err, "a message decrypts once")
	})
}
