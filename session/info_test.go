package session_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/session"
)

// mustInfo loads nothing: it returns rec's SessionInfo and fails if the
// record has no current state.
func mustInfo(t testing.TB, rec *session.Record) session.SessionInfo {
	t.Helper()
	info, ok := rec.Info()
	require.True(t, ok, "the record has a current state")
	return info
}

func loadInfo(t testing.TB, p, peer *party) session.SessionInfo {
	t.Helper()
	rec, err := p.store.LoadSession(context.Background(), peer.addr)
	require.NoError(t, err)
	require.NotNil(t, rec)
	return mustInfo(t, rec)
}

// Record.Info reports the current state's public facts on both sides, and
// the pending pre-key until the peer answers.
func TestRecordInfo(t *testing.T) {
	ctx := context.Background()
	alice := newParty(t, "alice", 11, session.TrustOnFirstUse)
	bob := newParty(t, "bob", 22, session.TrustOnFirstUse)

	_, ok := new(session.Record).Info()
	assert.False(t, ok, "an empty record has no current state")

	require.NoError(t, alice.m.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, kem.Kyber1024)))
	a := loadInfo(t, alice, bob)
	assert.Equal(t, session.SessionInfo{
		Version:              4,
		LocalIdentity:        alice.id.PublicKey(),
		RemoteIdentity:       bob.id.PublicKey(),
		LocalRegistrationID:  11,
		RemoteRegistrationID: 22,
		HasSenderChain:       true,
		SPQR:                 true,
		PendingPreKey:        true,
	}, a)

	assert.Equal(t, "hi", bob.recv(t, alice, alice.send(t, bob, "hi")))
	b := loadInfo(t, bob, alice)
	assert.Equal(t, session.SessionInfo{
		Version:              4,
		LocalIdentity:        bob.id.PublicKey(),
		RemoteIdentity:       alice.id.PublicKey(),
		LocalRegistrationID:  22,
		RemoteRegistrationID: 11,
		HasSenderChain:       true,
		SPQR:                 true,
		PendingPreKey:        false,
	}, b)

	assert.Equal(t, "yo", alice.recv(t, bob, bob.send(t, alice, "yo")))
	assert.False(t, loadInfo(t, alice, bob).PendingPreKey, "Bob answered")
}
