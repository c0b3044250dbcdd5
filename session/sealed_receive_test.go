package session_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/sealed"
	"github.com/ratchetlab/signal/senderkey"
	"github.com/ratchetlab/signal/session"
)

// TestSealedReceive checks SealedReceive's guarantee for 1:1 and group
// inner messages, with and without Atomic stores: a failing handler leaves
// the message decryptable, a succeeding one consumes it.
func TestSealedReceive(t *testing.T) {
	for _, atomic := range []bool{true, false} {
		name := "atomic"
		if !atomic {
			name = "no-atomic"
		}
		t.Run(name, func(t *testing.T) { testSealedReceive(t, atomic) })
	}
}

func testSealedReceive(t *testing.T, atomic bool) {
	ctx := context.Background()
	f := newSealedFixture(t, atomic)
	alice, bob, cert, opts := f.alice, f.bob, f.cert, f.opts

	errHandler := errors.New("handler failed")
	receive := func(env []byte, fail bool) (*session.SealedMessage, error) {
		var got *session.SealedMessage
		err := bob.m.SealedReceive(ctx, env, opts, func(_ context.Context, sm *session.SealedMessage) error {
			got = sm
			if fail {
				return errHandler
			}
			return nil
		})
		return got, err
	}

	// 1:1: a PreKey message (the first one: a failed handler must keep
	// the pre-keys and the session untouched).
	env, _, err := alice.m.SealedEncrypt(ctx, bob.addr, cert, []byte("one to one"), sealed.HintDefault, nil)
	require.NoError(t, err)
	got, err := receive(env, true)
	require.ErrorIs(t, err, errHandler)
	require.NotNil(t, got)
	assert.Equal(t, "one to one", string(got.Plaintext))
	assert.Nil(t, loadRecordBytes(t, bob.store, alice.addr), "a failed handler stored a session")
	got, err = receive(env, false)
	require.NoError(t, err)
	assert.Equal(t, "one to one", string(got.Plaintext))
	assert.Equal(t, alice.addr, got.Sender)
	_, err = receive(env, false)
	assert.ErrorIs(t, err, session.ErrDuplicateMessage)

	// Group: Alice's SKDM reaches Bob (over the 1:1 session in a real
	// client), then a sealed sender key message.
	dist := newDistributionID(t)
	alice.distributeSenderKey(t, bob, dist)
	before := loadSenderKeyBytes(t, bob.store, alice.addr, dist)
	require.NotNil(t, before)

	skm, err := alice.groups.Encrypt(ctx, dist, []byte("to the group"))
	require.NoError(t, err)
	content, err := sealed.NewContent(sealed.SenderKeyType, cert, skm, sealed.HintResendable, []byte("group"))
	require.NoError(t, err)
	env, err = alice.m.SealContent(ctx, bob.addr, content)
	require.NoError(t, err)

	got, err = receive(env, true)
	require.ErrorIs(t, err, errHandler)
	assert.Equal(t, "to the group", string(got.Plaintext))
	assert.Equal(t, before, loadSenderKeyBytes(t, bob.store, alice.addr, dist), "a failed handler advanced the sender key record")

	got, err = receive(env, false)
	require.NoError(t, err)
	assert.Equal(t, "to the group", string(got.Plaintext))
	assert.Equal(t, dist, got.DistributionID)
	assert.Equal(t, []byte("group"), got.GroupID)
	_, err = receive(env, false)
	assert.ErrorIs(t, err, senderkey.ErrDuplicateMessage)
}
