package ratchet_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/cloudflare/circl/kem/mlkem/mlkem768"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/internal/spqrreplay"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/ratchet"
)

// deterministic makes s's DH ratchet keys (a sequence of its own) and
// SPQR randomness fixed, so that two copies given the same n encrypt the
// same messages.
func deterministic(t testing.TB, s *ratchet.State, n byte) {
	t.Helper()
	var i byte
	ratchet.SetKeyGenerator(s, func() (*keys.PrivateKey, error) {
		i++
		return keys.ParsePrivateKey(append([]byte{n, i}, make([]byte, 30)...))
	})
	if !s.HasPQRatchet() {
		return
	}
	var kseed [64]byte
	kseed[0] = n
	_, sk := mlkem768.NewKeyFromSeed(kseed[:])
	dk := make([]byte, mlkem768.PrivateKeySize)
	sk.Pack(dk)
	m := bytes.Repeat([]byte{n}, 32)
	ratchet.SetPQSend(s, func(st []byte) ([]byte, *[32]byte, []byte, error) {
		return spqrreplay.Send(st, dk, m)
	})
}

// exchange encrypts one message from from and, if deliver, decrypts it on
// to; otherwise it returns the message for later.
func exchange(t testing.TB, from, to *ratchet.State, deliver bool) *ratchet.Message {
	t.Helper()
	pt := []byte("message")
	ct, typ, err := from.Encrypt(nil, pt)
	require.NoError(t, err)
	m, err := parseAny(t, typ, ct)
	require.NoError(t, err)
	if !deliver {
		return &m
	}
	got, err := to.Decrypt(nil, &m)
	require.NoError(t, err)
	require.Equal(t, pt, got)
	return nil
}

// copyPoints runs a conversation and calls check at several points with
// both parties: fresh (pending pre-key), after DH steps, with skipped keys
// in several chains (past MaxReceiverChains), and, with SPQR, over several
// SPQR epochs.
func copyPoints(t *testing.T, version uint8, withSPQR bool, check func(point string, src, peer *ratchet.State)) {
	alice, bob := newPairSPQR(t, version, withSPQR)
	deterministic(t, alice, 1)
	deterministic(t, bob, 2)
	both := func(point string) {
		check(point+"/alice", alice, bob)
		check(point+"/bob", bob, alice)
	}
	both("fresh")
	exchange(t, alice, bob, true)
	both("bob received")
	exchange(t, bob, alice, true)
	both("alice received")
	var late []*ratchet.Message
	for i := range 12 { // DH steps with skipped keys in each chain
		from, to := alice, bob
		if i%2 == 1 {
			from, to = bob, alice
		}
		late = append(late, exchange(t, from, to, false))
		exchange(t, from, to, true)
		both(fmt.Sprintf("skipped %d", i))
	}
	// Both dropped their oldest chains (the receivers array shifted).
	require.Equal(t, ratchet.MaxReceiverChains, alice.ReceiverChains())
	require.Equal(t, ratchet.MaxReceiverChains, bob.ReceiverChains())
	// A late message of a kept chain.
	got, err := alice.Decrypt(nil, late[len(late)-1])
	require.NoError(t, err)
	require.Equal(t, []byte("message"), got)
	both("late")
	if !withSPQR {
		return
	}
	n := 80
	if raceEnabled {
		n = 40
	}
	for i := range n {
		exchange(t, alice, bob, true)
		exchange(t, bob, alice, true)
		if i%8 == 7 {
			both(fmt.Sprintf("spqr %d", i))
		}
	}
}

func TestCopyFrom(t *testing.T) {
	for _, tc := range []struct {
		name     string
		version  uint8
		withSPQR bool
	}{{"v3", ratchet.VersionX3DH, false}, {"v4", ratchet.VersionPQXDH, false}, {"v4-SPQR", ratchet.VersionPQXDH, true}} {
		t.Run(tc.name, func(t *testing.T) {
			// Destinations that held another session of another shape.
			oa, ob := newPairSPQR(t, ratchet.VersionPQXDH, !tc.withSPQR)
			for range 3 {
				exchange(t, oa, ob, false)
				exchange(t, oa, ob, true)
				exchange(t, ob, oa, true)
			}
			type held struct {
				st   *ratchet.State
				want []byte
			}
			var copies []held
			copyPoints(t, tc.version, tc.withSPQR, func(point string, src, peer *ratchet.State) {
				// Copies taken before must not change with the source.
				for _, h := range copies {
					require.Equal(t, h.want, encode(t, h.st), point)
				}
				if len(copies) == 2 {
					copies = copies[:0]
				}
				other := oa
				if len(copies) == 1 {
					other = ob
				}
				fresh, want := checkCopy(t, point, src, peer, other.Clone())
				copies = append(copies, held{fresh, want})
			})
		})
	}
}

// checkCopy copies src into a fresh State and into reused, advances both
// copies with the same messages and checks they agree while src stays as
// it was. It returns the fresh copy and its encoding.
func checkCopy(t *testing.T, point string, src, peer, reused *ratchet.State) (*ratchet.State, []byte) {
	t.Helper()
	want := encode(t, src)
	fresh := new(ratchet.State)
	fresh.CopyFrom(src)
	reused.CopyFrom(src)
	require.Equal(t, want, encode(t, fresh), point)
	require.Equal(t, want, encode(t, reused), point)
	require.Equal(t, src.PendingPreKey(), reused.PendingPreKey())
	require.Equal(t, src.PendingKyberPreKey(), reused.PendingKyberPreKey())
	require.Equal(t, src.AliceBaseKey(), reused.AliceBaseKey())
	// The same key sequence for both copies (the copied seam is shared).
	deterministic(t, fresh, 50)
	deterministic(t, reused, 50)

	// The copies encrypt the same message; src stays.
	var m *ratchet.Message
	if src.HasSenderChain() {
		ct1, typ1, err := fresh.Encrypt(nil, []byte("copy"))
		require.NoError(t, err)
		require.Equal(t, want, encode(t, reused), point)
		ct2, typ2, err := reused.Encrypt(nil, []byte("copy"))
		require.NoError(t, err)
		require.Equal(t, ct1, ct2, point)
		require.Equal(t, typ1, typ2)
		require.Equal(t, encode(t, fresh), encode(t, reused), point)
		require.Equal(t, want, encode(t, src), point)
		msg, err := parseAny(t, typ1, ct1)
		require.NoError(t, err)
		m = &msg
	}

	// Both decrypt the same reply of a copy of the peer (a DH step when
	// the peer answers a new ratchet key).
	p := peer.Clone()
	if m != nil {
		got, err := p.Decrypt(nil, m)
		require.NoError(t, err, point)
		require.Equal(t, []byte("copy"), got)
	}
	if p.HasSenderChain() {
		reply := exchange(t, p, nil, false)
		got1, err1 := fresh.Decrypt(nil, reply)
		got2, err2 := reused.Decrypt(nil, reply)
		require.Equal(t, err1, err2, point)
		require.Equal(t, got1, got2, point)
		require.Equal(t, encode(t, fresh), encode(t, reused), point)
		require.Equal(t, want, encode(t, src), point)
	}
	after := encode(t, fresh)

	// Mutations of one copy leave the other and the source.
	reused.TrimSkippedKeys(0)
	reused.ClearPendingPreKey()
	require.Equal(t, after, encode(t, fresh), point)
	reused.Reset()
	require.False(t, reused.HasSenderChain())
	require.Equal(t, after, encode(t, fresh), point)
	require.Equal(t, want, encode(t, src), point)
	reused.CopyFrom(src)
	require.Equal(t, want, encode(t, reused), point)
	reused.CopyFrom(peer) // overwriting a copy leaves its source
	require.Equal(t, encode(t, peer), encode(t, reused), point)
	require.Equal(t, want, encode(t, src), point)
	return fresh, after
}

func TestReset(t *testing.T) {
	for _, withSPQR := range []bool{false, true} {
		t.Run(fmt.Sprint("spqr=", withSPQR), func(t *testing.T) {
			alice, bob := newPairSPQR(t, ratchet.VersionPQXDH, withSPQR)
			var late *ratchet.Message
			for i := range 4 {
				late = exchange(t, alice, bob, false)
				exchange(t, alice, bob, true)
				exchange(t, bob, alice, i%2 == 0)
			}
			for _, src := range []*ratchet.State{alice, bob} {
				cp := src.Clone()
				wiped := ratchet.SecretsWiped(cp)
				require.False(t, wiped())
				cp.Reset()
				require.True(t, wiped(), "secrets left after Reset")

				empty := new(ratchet.State)
				require.Equal(t, encode(t, empty), encode(t, cp))
				require.False(t, cp.HasSenderChain())
				require.False(t, cp.HasPQRatchet())
				require.Zero(t, cp.ReceiverChains())
				require.Zero(t, cp.SkippedKeys())
				require.Nil(t, cp.PendingPreKey())
				require.Empty(t, cp.AliceBaseKey())
				_, _, err := cp.Encrypt(nil, []byte("x"))
				require.ErrorIs(t, err, ratchet.ErrNoSenderChain)

				// A valid destination again, working like its source.
				cp.CopyFrom(src)
				require.Equal(t, encode(t, src), encode(t, cp))
				if src == bob {
					got, err := cp.Decrypt(nil, late)
					require.NoError(t, err)
					require.Equal(t, []byte("message"), got)
				}
			}
		})
	}
}

// TestCopyFromAllocs checks that copying a state into a destination that
// held the same session one message earlier allocates nothing.
func TestCopyFromAllocs(t *testing.T) {
	for _, withSPQR := range []bool{false, true} {
		t.Run(fmt.Sprint("spqr=", withSPQR), func(t *testing.T) {
			alice, bob := newPairSPQR(t, ratchet.VersionPQXDH, withSPQR)
			prev := [2]*ratchet.State{alice.Clone(), bob.Clone()}
			n := 120
			if raceEnabled {
				n = 40
			}
			for i := range n {
				from, to := alice, bob
				if i%3 == 2 { // runs of two, with DH steps and skipped keys
					from, to = bob, alice
				}
				exchange(t, from, to, i%7 != 3)
				for j, cur := range []*ratchet.State{alice, bob} {
					cur = cur.Clone()
					older := prev[j]
					dst := older.Clone()
					allocs := testing.AllocsPerRun(5, func() {
						dst.CopyFrom(cur)
						dst.CopyFrom(older)
					})
					require.Zero(t, allocs, "message %d, party %d", i, j)
					prev[j] = cur
				}
			}
		})
	}
}

func BenchmarkCopyFrom(b *testing.B) {
	for _, withSPQR := range []bool{false, true} {
		name := "classical"
		if withSPQR {
			name = "SPQR"
		}
		b.Run(name, func(b *testing.B) {
			alice, bob := established(b, withSPQR)
			for range 20 { // into an epoch: ML-KEM fields and codecs
				exchange(b, alice, bob, true)
				exchange(b, bob, alice, true)
			}
			dst := alice.Clone()
			b.ReportAllocs()
			for b.Loop() {
				dst.CopyFrom(alice)
			}
		})
	}
}
