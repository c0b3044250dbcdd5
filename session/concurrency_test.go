package session_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/session"
)

// Two Managers over one store (two processes sharing a database, in
// miniature) race on the same peer. With the store's Atomic, every message
// is accepted exactly once (a replay racing its original is refused), and
// no update is lost: every message either Manager encrypts decrypts at the
// peer. Without Atomic the second Manager would load a record the first
// is about to overwrite.
func TestTwoManagersOneStore(t *testing.T) {
	ctx := context.Background()
	alice, bob := newPair(t)
	bob2, err := session.New(bob.store.Stores())
	require.NoError(t, err)
	bobs := []*session.Manager{bob.m, bob2}
	alice.startSession(t, bob, pqxdh)

	const n = 40
	var cts []session.Ciphertext
	for i := range n {
		cts = append(cts, alice.send(t, bob, fmt.Sprint("m", i)))
	}
	// Both Managers receive every message (a redelivery racing the
	// original), in parallel, one of them in reverse order.
	var accepted [n]atomic.Int32
	var wg sync.WaitGroup
	for k, m := range bobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range n {
				i := j
				if k == 1 {
					i = n - 1 - j
				}
				pt, err := m.Decrypt(ctx, alice.addr, cts[i])
				switch {
				case err == nil:
					assert.Equal(t, fmt.Sprint("m", i), string(pt))
					accepted[i].Add(1)
				case !errors.Is(err, session.ErrDuplicateMessage):
					t.Errorf("message %d: %v", i, err)
				}
			}
		}()
	}
	wg.Wait()
	for i := range n {
		assert.Equal(t, int32(1), accepted[i].Load(), "message %d accepted exactly once", i)
	}

	// Both Managers send in parallel: no sending-chain update is lost, so
	// no two ciphertexts share a message key and all decrypt at Alice.
	var mu sync.Mutex
	var out []session.Ciphertext
	for _, m := range bobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				ct, err := m.Encrypt(ctx, alice.addr, []byte("from bob"))
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				out = append(out, ct)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, out, 2*n)
	for i, ct := range out {
		pt, err := alice.m.Decrypt(ctx, bob.addr, ct)
		require.NoError(t, err, "ciphertext %d", i)
		assert.Equal(t, "from bob", string(pt))
	}
	assert.Zero(t, session.LockedAddresses(bob.m))
	assert.Zero(t, session.TxLockedAddresses(bob.store))
}

// The per-address lock maps keep no entry for an address nobody is using.
func TestLockMapPruned(t *testing.T) {
	ctx := context.Background()
	bob := newParty(t, "bob", 2)
	// Well-formed, so that Decrypt gets as far as the lock.
	forged := forgedWhisper(t, 0)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := session.Address{Name: fmt.Sprint("peer", i%7), DeviceID: uint32(i)}
			_, err := bob.m.Encrypt(ctx, addr, []byte("x"))
			assert.ErrorIs(t, err, session.ErrNoSession)
			_, err = bob.m.Decrypt(ctx, addr, forged)
			assert.ErrorIs(t, err, session.ErrNoSession)
		}()
	}
	wg.Wait()
	assert.Zero(t, session.LockedAddresses(bob.m))
	assert.Zero(t, session.TxLockedAddresses(bob.store))
}

// barrierAtomic puts a barrierPreKeys into every transaction.
type barrierAtomic struct {
	inner   session.Atomic
	arrived chan struct{}
}

func (a barrierAtomic) Atomic(ctx context.Context, addr session.Address, fn func(context.Context, session.Stores) error) error {
	return a.inner.Atomic(ctx, addr, func(ctx context.Context, tx session.Stores) error {
		tx.PreKeys = &barrierPreKeys{PreKeyStore: tx.PreKeys, arrived: a.arrived, n: 2}
		return fn(ctx, tx)
	})
}

// Two Managers over one store (no lock in common but the store's) get
// PreKey messages from two peers that use the same one-time pre-key (a
// server handed it out twice), and both load it before either commits:
// MemoryStore's commit refuses the second use.
func TestOneTimePreKeyTwoManagers(t *testing.T) {
	ctx := context.Background()
	bob := newParty(t, "bob", 2)
	bundle := bob.bundle(t, pqxdh)
	a1 := newParty(t, "alice1", 11)
	a2 := newParty(t, "alice2", 12)
	require.NoError(t, a1.m.ProcessBundle(ctx, bob.addr, bundle))
	require.NoError(t, a2.m.ProcessBundle(ctx, bob.addr, bundle))
	c1, c2 := a1.send(t, bob, "from 1"), a2.send(t, bob, "from 2")

	stores := bob.store.Stores()
	stores.Atomic = barrierAtomic{inner: bob.store, arrived: make(chan struct{}, 2)}
	errs := make(chan error, 2)
	for _, x := range []struct {
		from *party
		ct   session.Ciphertext
	}{{a1, c1}, {a2, c2}} {
		m, err := session.New(stores)
		require.NoError(t, err)
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
			var pe *session.PreKeyIDError
			assert.ErrorAs(t, err, &pe)
		}
	}
	assert.Equal(t, 1, ok, "one PreKey message uses the one-time pre-key, the other is refused")
	assert.Zero(t, bob.store.PreKeyCount())
}

var errSerialization = errors.New("test: serialization failure")

// retryingAtomic runs every transaction twice: the first run is thrown
// away as if the database had reported a serialization failure at commit,
// as a SQL store may do; the implementation then runs fn again.
type retryingAtomic struct {
	inner session.Atomic
	runs  *atomic.Int32
}

func (a retryingAtomic) Atomic(ctx context.Context, addr session.Address, fn func(context.Context, session.Stores) error) error {
	for attempt := 0; ; attempt++ {
		err := a.inner.Atomic(ctx, addr, func(ctx context.Context, tx session.Stores) error {
			a.runs.Add(1)
			if err := fn(ctx, tx); err != nil {
				return err
			}
			if attempt == 0 {
				return errSerialization
			}
			return nil
		})
		if !errors.Is(err, errSerialization) {
			return err
		}
	}
}

// The Manager's transactions may be run again (Atomic's contract): a
// second run starts from the stored state, not from what the first run
// left in memory.
func TestTransactionsRunAgain(t *testing.T) {
	ctx := context.Background()
	runs := new(atomic.Int32)
	wrap := func(p *party) {
		st := p.store.Stores()
		st.Atomic = retryingAtomic{inner: p.store, runs: runs}
		m, err := session.New(st)
		require.NoError(t, err)
		p.m = m
	}
	alice, bob := newPair(t)
	wrap(alice)
	wrap(bob)
	alice.startSession(t, bob, pqxdh)
	first := alice.send(t, bob, "one")
	assert.Equal(t, "one", bob.recv(t, alice, first))
	_, err := bob.m.Decrypt(ctx, alice.addr, first)
	require.ErrorIs(t, err, session.ErrDuplicateMessage)
	roundTrips(t, bob, alice, 5)
	assert.Zero(t, bob.store.PreKeyCount())
	assert.Greater(t, runs.Load(), int32(2*(3+20)), "every operation ran twice")
}
