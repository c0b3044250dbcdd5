package sqlstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/session"
	"github.com/ratchetlab/signal/sqlstore"
	"github.com/stretchr/testify/require"
)

func TestStoreConformance(t *testing.T) {
	forEachDB(t, func(t *testing.T, tg target) {
		ctx := context.Background()
		s := tg.open(t)
		st := s.Stores()

		// Local identity.
		_, err := st.Identity.IdentityKeyPair(ctx)
		require.ErrorIs(t, err, sqlstore.ErrNoLocalIdentity)
		k := newBobKeys(t, 3)
		k.install(t, s)
		// A second Store on the same database reads what the first wrote.
		s2 := tg.open(t)
		st2 := s2.Stores()
		got, err := st2.Identity.IdentityKeyPair(ctx)
		require.NoError(t, err)
		require.Equal(t, k.id.Bytes(), got.Bytes())
		reg, err := st2.Identity.LocalRegistrationID(ctx)
		require.NoError(t, err)
		require.Equal(t, k.regID, reg)

		// Peer identities, trust on first use.
		id1, _ := keys.GeneratePrivateKey()
		id2, _ := keys.GeneratePrivateKey()
		_, ok, err := st.Identity.Identity(ctx, aliceAddr)
		require.NoError(t, err)
		require.False(t, ok)
		trusted, err := st.Identity.IsTrustedIdentity(ctx, aliceAddr, id1.PublicKey(), session.Receiving)
		require.NoError(t, err)
		require.True(t, trusted, "first use")
		changed, err := st.Identity.SaveIdentity(ctx, aliceAddr, id1.PublicKey())
		require.NoError(t, err)
		require.False(t, changed)
		changed, err = st.Identity.SaveIdentity(ctx, aliceAddr, id1.PublicKey())
		require.NoError(t, err)
		require.False(t, changed)
		pub, ok, err := st2.Identity.Identity(ctx, aliceAddr)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, id1.PublicKey(), pub)
		trusted, err = st.Identity.IsTrustedIdentity(ctx, aliceAddr, id2.PublicKey(), session.Sending)
		require.NoError(t, err)
		require.False(t, trusted, "changed key under trust on first use")
		trusted, err = st.Identity.IsTrustedIdentity(ctx, session.Address{Name: "alice", DeviceID: 2}, id2.PublicKey(), session.Sending)
		require.NoError(t, err)
		require.True(t, trusted, "another device is another address")
		changed, err = st.Identity.SaveIdentity(ctx, aliceAddr, id2.PublicKey())
		require.NoError(t, err)
		require.True(t, changed)
		all := tg.open(t, sqlstore.WithTrustPolicy(session.TrustAll)).Stores()
		trusted, err = all.Identity.IsTrustedIdentity(ctx, aliceAddr, id1.PublicKey(), session.Sending)
		require.NoError(t, err)
		require.True(t, trusted)

		// One-time pre-keys.
		p, err := st2.PreKeys.LoadPreKey(ctx, k.pre[1].ID())
		require.NoError(t, err)
		require.Equal(t, mustBytes(t, k.pre[1]), mustBytes(t, p))
		require.NoError(t, st.PreKeys.RemovePreKey(ctx, k.pre[1].ID()))
		_, err = st2.PreKeys.LoadPreKey(ctx, k.pre[1].ID())
		require.ErrorIs(t, err, session.ErrInvalidPreKeyID)
		require.NoError(t, st.PreKeys.RemovePreKey(ctx, k.pre[1].ID()), "removing an absent pre-key")
		_, err = st.PreKeys.LoadPreKey(ctx, 99999)
		require.ErrorIs(t, err, session.ErrInvalidPreKeyID)
		require.NoError(t, st.PreKeys.StorePreKey(ctx, k.pre[1]))
		_, err = st2.PreKeys.LoadPreKey(ctx, k.pre[1].ID())
		require.NoError(t, err)
		// Storing under an existing id replaces the record.
		other, err := prekey.GeneratePreKeys(k.pre[1].ID(), 1)
		require.NoError(t, err)
		require.NoError(t, st.PreKeys.StorePreKey(ctx, other[0]))
		p, err = st2.PreKeys.LoadPreKey(ctx, k.pre[1].ID())
		require.NoError(t, err)
		require.Equal(t, mustBytes(t, other[0]), mustBytes(t, p))

		// Signed and Kyber pre-keys.
		sp, err := st2.SignedPreKeys.LoadSignedPreKey(ctx, k.signed.ID())
		require.NoError(t, err)
		require.Equal(t, mustBytes(t, k.signed), mustBytes(t, sp))
		_, err = st2.SignedPreKeys.LoadSignedPreKey(ctx, k.signed.ID()+1)
		require.ErrorIs(t, err, session.ErrInvalidPreKeyID)
		kp, err := st2.KyberPreKeys.LoadKyberPreKey(ctx, k.kyber.ID())
		require.NoError(t, err)
		require.Equal(t, mustBytes(t, k.kyber), mustBytes(t, kp))
		_, err = st2.KyberPreKeys.LoadKyberPreKey(ctx, k.kyber.ID()+1)
		require.ErrorIs(t, err, session.ErrInvalidPreKeyID)

		// Kyber pre-key use: the same (id, signed id, base key) twice is
		// ErrReusedBaseKey; any other triple is new.
		b1, _ := keys.GeneratePrivateKey()
		b2, _ := keys.GeneratePrivateKey()
		require.NoError(t, st.KyberPreKeys.MarkKyberPreKeyUsed(ctx, 9, 7, b1.PublicKey()))
		require.ErrorIs(t, st2.KyberPreKeys.MarkKyberPreKeyUsed(ctx, 9, 7, b1.PublicKey()), session.ErrReusedBaseKey)
		require.NoError(t, st.KyberPreKeys.MarkKyberPreKeyUsed(ctx, 9, 7, b2.PublicKey()))
		require.NoError(t, st.KyberPreKeys.MarkKyberPreKeyUsed(ctx, 9, 8, b1.PublicKey()))
		require.NoError(t, st.KyberPreKeys.MarkKyberPreKeyUsed(ctx, 10, 7, b1.PublicKey()))
		_, err = st.KyberPreKeys.LoadKyberPreKey(ctx, k.kyber.ID())
		require.NoError(t, err, "Kyber pre-keys are last-resort keys and stay")

		// Sessions: absent is nil, nil; a stored record comes back in the
		// same encoding.
		r, err := st.Sessions.LoadSession(ctx, aliceAddr)
		require.NoError(t, err)
		require.Nil(t, r)
		alice := newAlice(t, k, 0)
		ct, err := alice.Encrypt(ctx, bobAddr, body(0))
		require.NoError(t, err)
		// Bob's store trusts the second key saved for alice above, so
		// decrypt through a TrustAll view of the same database.
		bob, err := session.New(tg.open(t, sqlstore.WithTrustPolicy(session.TrustAll)).Stores())
		require.NoError(t, err)
		pt, err := bob.Decrypt(ctx, aliceAddr, ct)
		require.NoError(t, err)
		require.Equal(t, body(0), pt)
		r, err = st2.Sessions.LoadSession(ctx, aliceAddr)
		require.NoError(t, err)
		require.NotNil(t, r)
		require.True(t, r.HasCurrentState())
		enc := mustBytes(t, r)
		require.NoError(t, st.Sessions.StoreSession(ctx, session.Address{Name: "carol", DeviceID: 3}, r))
		r2, err := st2.Sessions.LoadSession(ctx, session.Address{Name: "carol", DeviceID: 3})
		require.NoError(t, err)
		require.Equal(t, enc, mustBytes(t, r2))
		r3, err := st2.Sessions.LoadSession(ctx, session.Address{Name: "carol", DeviceID: 4})
		require.NoError(t, err)
		require.Nil(t, r3)
		_, err = st.PreKeys.LoadPreKey(ctx, k.pre[0].ID())
		require.ErrorIs(t, err, session.ErrInvalidPreKeyID, "the PreKey message consumed the one-time pre-key")
	})
}

func mustBytes(t testing.TB, m interface{ MarshalBinary() ([]byte, error) }) []byte {
	t.Helper()
	b, err := m.MarshalBinary()
	require.NoError(t, err)
	return b
}

// TestAtomicRollback checks that a failing function leaves nothing: every
// store write of the transaction, and the application's own write through
// Tx, are rolled back; then that a successful one commits them all.
func TestAtomicRollback(t *testing.T) {
	forEachDB(t, func(t *testing.T, tg target) {
		ctx := context.Background()
		s := tg.open(t)
		k := newBobKeys(t, 2)
		k.install(t, s)
		_, err := s.DB().Exec(messagesTable)
		require.NoError(t, err)
		st := s.Stores()
		base, _ := keys.GeneratePrivateKey()
		peer, _ := keys.GeneratePrivateKey()
		more, err := prekey.GeneratePreKeys(500, 1)
		require.NoError(t, err)
		rec := sessionRecord(t, k)
		errBoom := errors.New("boom")

		writeAll := func(ctx context.Context, tx session.Stores) error {
			if _, err := tx.Identity.SaveIdentity(ctx, aliceAddr, peer.PublicKey()); err != nil {
				return err
			}
			if err := tx.PreKeys.RemovePreKey(ctx, k.pre[0].ID()); err != nil {
				return err
			}
			if err := tx.PreKeys.StorePreKey(ctx, more[0]); err != nil {
				return err
			}
			if err := tx.SignedPreKeys.StoreSignedPreKey(ctx, mustSigned(t, k, 8)); err != nil {
				return err
			}
			if err := tx.KyberPreKeys.MarkKyberPreKeyUsed(ctx, 9, 7, base.PublicKey()); err != nil {
				return err
			}
			if err := tx.Sessions.StoreSession(ctx, aliceAddr, rec); err != nil {
				return err
			}
			// Inside the transaction the writes are visible.
			r, err := tx.Sessions.LoadSession(ctx, aliceAddr)
			if err != nil || r == nil {
				return errors.New("own write not visible")
			}
			if sqlstore.Tx(ctx) == nil {
				return errors.New("no transaction in ctx")
			}
			return saveMessage("alice")(ctx, body(1))
		}
		err = s.Atomic(ctx, aliceAddr, func(ctx context.Context, tx session.Stores) error {
			if err := writeAll(ctx, tx); err != nil {
				return err
			}
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)

		_, ok, err := st.Identity.Identity(ctx, aliceAddr)
		require.NoError(t, err)
		require.False(t, ok, "identity rolled back")
		_, err = st.PreKeys.LoadPreKey(ctx, k.pre[0].ID())
		require.NoError(t, err, "pre-key removal rolled back")
		_, err = st.PreKeys.LoadPreKey(ctx, more[0].ID())
		require.ErrorIs(t, err, session.ErrInvalidPreKeyID, "pre-key store rolled back")
		_, err = st.SignedPreKeys.LoadSignedPreKey(ctx, 8)
		require.ErrorIs(t, err, session.ErrInvalidPreKeyID, "signed pre-key store rolled back")
		require.NoError(t, st.KyberPreKeys.MarkKyberPreKeyUsed(ctx, 9, 7, base.PublicKey()), "Kyber mark rolled back")
		r, err := st.Sessions.LoadSession(ctx, aliceAddr)
		require.NoError(t, err)
		require.Nil(t, r, "session rolled back")
		require.Equal(t, 0, countMessages(t, s, "alice", 1), "application row rolled back")

		// Nested Atomic joins the outer transaction and rolls back with it.
		err = s.Atomic(ctx, aliceAddr, func(ctx context.Context, tx session.Stores) error {
			if err := tx.Atomic.Atomic(ctx, aliceAddr, func(ctx context.Context, tx session.Stores) error {
				return tx.Sessions.StoreSession(ctx, aliceAddr, rec)
			}); err != nil {
				return err
			}
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		r, err = st.Sessions.LoadSession(ctx, aliceAddr)
		require.NoError(t, err)
		require.Nil(t, r, "nested write rolled back")

		// Stores of s used with fn's ctx write in fn's transaction (on
		// SQLite a write outside it would wait for it for ever).
		err = s.Atomic(ctx, aliceAddr, func(ctx context.Context, _ session.Stores) error {
			if err := st.Sessions.StoreSession(ctx, aliceAddr, rec); err != nil {
				return err
			}
			if r, err := st.Sessions.LoadSession(ctx, aliceAddr); err != nil || r == nil {
				return errors.New("own write not visible")
			}
			return errBoom
		})
		require.ErrorIs(t, err, errBoom)
		r, err = st.Sessions.LoadSession(ctx, aliceAddr)
		require.NoError(t, err)
		require.Nil(t, r, "write through s.Stores() with fn's ctx rolled back")

		// Success commits everything (the Kyber triple is marked above, so
		// use a fresh base key).
		base, _ = keys.GeneratePrivateKey()
		require.NoError(t, s.Atomic(ctx, aliceAddr, writeAll))
		pub, ok, err := st.Identity.Identity(ctx, aliceAddr)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, peer.PublicKey(), pub)
		_, err = st.PreKeys.LoadPreKey(ctx, k.pre[0].ID())
		require.ErrorIs(t, err, session.ErrInvalidPreKeyID)
		_, err = st.PreKeys.LoadPreKey(ctx, more[0].ID())
		require.NoError(t, err)
		_, err = st.SignedPreKeys.LoadSignedPreKey(ctx, 8)
		require.NoError(t, err)
		require.ErrorIs(t, st.KyberPreKeys.MarkKyberPreKeyUsed(ctx, 9, 7, base.PublicKey()), session.ErrReusedBaseKey)
		r, err = st.Sessions.LoadSession(ctx, aliceAddr)
		require.NoError(t, err)
		require.Equal(t, mustBytes(t, rec), mustBytes(t, r))
		require.Equal(t, 1, countMessages(t, s, "alice", 1))
		require.Nil(t, sqlstore.Tx(ctx))
	})
}

// sessionRecord returns a real session record (Bob's side after one
// message).
func sessionRecord(t testing.TB, k *bobKeys) *session.Record {
	t.Helper()
	ctx := context.Background()
	alice := newAlice(t, k, 1)
	ct, err := alice.Encrypt(ctx, bobAddr, body(0))
	require.NoError(t, err)
	ms := session.NewMemoryStore(k.id, k.regID, session.TrustOnFirstUse)
	require.NoError(t, ms.StoreSignedPreKey(ctx, k.signed))
	require.NoError(t, ms.StoreKyberPreKey(ctx, k.kyber))
	require.NoError(t, ms.StorePreKey(ctx, k.pre[1]))
	m, err := session.New(ms.Stores())
	require.NoError(t, err)
	_, err = m.Decrypt(ctx, aliceAddr, ct)
	require.NoError(t, err)
	r, err := ms.LoadSession(ctx, aliceAddr)
	require.NoError(t, err)
	return r
}

func mustSigned(t testing.TB, k *bobKeys, id uint32) *prekey.SignedPreKeyRecord {
	t.Helper()
	r, err := prekey.GenerateSignedPreKey(k.id, id, k.signed.Timestamp())
	require.NoError(t, err)
	return r
}

func countMessages(t testing.TB, s *sqlstore.Store, sender string, seq int) int {
	t.Helper()
	var n int
	require.NoError(t, s.DB().QueryRow("SELECT COUNT(*) FROM messages WHERE sender = $1 AND seq = $2", sender, seq).Scan(&n))
	return n
}

// TestSchemaVersion checks that Open records the schema version, that a
// second Open leaves it, and that a database from a newer version is
// refused.
func TestSchemaVersion(t *testing.T) {
	forEachDB(t, func(t *testing.T, tg target) {
		s := tg.open(t)
		var v int
		require.NoError(t, s.DB().QueryRow("SELECT MAX(version) FROM schema_version").Scan(&v))
		require.Equal(t, sqlstore.SchemaVersion(), v)
		require.GreaterOrEqual(t, v, 1)
		tg.open(t)
		var n int
		require.NoError(t, s.DB().QueryRow("SELECT COUNT(*) FROM schema_version").Scan(&n))
		require.Equal(t, v, n)
		_, err := s.DB().Exec("INSERT INTO schema_version (version, applied_at) VALUES ($1, 'future')", v+1)
		require.NoError(t, err)
		_, err = sqlstore.Open(context.Background(), tg.driver, tg.dsn)
		require.ErrorIs(t, err, sqlstore.ErrSchemaTooNew)
	})
}

// TestCorruptRows checks that rows damaged in the database are reported as
// errors, never a panic, and that a receive over a damaged session row
// changes nothing.
func TestCorruptRows(t *testing.T) {
	forEachDB(t, func(t *testing.T, tg target) {
		ctx := context.Background()
		s := tg.open(t)
		k := newBobKeys(t, 1)
		c := converse(t, s, k, 3, 2)
		st := s.Stores()
		// The first message used up pre-key 0; store another to damage.
		more, err := prekey.GeneratePreKeys(500, 1)
		require.NoError(t, err)
		require.NoError(t, st.PreKeys.StorePreKey(ctx, more[0]))
		bad := []byte{0x0a, 0xff, 0x01}
		_, err = s.DB().Exec("UPDATE sessions SET record = $1", bad)
		require.NoError(t, err)
		_, err = st.Sessions.LoadSession(ctx, aliceAddr)
		require.ErrorIs(t, err, session.ErrInvalidRecord)
		err = receive(ctx, s, aliceAddr, session.Ciphertext{Type: c.msgs[0].Type, Bytes: c.msgs[0].Bytes}, saveMessage("alice"))
		require.ErrorIs(t, err, session.ErrCorruptState)
		var b []byte
		require.NoError(t, s.DB().QueryRow("SELECT record FROM sessions").Scan(&b))
		require.Equal(t, bad, b, "unchanged")
		require.Equal(t, 0, countMessages(t, s, "alice", c.msgs[0].Seq))

		for _, q := range []string{
			"UPDATE pre_keys SET record = $1",
			"UPDATE signed_pre_keys SET record = $1",
			"UPDATE kyber_pre_keys SET record = $1",
			"UPDATE identities SET public_key = $1",
		} {
			_, err := s.DB().Exec(q, bad)
			require.NoError(t, err, q)
		}
		_, err = st.PreKeys.LoadPreKey(ctx, more[0].ID())
		require.Error(t, err)
		require.NotErrorIs(t, err, session.ErrInvalidPreKeyID)
		_, err = st.SignedPreKeys.LoadSignedPreKey(ctx, k.signed.ID())
		require.Error(t, err)
		_, err = st.KyberPreKeys.LoadKyberPreKey(ctx, k.kyber.ID())
		require.Error(t, err)
		_, _, err = st.Identity.Identity(ctx, aliceAddr)
		require.Error(t, err)
	})
}
