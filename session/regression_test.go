package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/session"
)

// A PreKey message whose base key matches an existing session is decrypted
// with that session, whose MAC covers the identity key stored in the
// session, not the identity_key field of the PreKey message. Manager then
// saves the message's identity_key as the peer's identity. Anyone on the
// path can therefore rewrite that field of an in-flight PreKey message and,
// with an identity store that trusts incoming keys (TrustAll here; Signal's
// apps trust every key in the Receiving direction), make Bob record a key
// of their choosing as Alice's identity, changing the safety number Bob
// sees. Under TrustOnFirstUse the message is rejected instead (a lost
// message, not a changed identity).
//
// Expected: the identity saved after a PreKey message is the one the
// decrypting session is bound to (or a message whose identity_key differs
// from it is rejected).
func TestPreKeyIdentityBoundToSession(t *testing.T) {
	ctx := context.Background()
	alice, bob := newPair(t, withTrust(session.TrustAll))
	alice.startSession(t, bob, pqxdh)
	c1 := alice.send(t, bob, "one")
	c2 := alice.send(t, bob, "two")
	assert.Equal(t, "one", bob.recv(t, alice, c1))

	mallory := generateKey(t)
	forged := session.Ciphertext{Type: c2.Type, Bytes: replaceField(t, c2.Bytes, 3, mallory.PublicKey().Bytes())}
	_, err := bob.m.Decrypt(ctx, alice.addr, forged)
	require.ErrorIs(t, err, session.ErrDecryption)
	// The genuine message still decrypts.
	assert.Equal(t, "two", bob.recv(t, alice, c2))

	got, ok, err := bob.store.Identity(ctx, alice.addr)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, alice.id.PublicKey(), got, "Bob still holds Alice's identity key")
}

// barrierPreKeys makes every LoadPreKey wait until n loads have started (or
// a second has passed), to make an interleaving of two decryptions certain.
type barrierPreKeys struct {
	session.PreKeyStore
	arrived chan struct{}
	n       int
}

func (b *barrierPreKeys) LoadPreKey(ctx context.Context, id uint32) (*prekey.PreKeyRecord, error) {
	r, err := b.PreKeyStore.LoadPreKey(ctx, id)
	b.arrived <- struct{}{}
	deadline := time.After(time.Second)
	for len(b.arrived) < b.n {
		select {
		case <-deadline:
			return r, err
		case <-time.After(time.Millisecond):
		}
	}
	return r, err
}

// Operations on different peers run in parallel, and the one-time pre-key
// is loaded before and removed after the decryption, with nothing in
// between that claims it. So when the same one-time pre-key reaches Bob in
// PreKey messages from two different peers at once (a server handed it out
// twice), both sessions are set up with it; one after the other, the
// second would fail with ErrInvalidPreKeyID.
//
// Expected: at most one of the two succeeds.
func TestOneTimePreKeyUsedOnceUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	bob := newParty(t, "bob", 2)
	bundle := bob.bundle(t, pqxdh)
	a1 := newParty(t, "alice1", 11)
	a2 := newParty(t, "alice2", 12)
	require.NoError(t, a1.m.ProcessBundle(ctx, bob.addr, bundle))
	require.NoError(t, a2.m.ProcessBundle(ctx, bob.addr, bundle))
	c1, c2 := a1.send(t, bob, "from 1"), a2.send(t, bob, "from 2")

	stores := bob.store.Stores()
	stores.Atomic = nil // the Manager's own serialization (see TestOneTimePreKeyTwoManagers for Atomic)
	stores.PreKeys = &barrierPreKeys{PreKeyStore: stores.PreKeys, arrived: make(chan struct{}, 2), n: 2}
	m, err := session.New(stores)
	require.NoError(t, err)
	errs := make(chan error, 2)
	for _, x := range []struct {
		from *party
		ct   session.Ciphertext
	}{{a1, c1}, {a2, c2}} {
		go func() {
			_, err := m.Decrypt(ctx, x.from.addr, x.ct)
			errs <- err
		}()
	}
	ok := 0
	for range 2 {
		if err := <-errs; err == nil {
			ok++
		} else {
			assert.ErrorIs(t, err, session.ErrInvalidPreKeyID)
		}
	}
	assert.Equal(t, 1, ok, "one PreKey message uses the one-time pre-key, the other is refused")
}
