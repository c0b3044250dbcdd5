package session_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/session"
)

var errTransient = errors.New("test: transient store failure")

// faults counts the store writes of a Manager and fails the chosen ones.
type faults struct {
	mu     sync.Mutex
	n      int
	failAt int            // fail write number failAt (1-based); 0: none
	failOp map[string]int // or: fail the next k writes of an operation
	ops    []string       // every write attempted, in order
}

func (f *faults) write(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	f.ops = append(f.ops, op)
	if f.n == f.failAt {
		return fmt.Errorf("%s: %w", op, errTransient)
	}
	if f.failOp[op] > 0 {
		f.failOp[op]--
		return fmt.Errorf("%s: %w", op, errTransient)
	}
	return nil
}

func (f *faults) reset(failAt int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n, f.failAt, f.ops = 0, failAt, nil
}

// faultyStores wraps stores; every write goes through faults first and is
// not made if it fails.
type faultyStores struct {
	f     *faults
	inner session.Stores
}

func (s faultyStores) IdentityKeyPair(ctx context.Context) (*keys.PrivateKey, error) {
	return s.inner.Identity.IdentityKeyPair(ctx)
}
func (s faultyStores) LocalRegistrationID(ctx context.Context) (uint32, error) {
	return s.inner.Identity.LocalRegistrationID(ctx)
}
func (s faultyStores) SaveIdentity(ctx context.Context, a session.Address, k keys.PublicKey) (bool, error) {
	if err := s.f.write("SaveIdentity"); err != nil {
		return false, err
	}
	return s.inner.Identity.SaveIdentity(ctx, a, k)
}
func (s faultyStores) IsTrustedIdentity(ctx context.Context, a session.Address, k keys.PublicKey, d session.Direction) (bool, error) {
	return s.inner.Identity.IsTrustedIdentity(ctx, a, k, d)
}
func (s faultyStores) Identity(ctx context.Context, a session.Address) (keys.PublicKey, bool, error) {
	return s.inner.Identity.Identity(ctx, a)
}
func (s faultyStores) LoadPreKey(ctx context.Context, id uint32) (*prekey.PreKeyRecord, error) {
	return s.inner.PreKeys.LoadPreKey(ctx, id)
}
func (s faultyStores) StorePreKey(ctx context.Context, r *prekey.PreKeyRecord) error {
	if err := s.f.write("StorePreKey"); err != nil {
		return err
	}
	return s.inner.PreKeys.StorePreKey(ctx, r)
}
func (s faultyStores) RemovePreKey(ctx context.Context, id uint32) error {
	if err := s.f.write("RemovePreKey"); err != nil {
		return err
	}
	return s.inner.PreKeys.RemovePreKey(ctx, id)
}
func (s faultyStores) LoadSignedPreKey(ctx context.Context, id uint32) (*prekey.SignedPreKeyRecord, error) {
	return s.inner.SignedPreKeys.LoadSignedPreKey(ctx, id)
}
func (s faultyStores) StoreSignedPreKey(ctx context.Context, r *prekey.SignedPreKeyRecord) error {
	if err := s.f.write("StoreSignedPreKey"); err != nil {
		return err
	}
	return s.inner.SignedPreKeys.StoreSignedPreKey(ctx, r)
}
func (s faultyStores) LoadKyberPreKey(ctx context.Context, id uint32) (*prekey.KyberPreKeyRecord, error) {
	return s.inner.KyberPreKeys.LoadKyberPreKey(ctx, id)
}
func (s faultyStores) StoreKyberPreKey(ctx context.Context, r *prekey.KyberPreKeyRecord) error {
	if err := s.f.write("StoreKyberPreKey"); err != nil {
		return err
	}
	return s.inner.KyberPreKeys.StoreKyberPreKey(ctx, r)
}
func (s faultyStores) MarkKyberPreKeyUsed(ctx context.Context, id, spk uint32, base keys.PublicKey) error {
	if err := s.f.write("MarkKyberPreKeyUsed"); err != nil {
		return err
	}
	return s.inner.KyberPreKeys.MarkKyberPreKeyUsed(ctx, id, spk, base)
}
func (s faultyStores) LoadSession(ctx context.Context, a session.Address) (*session.Record, error) {
	return s.inner.Sessions.LoadSession(ctx, a)
}
func (s faultyStores) StoreSession(ctx context.Context, a session.Address, r *session.Record) error {
	if err := s.f.write("StoreSession"); err != nil {
		return err
	}
	return s.inner.Sessions.StoreSession(ctx, a, r)
}

// Atomic wraps the inner transaction's stores.
func (s faultyStores) Atomic(ctx context.Context, a session.Address, fn func(context.Context, session.Stores) error) error {
	return s.inner.Atomic.Atomic(ctx, a, func(ctx context.Context, tx session.Stores) error {
		return fn(ctx, faultyStores{f: s.f, inner: tx}.stores(false))
	})
}

func (s faultyStores) stores(atomic bool) session.Stores {
	st := session.Stores{Identity: s, PreKeys: s, SignedPreKeys: s, KyberPreKeys: s, Sessions: s}
	if atomic {
		st.Atomic = s
	}
	return st
}

// newFaultyManager returns a Manager (X3DH enabled) over p's store through
// a faults wrapper, with or without the store's Atomic.
func newFaultyManager(t testing.TB, p *party, atomic bool) (*session.Manager, *faults) {
	t.Helper()
	f := &faults{failOp: map[string]int{}}
	m, err := session.New(faultyStores{f: f, inner: p.store.Stores()}.stores(atomic), session.WithX3DH(true))
	require.NoError(t, err)
	return m, f
}

var modes = []struct {
	name   string
	atomic bool
}{{"ordered", false}, {"atomic", true}}

// For every N, a decrypt whose N-th store write fails returns the error
// and no plaintext; a retry then gives the plaintext, exactly once, and
// the session goes on: with MemoryStore's Atomic and without it (the
// Manager's write order). Covered: a first PreKey message (new session,
// with and without a one-time pre-key), a second PreKey message on the
// same session, a Whisper message with a DH ratchet step, and an X3DH
// first message.
func TestDecryptFaultEveryWrite(t *testing.T) {
	ctx := context.Background()
	type scenario struct {
		name   string
		bundle bundleKind
		// setup brings the session to the message under test and returns it.
		setup func(t *testing.T, alice, bob *party) session.Ciphertext
	}
	first := func(t *testing.T, alice, bob *party) session.Ciphertext { return alice.send(t, bob, "target") }
	scenarios := []scenario{
		{"PreKey-first-OPK", pqxdh, first},
		{"PreKey-first-noOPK", pqxdhNoOPK, first},
		{"PreKey-first-X3DH", x3dh, first},
		{"PreKey-second", pqxdh, func(t *testing.T, alice, bob *party) session.Ciphertext {
			c1 := alice.send(t, bob, "one")
			c2 := alice.send(t, bob, "target")
			assert.Equal(t, "one", bob.recv(t, alice, c1))
			return c2
		}},
		{"Whisper", pqxdh, func(t *testing.T, alice, bob *party) session.Ciphertext {
			assert.Equal(t, "one", bob.recv(t, alice, alice.send(t, bob, "one")))
			assert.Equal(t, "two", alice.recv(t, bob, bob.send(t, alice, "two")))
			return alice.send(t, bob, "target")
		}},
	}
	for _, mode := range modes {
		for _, sc := range scenarios {
			t.Run(mode.name+"/"+sc.name, func(t *testing.T) {
				writes := 0
				for n := 1; ; n++ {
					alice, bob := newPair(t, withOptions(session.WithX3DH(true)))
					alice.startSession(t, bob, sc.bundle)
					ct := sc.setup(t, alice, bob)
					m, f := newFaultyManager(t, bob, mode.atomic)
					f.reset(n)
					pt, err := m.Decrypt(ctx, alice.addr, ct)
					if err == nil {
						// n is past the last write: the decrypt made n-1 writes.
						assert.Equal(t, "target", string(pt))
						writes = n - 1
						break
					}
					require.ErrorIs(t, err, errTransient, "write %d (%v)", n, f.ops)
					assert.Nil(t, pt)
					f.reset(0)
					pt, err = m.Decrypt(ctx, alice.addr, ct)
					require.NoError(t, err, "retry after write %d (%v) failed", n, f.ops)
					assert.Equal(t, "target", string(pt))
					_, err = m.Decrypt(ctx, alice.addr, ct)
					require.ErrorIs(t, err, session.ErrDuplicateMessage, "delivered exactly once")
					if sc.bundle.opk {
						assert.Zero(t, bob.store.PreKeyCount(), "the one-time pre-key is used up")
					}
					// The session goes on, both ways.
					assert.Equal(t, "reply", alice.recv(t, bob, bob.send(t, alice, "reply")))
					assert.Equal(t, "more", bob.recv(t, alice, alice.send(t, bob, "more")))
					if sc.bundle.kyber != 0 && !sc.bundle.opk && sc.name != "Whisper" {
						// The Kyber pre-key was marked: a replay after the
						// session is gone does not start a new one.
						bob.store.DeleteSession(alice.addr)
						_, err = bob.m.Decrypt(ctx, alice.addr, ct)
						require.ErrorIs(t, err, session.ErrReusedBaseKey)
					}
				}
				assert.GreaterOrEqual(t, writes, 2, "the scenario writes")
			})
		}
	}
}

// A transient StoreSession error while decrypting the first (PreKey)
// message used to lose it for good: the pre-key and Kyber writes were
// already made, and the retry failed with ErrInvalidPreKeyID (or
// ErrReusedBaseKey without a one-time pre-key).
func TestTransientStoreSessionKeepsFirstMessage(t *testing.T) {
	ctx := context.Background()
	for _, opk := range []bool{true, false} {
		t.Run(fmt.Sprint("opk=", opk), func(t *testing.T) {
			alice, bob := newPair(t)
			alice.startSession(t, bob, bundleKind{opk: opk, kyber: kem.Kyber1024})
			ct := alice.send(t, bob, "first")
			m, f := newFaultyManager(t, bob, false)
			f.failOp["StoreSession"] = 1
			_, err := m.Decrypt(ctx, alice.addr, ct)
			require.ErrorIs(t, err, errTransient)
			pt, err := m.Decrypt(ctx, alice.addr, ct)
			require.NoError(t, err)
			assert.Equal(t, "first", string(pt))
		})
	}
}

// Receive runs the handler inside the transaction: the session advances
// if and only if the handler succeeded, and what the handler commits
// (MemoryOnCommit here, the application's own rows with a SQL store) is
// committed exactly once, even when a store write fails after it ran.
func TestReceiveHandlerCommitsWithSession(t *testing.T) {
	ctx := context.Background()
	alice, bob := newPair(t)
	alice.startSession(t, bob, pqxdh)
	m, f := newFaultyManager(t, bob, true)

	var saved []string
	save := func(ctx context.Context, pt []byte) error {
		msg := string(pt)
		require.True(t, session.MemoryOnCommit(ctx, func() { saved = append(saved, msg) }), "ctx carries the transaction")
		return nil
	}
	errApp := errors.New("app: disk full")
	fail := func(context.Context, []byte) error { return errApp }

	for i, ct := range []session.Ciphertext{alice.send(t, bob, "one"), alice.send(t, bob, "two")} {
		before := loadRecordBytes(t, bob.store, alice.addr)
		// The handler fails: nothing changes, nothing is used up.
		require.ErrorIs(t, m.Receive(ctx, alice.addr, ct, fail), errApp)
		assert.Equal(t, before, loadRecordBytes(t, bob.store, alice.addr))
		assert.Equal(t, 1-i, bob.store.PreKeyCount())
		// A store write after the handler fails: the handler's writes are
		// dropped with the rest.
		f.failOp["StoreSession"] = 1
		require.ErrorIs(t, m.Receive(ctx, alice.addr, ct, save), errTransient)
		assert.Len(t, saved, i)
		assert.Equal(t, before, loadRecordBytes(t, bob.store, alice.addr))
		// Redelivery succeeds, once.
		require.NoError(t, m.Receive(ctx, alice.addr, ct, save))
		require.ErrorIs(t, m.Receive(ctx, alice.addr, ct, save), session.ErrDuplicateMessage)
	}
	assert.Equal(t, []string{"one", "two"}, saved)
	assert.Zero(t, bob.store.PreKeyCount())
	assert.False(t, session.MemoryOnCommit(ctx, func() {}), "no transaction outside Atomic")

	// Without Atomic the handler still decides whether the session
	// advances.
	m2, _ := newFaultyManager(t, bob, false)
	ct := alice.send(t, bob, "three")
	require.ErrorIs(t, m2.Receive(ctx, alice.addr, ct, fail), errApp)
	var got string
	require.NoError(t, m2.Receive(ctx, alice.addr, ct, func(_ context.Context, pt []byte) error {
		got = string(pt)
		return nil
	}))
	assert.Equal(t, "three", got)
}

// Encrypt stores the advanced sending chain before it returns the
// ciphertext; when the store fails it returns no ciphertext, and the next
// Encrypt does not reuse the chain key.
func TestEncryptCommitsBeforeReturning(t *testing.T) {
	ctx := context.Background()
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			alice, bob := newEstablishedPair(t, pqxdh)
			m, f := newFaultyManager(t, alice, mode.atomic)
			before := loadRecordBytes(t, alice.store, bob.addr)
			f.failOp["StoreSession"] = 1
			ct, err := m.Encrypt(ctx, bob.addr, []byte("lost"))
			require.ErrorIs(t, err, errTransient)
			assert.Empty(t, ct.Bytes)
			assert.Equal(t, before, loadRecordBytes(t, alice.store, bob.addr))
			ct, err = m.Encrypt(ctx, bob.addr, []byte("sent"))
			require.NoError(t, err)
			assert.NotEqual(t, before, loadRecordBytes(t, alice.store, bob.addr), "stored before returned")
			assert.Equal(t, "sent", bob.recv(t, alice, ct))
			assert.Equal(t, []string{"StoreSession", "SaveIdentity", "StoreSession"}, f.ops[len(f.ops)-3:])
		})
	}
}

// Without Atomic, a replayed PreKey message whose session is gone is
// refused by the Kyber mark (ErrReusedBaseKey) after its new state was
// staged; the staging is undone, so a second replay is refused too rather
// than decrypted by the staged state.
func TestReplayRefusedWithoutAtomic(t *testing.T) {
	ctx := context.Background()
	alice, bob := newPair(t)
	alice.startSession(t, bob, pqxdhNoOPK)
	ct := alice.send(t, bob, "hi")
	m, _ := newFaultyManager(t, bob, false)
	pt, err := m.Decrypt(ctx, alice.addr, ct)
	require.NoError(t, err)
	assert.Equal(t, "hi", string(pt))
	bob.store.DeleteSession(alice.addr)
	for range 2 {
		_, err = m.Decrypt(ctx, alice.addr, ct)
		require.ErrorIs(t, err, session.ErrReusedBaseKey)
		rec := loadRecord(t, bob.store, alice.addr)
		assert.True(t, rec == nil || !rec.HasCurrentState(), "no session left behind")
	}
}
