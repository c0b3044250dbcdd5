package session_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/session"
)

// FuzzParseRecord checks that ParseRecord never panics and that a record it
// accepts encodes to bytes that parse again and encode to the same bytes.
// Seeds are real records: both sides of a PQXDH and an X3DH session, a
// record with skipped message keys and one with archived states.
func FuzzParseRecord(f *testing.F) {
	alice, bob := newPair(f, withOptions(session.WithX3DH(true)))
	// seed adds the record p holds for peer, which must exist.
	seed := func(p, peer *party) {
		b := loadRecordBytes(f, p.store, peer.addr)
		require.NotNil(f, b)
		f.Add(b)
	}

	// X3DH, Alice unacknowledged (pending pre-key in her record).
	alice.startSession(f, bob, x3dh)
	bob.recv(f, alice, alice.send(f, bob, "x3dh"))
	seed(alice, bob)
	seed(bob, alice)

	// PQXDH on top: both records now hold an archived X3DH state.
	alice.startSession(f, bob, pqxdh)
	roundTrips(f, alice, bob, 4)
	seed(alice, bob)
	seed(bob, alice)

	// Skipped message keys.
	alice.skipAhead(f, bob, 5)
	bob.recv(f, alice, alice.send(f, bob, "delivered"))
	seed(bob, alice)

	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x00})
	f.Add([]byte{0x12, 0x01, 0x00})

	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := session.ParseRecord(data)
		if err != nil {
			assert.Nil(t, rec)
			require.ErrorIs(t, err, session.ErrInvalidRecord)
			return
		}
		enc, err := rec.MarshalBinary()
		require.NoError(t, err)
		rec2, err := session.ParseRecord(enc)
		require.NoError(t, err, "a re-encoded record parses")
		enc2, err := rec2.MarshalBinary()
		require.NoError(t, err)
		assert.Equal(t, enc, enc2, "re-encoding is stable")
		assert.Equal(t, rec.HasCurrentState(), rec2.HasCurrentState())
		assert.Equal(t, rec.ArchivedStates(), rec2.ArchivedStates())
		assert.LessOrEqual(t, rec.ArchivedStates(), session.MaxArchivedStates)
	})
}

// decryptFixture is Bob's side of an established session with Alice, plus
// a fresh bundle of Bob's that Alice has started new PQXDH and X3DH
// sessions from, so that PreKey messages reach real pre-keys. Each fuzz
// input runs against a fresh store holding exactly this state.
type decryptFixture struct {
	bobID    *keys.PrivateKey
	alice    session.Address
	aliceKey keys.PublicKey
	record   []byte
	spk      *prekey.SignedPreKeyRecord
	opk      *prekey.PreKeyRecord
	kyber    *prekey.KyberPreKeyRecord
}

// newBob returns Bob holding exactly the fixture's state, with or without
// his store's Atomic (without: the Manager's write order).
func (fx *decryptFixture) newBob(tb testing.TB, atomic bool) *party {
	tb.Helper()
	bob := newParty(tb, "bob", 2, withIdentity(fx.bobID), withAtomic(atomic), withOptions(session.WithX3DH(true)))
	bob.storePreKeys(tb, fx.spk, fx.opk, fx.kyber)
	storeRecordBytes(tb, bob.store, fx.alice, fx.record)
	_, err := bob.store.SaveIdentity(context.Background(), fx.alice, fx.aliceKey)
	require.NoError(tb, err)
	return bob
}

// FuzzDecrypt feeds arbitrary bytes, as a Whisper and as a PreKey message,
// to a Manager with an established session, with and without the store's
// Atomic. It must not panic, and a
// failed decryption must leave the stored record, the one-time pre-keys and
// the peer's identity as they were.
func FuzzDecrypt(f *testing.F) {
	ctx := context.Background()
	alice, bob := newPair(f, withOptions(session.WithX3DH(true)))
	alice.startSession(f, bob, pqxdhNoOPK)
	first := alice.send(f, bob, "first")
	bob.recv(f, alice, first)
	alice.recv(f, bob, bob.send(f, alice, "ack"))
	old := alice.send(f, bob, "already read")
	bob.recv(f, alice, old)
	pending := alice.send(f, bob, "not yet read")
	skipped := alice.send(f, bob, "after a gap")

	// Bob publishes a new bundle (ids 22, 33, 44 again, new keys); Alice
	// starts a second session from it, whose first message Bob has not
	// seen.
	fx := &decryptFixture{bobID: bob.id, alice: alice.addr, aliceKey: alice.id.PublicKey()}
	fx.record = loadRecordBytes(f, bob.store, alice.addr)
	require.NotNil(f, fx.record)
	nb := bob.bundle(f, pqxdh)
	var err error
	fx.spk, err = bob.store.LoadSignedPreKey(ctx, nb.SignedPreKeyID())
	require.NoError(f, err)
	opkID, _, _ := nb.PreKey()
	fx.opk, err = bob.store.LoadPreKey(ctx, opkID)
	require.NoError(f, err)
	kyberID, _, _ := nb.KyberPreKey()
	fx.kyber, err = bob.store.LoadKyberPreKey(ctx, kyberID)
	require.NoError(f, err)
	require.NoError(f, alice.m.ProcessBundle(ctx, bob.addr, nb))
	fresh := alice.send(f, bob, "new session")
	// And an X3DH session from the same signed and one-time pre-keys.
	nb3, err := prekey.NewBundle(2, 1, bob.id.PublicKey(), fx.spk, fx.opk, nil)
	require.NoError(f, err)
	require.NoError(f, alice.m.ProcessBundle(ctx, bob.addr, nb3))
	fresh3 := alice.send(f, bob, "new X3DH session")

	for _, ct := range []session.Ciphertext{first, old, pending, skipped, fresh, fresh3} {
		f.Add(ct.Bytes)
	}
	f.Add([]byte{})
	f.Add([]byte{0x44})
	f.Add([]byte{0x34, 0x0a, 0x21})

	f.Fuzz(func(t *testing.T, data []byte) {
		for i, typ := range []session.MessageType{session.WhisperType, session.PreKeyType, session.WhisperType, session.PreKeyType} {
			bob := fx.newBob(t, i < 2)
			pt, err := bob.m.Decrypt(ctx, fx.alice, session.Ciphertext{Type: typ, Bytes: data})
			after := loadRecordBytes(t, bob.store, fx.alice)
			require.NotNil(t, after, "a record")
			if err == nil {
				assert.NotNil(t, pt)
				assert.NotEqual(t, fx.record, after, "a decryption is stored")
				continue
			}
			assert.Nil(t, pt)
			assert.Equal(t, fx.record, after, "a failed decryption stores nothing")
			assert.Equal(t, 1, bob.store.PreKeyCount(), "a failed decryption uses no pre-key")
			key, ok, err := bob.store.Identity(ctx, fx.alice)
			require.NoError(t, err)
			assert.True(t, ok)
			assert.Equal(t, fx.aliceKey, key, "a failed decryption saves no identity")
		}
	})
}
