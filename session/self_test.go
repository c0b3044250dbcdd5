package session_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/ratchet"
	"github.com/ratchetlab/signal/session"
)

// TestNoteToSelfSPQRUnlimitedJumps: two devices of one account (the same
// identity key) run an SPQR session, as Signal's note-to-self sync does. As
// in libsignal (self_session), neither the classical chains nor SPQR's
// chain limit how far a message may jump ahead: a device that was offline
// for more than ratchet.MaxForwardJumps messages still decrypts.
func TestNoteToSelfSPQRUnlimitedJumps(t *testing.T) {
	if testing.Short() {
		t.Skip("encrypts 25,000 messages")
	}
	ctx := context.Background()
	dev1 := newParty(t, "alice", 1)
	dev2 := newParty(t, "alice", 2, withDevice(2), withIdentity(dev1.id))
	dev1.startSession(t, dev2, pqxdh)
	require.True(t, mustInfo(t, loadRecord(t, dev1.store, dev2.addr)).SPQR)
	roundTrips(t, dev1, dev2, 1)

	for range ratchet.MaxForwardJumps + 1 {
		dev1.send(t, dev2, "lost")
	}
	ct := dev1.send(t, dev2, "last")
	require.Equal(t, session.WhisperType, ct.Type)
	pt, err := dev2.m.Decrypt(ctx, dev1.addr, ct)
	require.NoError(t, err, "a note-to-self session has no jump limit, SPQR's included")
	assert.Equal(t, "last", string(pt))
}
