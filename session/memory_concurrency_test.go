package session_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/session"
)

// Conversations over one MemoryStore, run concurrently (go test -race
// checks the store's locking): a hub with two Managers over one store
// talks with three peers, one goroutine per side of each conversation,
// every message delivered in order, so that every one must decrypt. Two
// more goroutines meanwhile use the hub's store directly on the same
// addresses: they load records (each must encode consistently and never
// change afterwards), copy them to addresses of their own inside and
// outside transactions, delete those, and run transactions on the
// conversations' addresses that store the record back unchanged or fail.
// The peers' stores run at the same time, sharing the record pool. Each
// of the two goroutines makes at least minNoise direct operations.
func TestMemoryStoreConcurrentDecoded(t *testing.T) {
	ctx := context.Background()
	n, minNoise := 300, 400
	if testing.Short() {
		n, minNoise = 60, 100
	}
	hub := newParty(t, "hub", 1)
	hub2, err := session.New(hub.store.Stores())
	require.NoError(t, err)
	managers := []*session.Manager{hub.m, hub2}
	var peers []*party
	for k, kind := range []bundleKind{pqxdh, pqxdhNoOPK, pqxdh} {
		p := newParty(t, fmt.Sprint("peer", k), uint32(10+k))
		if k == 1 {
			// Bob (the hub) starts this one.
			hub.startSession(t, p, kind)
			roundTrips(t, hub, p, 1)
		} else {
			p.startSession(t, hub, kind)
			roundTrips(t, p, hub, 1)
		}
		peers = append(peers, p)
	}

	var convs, noise sync.WaitGroup
	done := make(chan struct{})
	for k, p := range peers {
		toHub := make(chan session.Ciphertext, n)
		toPeer := make(chan session.Ciphertext, n)
		// side runs one end of conversation k: it sends n messages,
		// reading what has arrived in between, then reads the rest.
		side := func(name string, send func(i int) (session.Ciphertext, error), out chan<- session.Ciphertext,
			recv func(i int, ct session.Ciphertext) (string, error), in <-chan session.Ciphertext, peerName string) {
			defer convs.Done()
			got := 0
			read := func(ct session.Ciphertext) {
				pt, err := recv(got, ct)
				if assert.NoError(t, err, "%s reads message %d", name, got) {
					assert.Equal(t, fmt.Sprintf("%s %d", peerName, got), pt)
				}
				got++
			}
			for i := range n {
				ct, err := send(i)
				if !assert.NoError(t, err, "%s sends message %d", name, i) {
					return
				}
				out <- ct
				for more := true; more; {
					select {
					case ct := <-in:
						read(ct)
					default:
						more = false
					}
				}
			}
			for got < n {
				read(<-in)
			}
		}
		hubName, peerName := fmt.Sprint("hub", k), fmt.Sprint("peer", k)
		convs.Add(2)
		go side(hubName, func(i int) (session.Ciphertext, error) {
			return managers[i%2].Encrypt(ctx, p.addr, fmt.Appendf(nil, "%s %d", hubName, i))
		}, toPeer, func(i int, ct session.Ciphertext) (string, error) {
			m := managers[(i/2)%2]
			if i%2 == 0 {
				pt, err := m.Decrypt(ctx, p.addr, ct)
				return string(pt), err
			}
			var pt string
			err := m.Receive(ctx, p.addr, ct, func(_ context.Context, b []byte) error {
				pt = string(b)
				return nil
			})
			return pt, err
		}, toHub, peerName)
		go side(peerName, func(i int) (session.Ciphertext, error) {
			return p.m.Encrypt(ctx, hub.addr, fmt.Appendf(nil, "%s %d", peerName, i))
		}, toHub, func(_ int, ct session.Ciphertext) (string, error) {
			pt, err := p.m.Decrypt(ctx, hub.addr, ct)
			return string(pt), err
		}, toPeer, hubName)
	}

	// enc is encoding for the goroutines, which must not call FailNow.
	enc := func(r *session.Record) []byte {
		if !assert.NotNil(t, r) {
			return nil
		}
		b, err := r.MarshalBinary()
		assert.NoError(t, err)
		return b
	}
	errFail := errors.New("test: fn fails")
	var noiseOps atomic.Int64
	var heldMu sync.Mutex
	var held []heldRecord
	for g := range 2 {
		noise.Add(1)
		go func() {
			defer noise.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			own := func() session.Address {
				return session.Address{Name: fmt.Sprint("noise", g), DeviceID: uint32(1 + rng.IntN(3))}
			}
			for i := 0; ; i++ {
				select {
				case <-done:
					if i >= minNoise {
						noiseOps.Add(int64(i))
						return
					}
				default:
				}
				addr := peers[rng.IntN(len(peers))].addr
				switch rng.IntN(6) {
				case 0, 1: // load: the copy encodes consistently and is kept
					rec, err := hub.store.LoadSession(ctx, addr)
					if !assert.NoError(t, err) || !assert.NotNil(t, rec) {
						return
					}
					b, err := rec.MarshalBinary()
					assert.NoError(t, err)
					again, err := session.ParseRecord(b)
					if assert.NoError(t, err, "a loaded record parses") {
						assert.Equal(t, b, enc(again), "a loaded record re-encodes to itself")
					}
					if i%8 == 0 {
						heldMu.Lock()
						held = append(held, heldRecord{fmt.Sprint("noise", g, " op ", i), rec, b})
						heldMu.Unlock()
					}
				case 2: // copy to an own address outside a transaction
					rec, err := hub.store.LoadSession(ctx, addr)
					if !assert.NoError(t, err) {
						return
					}
					to := own()
					assert.NoError(t, hub.store.StoreSession(ctx, to, rec))
					stored, err := hub.store.LoadSession(ctx, to)
					assert.NoError(t, err)
					assert.Equal(t, enc(rec), enc(stored), "a stored copy")
				case 3: // delete an own address
					hub.store.DeleteSession(own())
				case 4: // a transaction on a conversation: stores back unchanged, or fails
					fail := rng.IntN(2) == 0
					err := hub.store.Atomic(ctx, addr, func(ctx context.Context, tx session.Stores) error {
						rec, err := tx.Sessions.LoadSession(ctx, addr)
						if err != nil {
							return err
						}
						if err := tx.Sessions.StoreSession(ctx, addr, rec); err != nil {
							return err
						}
						if fail {
							return errFail
						}
						return nil
					})
					if fail {
						assert.ErrorIs(t, err, errFail)
					} else {
						assert.NoError(t, err)
					}
				case 5: // a transaction on an own address copies a conversation's record
					to := own()
					err := hub.store.Atomic(ctx, to, func(ctx context.Context, tx session.Stores) error {
						rec, err := tx.Sessions.LoadSession(ctx, addr)
						if err != nil {
							return err
						}
						return tx.Sessions.StoreSession(ctx, to, rec)
					})
					assert.NoError(t, err)
				}
			}
		}()
	}
	convs.Wait()
	close(done)
	noise.Wait()
	if t.Failed() {
		return
	}

	for _, h := range held {
		requireSameBytes(t, h.b, encoding(t, h.rec), "record loaded at %s, kept", h.what)
	}
	require.NotEmpty(t, held)
	t.Logf("%d messages each way in %d conversations; %d direct store operations", n, len(peers), noiseOps.Load())
	for _, p := range peers {
		roundTrips(t, hub, p, 2)
	}
	assert.Zero(t, session.TxLockedAddresses(hub.store))
	assert.Zero(t, session.LockedAddresses(hub.m))
	assert.Zero(t, session.LockedAddresses(hub2))
}
