package session_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/ratchet"
	"github.com/ratchetlab/signal/session"
)

// newPairWithManyStates gives bob a record for alice with a current state and
// MaxArchivedStates archived ones, each set up by a PreKey message of
// alice's; fat fills each with the most skipped keys a peer can make us
// keep (MaxReceiverChains chains of MaxMessageKeys).
func newPairWithManyStates(tb testing.TB, fat bool) (alice, bob *party) {
	tb.Helper()
	alice, bob = newPair(tb)
	for range session.MaxArchivedStates + 1 {
		alice.startSession(tb, bob, pqxdhNoOPK)
		require.Equal(tb, "hi", bob.recv(tb, alice, alice.send(tb, bob, "hi")))
		if fat {
			fatten(tb, alice, bob)
		}
	}
	require.Equal(tb, session.MaxArchivedStates, loadRecord(tb, bob.store, alice.addr).ArchivedStates())
	return alice, bob
}

// fatten makes bob's current state for alice keep the most skipped keys
// alice can make it keep: on each of MaxReceiverChains receiving chains,
// alice skips MaxMessageKeys messages, then bob answers so that her next
// message starts a new chain.
func fatten(tb testing.TB, alice, bob *party) {
	tb.Helper()
	for range ratchet.MaxReceiverChains {
		alice.skipAhead(tb, bob, ratchet.MaxMessageKeys)
		require.Equal(tb, "gap", bob.recv(tb, alice, alice.send(tb, bob, "gap")))
		require.Equal(tb, "ok", alice.recv(tb, bob, bob.send(tb, alice, "ok")))
	}
}

// BenchmarkForgedWhisper measures what one forged Whisper message (fresh
// ratchet key, random MAC) costs a receiver whose record for the sender
// holds 1 current and 40 archived states, for counters that make each
// state run a DH step and up to MaxForwardJumps (25,000), MaxArchivedJump
// (2,000) or no chain steps before the MAC check.
func BenchmarkForgedWhisper(b *testing.B) {
	alice, bob := newPairWithManyStates(b, false)
	for _, counter := range []uint32{ratchet.MaxForwardJumps, ratchet.MaxMessageKeys, 0} {
		b.Run(fmt.Sprint("counter=", counter), func(b *testing.B) {
			ctx := context.Background()
			ct := forgedWhisper(b, counter)
			cpu := meter(b)
			for b.Loop() {
				if _, err := bob.m.Decrypt(ctx, alice.addr, ct); err == nil {
					b.Fatal("a forged message decrypted")
				}
			}
			cpu.done()
		})
	}
}

// BenchmarkPinnedRecord measures the largest record one peer can make us
// keep (41 states, each with as many skipped keys as the peer can make it
// keep), reported as record-MiB, and the cost of an ordinary message while
// that record is stored (it is decoded and encoded on every message).
func BenchmarkPinnedRecord(b *testing.B) {
	ctx := context.Background()
	alice, bob := newPairWithManyStates(b, true)
	b.ReportMetric(float64(len(loadRecordBytes(b, bob.store, alice.addr)))/(1<<20), "record-MiB")
	msg := make([]byte, 100)
	var queue []session.Ciphertext
	cpu := meter(b)
	for b.Loop() {
		if len(queue) == 0 {
			cpu.stop()
			for range 64 {
				queue = append(queue, alice.send(b, bob, string(msg)))
			}
			cpu.resume()
		}
		if _, err := bob.m.Decrypt(ctx, alice.addr, queue[0]); err != nil {
			b.Fatal(err)
		}
		queue = queue[1:]
	}
	cpu.done()
	b.ReportMetric(float64(len(loadRecordBytes(b, bob.store, alice.addr)))/(1<<20), "record-MiB")
}

// A state keeps at most MaxArchivedSkippedKeys skipped keys once archived
// (the newest): one peer can no longer make us keep 41 × 10,000 of them.
func TestArchivedSkippedKeysBounded(t *testing.T) {
	alice, bob := newPair(t, withOptions(session.WithSPQR(false)))
	alice.startSession(t, bob, pqxdhNoOPK)
	require.Equal(t, "hi", bob.recv(t, alice, alice.send(t, bob, "hi")))
	fatten(t, alice, bob)
	// The newest skipped key: it must survive the archiving.
	kept := alice.send(t, bob, "kept")
	require.Equal(t, "after", bob.recv(t, alice, alice.send(t, bob, "after")))
	rec := loadRecord(t, bob.store, alice.addr)
	require.Equal(t, (ratchet.MaxReceiverChains-1)*ratchet.MaxMessageKeys+1, session.CurrentStateForTest(rec).SkippedKeys())
	fat := len(loadRecordBytes(t, bob.store, alice.addr))
	assert.Greater(t, fat, 300_000)

	// A new session archives the fat state.
	alice.startSession(t, bob, pqxdhNoOPK)
	require.Equal(t, "new", bob.recv(t, alice, alice.send(t, bob, "new")))
	b := loadRecordBytes(t, bob.store, alice.addr)
	assert.Less(t, len(b), 3000+session.MaxArchivedSkippedKeys*45, "archived state trimmed (was %d bytes)", fat)
	// The newest skipped keys stay; the trial decryption finds the state.
	assert.Equal(t, "kept", bob.recv(t, alice, kept))
}

// An archived state is tried only for a message at most MaxArchivedJump
// ahead of its chain; nearer messages still decrypt, and once the state is
// current again libsignal's MaxForwardJumps applies.
func TestArchivedJumpBounded(t *testing.T) {
	ctx := context.Background()
	alice, bob := newEstablishedPair(t, pqxdhNoOPK)
	near := alice.send(t, bob, "near") // counter 0 of a new chain
	alice.skipAhead(t, bob, session.MaxArchivedJump)
	far := alice.send(t, bob, "far") // counter MaxArchivedJump+1

	// A new session from another device of Alice's identity archives the old one at Bob.
	alice2 := newParty(t, "alice", 1, withTrust(session.TrustAll), withIdentity(alice.id))
	alice2.startSession(t, bob, pqxdhNoOPK)
	require.Equal(t, "new", bob.recv(t, alice2, alice2.send(t, bob, "new")))

	before := loadRecordBytes(t, bob.store, alice.addr)
	_, err := bob.m.Decrypt(ctx, alice.addr, far)
	require.ErrorIs(t, err, session.ErrTooFarInFuture)
	assert.Equal(t, before, loadRecordBytes(t, bob.store, alice.addr))
	assert.Equal(t, "near", bob.recv(t, alice, near), "the archived state decrypts, and is promoted")
	assert.Equal(t, "far", bob.recv(t, alice, far), "a current state may jump MaxForwardJumps")
}
