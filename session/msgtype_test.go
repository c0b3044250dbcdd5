package session_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/session"
)

func TestMessageTypeOf(t *testing.T) {
	alice, bob := newPair(t)
	alice.startSession(t, bob, pqxdh)
	pre := alice.send(t, bob, "one")
	require.Equal(t, session.PreKeyType, pre.Type)
	typ, err := session.MessageTypeOf(pre.Bytes)
	require.NoError(t, err)
	assert.Equal(t, session.PreKeyType, typ)
	bob.recv(t, alice, pre)
	w := bob.send(t, alice, "two")
	require.Equal(t, session.WhisperType, w.Type)
	typ, err = session.MessageTypeOf(w.Bytes)
	require.NoError(t, err)
	assert.Equal(t, session.WhisperType, typ)

	_, err = session.MessageTypeOf(nil)
	assert.ErrorIs(t, err, session.ErrMessageTooShort)
	bad := append([]byte(nil), w.Bytes...)
	bad[0] = 0x22 // version 2
	_, err = session.MessageTypeOf(bad)
	assert.ErrorIs(t, err, session.ErrInvalidVersion)
}
