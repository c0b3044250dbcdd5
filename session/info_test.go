package session_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ratchetlab/signal/session"
)

// Record.Info reports the current state's public facts on both sides, and
// the pending pre-key until the peer answers.
func TestRecordInfo(t *testing.T) {
	alice := newParty(t, "alice", 11)
	bob := newParty(t, "bob", 22)

	_, ok := new(session.Record).Info()
	assert.False(t, ok, "an empty record has no current state")

	alice.startSession(t, bob, pqxdh)
	a := mustInfo(t, loadRecord(t, alice.store, bob.addr))
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
	b := mustInfo(t, loadRecord(t, bob.store, alice.addr))
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
	assert.False(t, mustInfo(t, loadRecord(t, alice.store, bob.addr)).PendingPreKey, "Bob answered")
}
