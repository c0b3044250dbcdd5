package spqr

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNegotiationKeyWipedWhenChainStarts: the receive that starts the chain
// drops the negotiation; once committed, its authentication key is zero in
// memory, and a rolled-back receive keeps it intact.
func TestNegotiationKeyWipedWhenChainStarts(t *testing.T) {
	a := New(testAuthKey, A2B, ChainParams{})
	b := New(testAuthKey, B2A, ChainParams{})
	for range 10 {
		msg, _, _, err := a.Send(nil)
		require.NoError(t, err)
		a.Commit()
		neg := b.neg
		require.NotNil(t, neg)
		key := append([]byte(nil), neg.authKey...)
		_, _, err = b.Recv(msg)
		require.NoError(t, err)
		if b.neg == nil {
			b.Rollback()
			require.Same(t, neg, b.neg)
			require.Equal(t, key, neg.authKey, "a rolled-back receive keeps the key")
			_, _, err = b.Recv(msg)
			require.NoError(t, err)
			require.Nil(t, b.neg)
			b.Commit()
			require.Equal(t, make([]byte, len(key)), neg.authKey, "the dropped negotiation's key is wiped")
			return
		}
		b.Commit()
	}
	t.Fatal("no receive ended the negotiation")
}
