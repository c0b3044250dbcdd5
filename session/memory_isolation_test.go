package session_test

// Isolation of MemoryStore's decoded records: the store hands out copies
// and takes copies, a transaction's records are its own until it commits,
// and a record or a transaction used after the transaction ended cannot
// reach the store's records. Records are changed behind the Manager's back
// with CurrentStateForTest (encrypting a message nobody receives), as an
// application holding a record could.

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/session"
)

// advanceRecord changes rec: its current state encrypts a message.
func advanceRecord(t testing.TB, rec *session.Record) {
	t.Helper()
	s := session.CurrentStateForTest(rec)
	require.NotNil(t, s)
	_, _, err := s.Encrypt(nil, []byte("never sent"))
	require.NoError(t, err)
}

// encoding returns rec's encoding.
func encoding(t testing.TB, rec *session.Record) []byte {
	t.Helper()
	b, err := rec.MarshalBinary()
	require.NoError(t, err)
	return b
}

// otherDevice is an address no Manager talks to, for copies of records.
func otherDevice(p *party, id uint32) session.Address {
	return session.Address{Name: p.addr.Name, DeviceID: id}
}

// A record loaded outside a transaction is the caller's: the session
// moving on (messages, a new session archiving the old one, a deletion)
// does not change it, and changing it does not change the store.
func TestMemoryLoadedRecordIsACopy(t *testing.T) {
	alice, bob := newEstablishedPair(t, pqxdh)
	rec := loadRecord(t, alice.store, bob.addr)
	before := encoding(t, rec)

	roundTrips(t, alice, bob, 3)
	alice.startSession(t, bob, pqxdh)
	roundTrips(t, alice, bob, 2)
	requireSameBytes(t, before, encoding(t, rec), "the loaded record after the session moved on")

	stored := loadRecordBytes(t, alice.store, bob.addr)
	advanceRecord(t, rec)
	requireSameBytes(t, stored, loadRecordBytes(t, alice.store, bob.addr), "the store after the loaded record changed")

	again := loadRecord(t, alice.store, bob.addr)
	require.NotSame(t, rec, again)
	require.True(t, alice.store.DeleteSession(bob.addr))
	requireSameBytes(t, stored, encoding(t, again), "a loaded record after DeleteSession")
	assert.Nil(t, loadRecord(t, alice.store, bob.addr))
}

// StoreSession outside a transaction stores a copy: changing the record
// or the session afterwards changes neither what was stored for another
// address nor the record the caller holds.
func TestMemoryStoreSessionCopies(t *testing.T) {
	ctx := context.Background()
	alice, bob := newEstablishedPair(t, pqxdh)
	copyAddr := otherDevice(bob, 7)

	rec := loadRecord(t, alice.store, bob.addr)
	want := encoding(t, rec)
	require.NoError(t, alice.store.StoreSession(ctx, copyAddr, rec))
	advanceRecord(t, rec)
	requireSameBytes(t, want, loadRecordBytes(t, alice.store, copyAddr), "stored copy after the caller changed its record")

	// The session goes on; the copy stored from an earlier load stays.
	roundTrips(t, alice, bob, 2)
	requireSameBytes(t, want, loadRecordBytes(t, alice.store, copyAddr), "stored copy after the session moved on")

	// Storing the caller's record back, then using the session, leaves
	// the caller's record as it was.
	rec = loadRecord(t, alice.store, bob.addr)
	held := encoding(t, rec)
	require.NoError(t, alice.store.StoreSession(ctx, bob.addr, rec))
	roundTrips(t, alice, bob, 2)
	requireSameBytes(t, held, encoding(t, rec), "record stored back, then the session moved on")

	// Deleting one address leaves the other.
	require.True(t, alice.store.DeleteSession(bob.addr))
	requireSameBytes(t, want, loadRecordBytes(t, alice.store, copyAddr), "stored copy after DeleteSession of the original")
}

// A transaction's stores and the record it lent do not reach the store
// once Atomic has returned, whether the transaction committed or not.
func TestMemoryTransactionUsedAfterEnd(t *testing.T) {
	ctx := context.Background()
	alice, bob := newEstablishedPair(t, pqxdh)
	for _, fail := range []bool{false, true} {
		var (
			leaked session.Stores
			lent   *session.Record
		)
		errFail := errors.New("test: fn fails")
		err := alice.store.Atomic(ctx, bob.addr, func(ctx context.Context, tx session.Stores) error {
			leaked = tx
			var err error
			lent, err = tx.Sessions.LoadSession(ctx, bob.addr)
			require.NoError(t, err)
			require.NoError(t, tx.Sessions.StoreSession(ctx, bob.addr, lent))
			if fail {
				return errFail
			}
			return nil
		})
		if fail {
			require.ErrorIs(t, err, errFail)
		} else {
			require.NoError(t, err)
		}
		stored := loadRecordBytes(t, alice.store, bob.addr)
		other := loadRecord(t, alice.store, bob.addr)

		rec, err := leaked.Sessions.LoadSession(ctx, bob.addr)
		assert.Error(t, err, "LoadSession after the transaction ended (fail=%t)", fail)
		assert.Nil(t, rec)
		for _, r := range []*session.Record{other, lent, session.NewRecord()} {
			assert.Error(t, leaked.Sessions.StoreSession(ctx, bob.addr, r), "StoreSession after the transaction ended (fail=%t)", fail)
			assert.Error(t, leaked.Sessions.StoreSession(ctx, otherDevice(bob, 9), r), "StoreSession after the transaction ended (fail=%t)", fail)
		}
		requireSameBytes(t, stored, loadRecordBytes(t, alice.store, bob.addr), "fail=%t", fail)
		assert.Nil(t, loadRecord(t, alice.store, otherDevice(bob, 9)))
		roundTrips(t, alice, bob, 1)
	}
}

// fn returning an error, or a commit that fails, leaves every record and
// identity as it was, whatever fn did to the records it was lent.
func TestMemoryTransactionRollback(t *testing.T) {
	ctx := context.Background()
	alice, bob := newEstablishedPair(t, pqxdh)
	copyAddr := otherDevice(bob, 5)
	errFail := errors.New("test: fn fails")
	stranger := generateKey(t).PublicKey()

	// fn fails.
	before := loadRecordBytes(t, alice.store, bob.addr)
	err := alice.store.Atomic(ctx, bob.addr, func(ctx context.Context, tx session.Stores) error {
		r1, err := tx.Sessions.LoadSession(ctx, bob.addr)
		require.NoError(t, err)
		advanceRecord(t, r1)
		require.NoError(t, tx.Sessions.StoreSession(ctx, bob.addr, r1))
		require.NoError(t, tx.Sessions.StoreSession(ctx, copyAddr, r1))
		r2, err := tx.Sessions.LoadSession(ctx, bob.addr)
		require.NoError(t, err)
		advanceRecord(t, r2)
		require.NoError(t, tx.Sessions.StoreSession(ctx, bob.addr, r2))
		_, err = tx.Identity.SaveIdentity(ctx, bob.addr, stranger)
		require.NoError(t, err)
		return errFail
	})
	require.ErrorIs(t, err, errFail)
	requireSameBytes(t, before, loadRecordBytes(t, alice.store, bob.addr), "after fn failed")
	assert.Nil(t, loadRecord(t, alice.store, copyAddr))
	id, ok, err := alice.store.Identity(ctx, bob.addr)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, bob.id.PublicKey(), id)
	roundTrips(t, alice, bob, 1)

	// The commit fails: another transaction used the same Kyber pre-key
	// with the same base key first.
	before = loadRecordBytes(t, alice.store, bob.addr)
	carol := session.Address{Name: "carol", DeviceID: 1}
	base := stranger
	err = alice.store.Atomic(ctx, bob.addr, func(ctx context.Context, tx session.Stores) error {
		require.NoError(t, tx.KyberPreKeys.MarkKyberPreKeyUsed(ctx, 44, 22, base))
		rec, err := tx.Sessions.LoadSession(ctx, bob.addr)
		require.NoError(t, err)
		advanceRecord(t, rec)
		require.NoError(t, tx.Sessions.StoreSession(ctx, bob.addr, rec))
		require.NoError(t, tx.Sessions.StoreSession(ctx, copyAddr, rec))
		// Another transaction takes the mark and commits first.
		require.NoError(t, alice.store.Atomic(ctx, carol, func(ctx context.Context, tx2 session.Stores) error {
			return tx2.KyberPreKeys.MarkKyberPreKeyUsed(ctx, 44, 22, base)
		}))
		return nil
	})
	require.ErrorIs(t, err, session.ErrReusedBaseKey)
	requireSameBytes(t, before, loadRecordBytes(t, alice.store, bob.addr), "after the commit failed")
	assert.Nil(t, loadRecord(t, alice.store, copyAddr))
	roundTrips(t, alice, bob, 2)
}

// Two loads of one address in one transaction are two records: changing
// one leaves the other, and whichever is stored last is what commits. fn
// sees its own write, as a record of its own.
func TestMemoryTransactionTwoLoads(t *testing.T) {
	ctx := context.Background()
	alice, bob := newEstablishedPair(t, pqxdh)
	for _, order := range [][]int{{0}, {1}, {0, 1}, {1, 0}, {1, 0, 1}, {0, 1, 0}} {
		committed := loadRecordBytes(t, alice.store, bob.addr)
		var want []byte
		require.NoError(t, alice.store.Atomic(ctx, bob.addr, func(ctx context.Context, tx session.Stores) error {
			r0, err := tx.Sessions.LoadSession(ctx, bob.addr)
			require.NoError(t, err)
			r1, err := tx.Sessions.LoadSession(ctx, bob.addr)
			require.NoError(t, err)
			require.NotSame(t, r0, r1)
			advanceRecord(t, r0)
			requireSameBytes(t, committed, encoding(t, r1), "the second load after the first changed (%v)", order)
			recs := []*session.Record{r0, r1}
			for _, i := range order {
				held := [][]byte{encoding(t, r0), encoding(t, r1)}
				require.NoError(t, tx.Sessions.StoreSession(ctx, bob.addr, recs[i]))
				// Storing changes neither the record stored nor the
				// other one fn holds.
				for j, r := range recs {
					requireSameBytes(t, held[j], encoding(t, r), "record %d after storing record %d (%v)", j, i, order)
				}
				want = held[i]
				own, err := tx.Sessions.LoadSession(ctx, bob.addr)
				require.NoError(t, err)
				require.NotSame(t, recs[i], own)
				requireSameBytes(t, want, encoding(t, own), "fn sees its own write (%v)", order)
			}
			requireSameBytes(t, committed, loadRecordBytes(t, alice.store, bob.addr), "uncommitted write visible (%v)", order)
			return nil
		}))
		requireSameBytes(t, want, loadRecordBytes(t, alice.store, bob.addr), "committed record (%v)", order)
		// Whichever was stored, the session works (a changed record has
		// sent a message that was lost).
		roundTrips(t, alice, bob, 1)
	}
}

// The record a transaction lent, stored for two addresses, commits as two
// independent records, in either order, and the lent record stored only
// for another address leaves its own address alone.
func TestMemoryTransactionOneRecordTwoAddresses(t *testing.T) {
	ctx := context.Background()
	alice, bob := newEstablishedPair(t, pqxdh)
	for k, addrs := range [][]session.Address{
		{bob.addr, otherDevice(bob, 2)},
		{otherDevice(bob, 3), bob.addr},
		{otherDevice(bob, 4)},
	} {
		committed := loadRecordBytes(t, alice.store, bob.addr)
		require.NoError(t, alice.store.Atomic(ctx, bob.addr, func(ctx context.Context, tx session.Stores) error {
			rec, err := tx.Sessions.LoadSession(ctx, bob.addr)
			require.NoError(t, err)
			for _, a := range addrs {
				require.NoError(t, tx.Sessions.StoreSession(ctx, a, rec))
			}
			return nil
		}))
		copyAddr := addrs[0]
		if copyAddr == bob.addr {
			copyAddr = addrs[1]
		}
		requireSameBytes(t, committed, loadRecordBytes(t, alice.store, bob.addr), "case %d: original", k)
		requireSameBytes(t, committed, loadRecordBytes(t, alice.store, copyAddr), "case %d: copy", k)

		// Each address moves on alone.
		roundTrips(t, alice, bob, 1)
		requireSameBytes(t, committed, loadRecordBytes(t, alice.store, copyAddr), "case %d: copy after the original moved on", k)
		now := loadRecordBytes(t, alice.store, bob.addr)
		_, err := alice.m.Encrypt(ctx, copyAddr, []byte("to the copy"))
		require.NoError(t, err)
		requireSameBytes(t, now, loadRecordBytes(t, alice.store, bob.addr), "case %d: original after the copy moved on", k)
		require.True(t, alice.store.DeleteSession(copyAddr))
		requireSameBytes(t, now, loadRecordBytes(t, alice.store, bob.addr), "case %d: original after the copy was deleted", k)
		roundTrips(t, alice, bob, 1)
	}
}

// Records the store reuses start empty: a stored record without a current
// state has none when loaded or lent, however many records were wiped
// before, and its archived state serves a straggler of the old session.
func TestMemoryRecordWithoutCurrentState(t *testing.T) {
	ctx := context.Background()
	alice, bob := newEstablishedPair(t, pqxdh)
	roundTrips(t, alice, bob, 3) // records wiped and reused

	empty := otherDevice(bob, 6)
	require.NoError(t, alice.store.StoreSession(ctx, empty, session.NewRecord()))
	rec := loadRecord(t, alice.store, empty)
	require.NotNil(t, rec)
	assert.False(t, rec.HasCurrentState())
	assert.Zero(t, rec.ArchivedStates())
	require.NoError(t, alice.store.Atomic(ctx, empty, func(ctx context.Context, tx session.Stores) error {
		r, err := tx.Sessions.LoadSession(ctx, empty)
		require.NoError(t, err)
		assert.False(t, r.HasCurrentState(), "a lent empty record")
		assert.Zero(t, r.ArchivedStates())
		return tx.Sessions.StoreSession(ctx, empty, r)
	}))
	_, err := alice.m.Encrypt(ctx, empty, []byte("x"))
	require.ErrorIs(t, err, session.ErrNoSession)
	assert.Empty(t, loadRecordBytes(t, alice.store, empty))

	// Bob sends on the session; alice starts a new one, then loses its
	// current state: only the old session, archived, is left.
	straggler := bob.send(t, alice, "straggler")
	alice.startSession(t, bob, pqxdh)
	b := loadRecordBytes(t, alice.store, bob.addr)
	var out []byte
	for _, f := range parseProtoFields(t, b) {
		if f.num != 1 {
			out = f.appendTo(out)
		}
	}
	storeRecordBytes(t, alice.store, bob.addr, out)
	carol := newParty(t, "carol", 3)
	alice.startSession(t, carol, pqxdh)
	roundTrips(t, alice, carol, 2) // more records wiped and reused
	_, err = alice.m.Encrypt(ctx, bob.addr, []byte("x"))
	require.ErrorIs(t, err, session.ErrNoSession)
	rec = loadRecord(t, alice.store, bob.addr)
	assert.False(t, rec.HasCurrentState())
	require.Equal(t, 1, rec.ArchivedStates())

	assert.Equal(t, "straggler", alice.recv(t, bob, straggler))
	rec = loadRecord(t, alice.store, bob.addr)
	info := mustInfo(t, rec)
	assert.Equal(t, bob.id.PublicKey(), info.RemoteIdentity)
	assert.Zero(t, rec.ArchivedStates(), "the archived state became current; nothing else was archived")
	roundTrips(t, alice, bob, 1)
}
