package spqr

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func enc(t testing.TB, st *State) []byte {
	t.Helper()
	b, err := st.MarshalBinary()
	require.NoError(t, err)
	return b
}

// sendSeeded runs one Send on st with the randomness of seed, not committed.
func sendSeeded(t testing.TB, st *State, seed uint64) ([]byte, [32]byte) {
	t.Helper()
	msg, key, ok, err := st.send(nil, &entropy{rnd: chacha(seed)})
	require.NoError(t, err)
	require.True(t, ok)
	return msg, key
}

// recvOK runs Recv and Commit on st and checks the key.
func recvOK(t testing.TB, st *State, msg []byte, want [32]byte) {
	t.Helper()
	got, ok, err := st.Recv(msg)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, want, got)
	st.Commit()
}

// copyConv is a conversation between two States in which every fifth
// message from A arrives after the next one, so that B's chain keeps
// out-of-order keys for a while.
type copyConv struct {
	a, b    *State
	late    []byte
	lateKey [32]byte
	seed    uint64
}

func newCopyConv(authKey [32]byte) *copyConv {
	return &copyConv{a: New(authKey, A2B, ChainParams{}), b: New(authKey, B2A, ChainParams{}), seed: uint64(authKey[0]) << 32}
}

// step sends one message, from A on even steps and from B on odd ones, and
// delivers it (or holds it back).
func (c *copyConv) step(t testing.TB, i int) {
	t.Helper()
	from, to := c.a, c.b
	if i%2 == 1 {
		from, to = c.b, c.a
	}
	c.seed++
	msg, key := sendSeeded(t, from, c.seed)
	from.Commit()
	if from == c.a && i%10 == 4 {
		c.late, c.lateKey = msg, key
		return
	}
	if from == c.a && c.late != nil && i%10 == 8 {
		recvOK(t, to, c.late, c.lateKey)
		c.late = nil
	}
	recvOK(t, to, msg, key)
}

func copyTestSteps() int {
	if raceEnabled {
		return 200
	}
	return 400
}

// TestCopyFrom copies both parties at many points of a conversation (every
// state kind, several epochs, with out-of-order keys) into a fresh State
// and into one that held another session, and checks that the copies and
// the source then evolve independently.
func TestCopyFrom(t *testing.T) {
	c := newCopyConv(testAuthKey)
	other := newCopyConv([32]byte{7}) // a different session, at other points
	var kinds [12]bool
	type held struct {
		st   *State
		want []byte
	}
	var copies []held
	for i := range copyTestSteps() {
		c.step(t, i)
		if i%3 == 0 {
			other.step(t, i/3)
		}
		// Copies taken before must not change with the source.
		for _, h := range copies {
			require.Equal(t, h.want, enc(t, h.st), "step %d", i)
		}
		copies = copies[:0]
		for pi, pair := range [][2]*State{{c.a, c.b}, {c.b, c.a}} {
			src, peer := pair[0], pair[1]
			kinds[src.scka.kind] = true
			reused := []*State{other.a, other.b}[pi].Clone()
			fresh, want := checkCopy(t, src, peer, reused, uint64(i))
			copies = append(copies, held{fresh, want})
		}
	}
	for k := kindKeysUnsampled; k <= kindCt2Sampled; k++ {
		// EkReceivedCt1Sampled needs the whole key before the CT1
		// acknowledgement, which strict alternation never gives.
		require.True(t, kinds[k] || k == kindEkReceivedCt1Sampled, "kind %d never copied", k)
	}
	require.GreaterOrEqual(t, c.a.scka.epoch, uint64(3))
}

// checkCopy copies src into a fresh State and into reused, advances both
// copies with the same messages and checks they agree while src stays as
// it was. It returns the fresh copy and its encoding.
func checkCopy(t *testing.T, src, peer, reused *State, seed uint64) (*State, []byte) {
	t.Helper()
	want := enc(t, src)
	fresh := new(State)
	fresh.CopyFrom(src)
	reused.CopyFrom(src)
	require.Equal(t, want, enc(t, fresh))
	require.Equal(t, want, enc(t, reused))

	// Each copy sends the same message; Commit (which wipes the dropped
	// ML-KEM secrets) on one leaves the other and the source.
	m1, k1 := sendSeeded(t, fresh, seed)
	require.Equal(t, want, enc(t, reused))
	fresh.Commit()
	require.Equal(t, want, enc(t, reused))
	m2, k2 := sendSeeded(t, reused, seed)
	require.Equal(t, m1, m2)
	require.Equal(t, k1, k2)
	reused.Commit()
	require.Equal(t, enc(t, fresh), enc(t, reused))
	require.Equal(t, want, enc(t, src))

	// Both receive the same reply from a copy of the peer.
	p := peer.Clone()
	recvOK(t, p, m1, k1)
	reply, rk := sendSeeded(t, p, seed^0x5555)
	p.Commit()
	recvOK(t, fresh, reply, rk)
	recvOK(t, reused, reply, rk)
	afterFresh := enc(t, fresh)
	require.Equal(t, afterFresh, enc(t, reused))
	require.Equal(t, want, enc(t, src))

	// A rolled-back step and a Reset of one copy leave the other.
	_, _ = sendSeeded(t, reused, seed+1)
	reused.Rollback()
	require.Equal(t, afterFresh, enc(t, reused))
	reused.Reset()
	require.Empty(t, enc(t, reused))
	require.Equal(t, afterFresh, enc(t, fresh))
	require.Equal(t, want, enc(t, src))
	// A reset State is a valid destination again.
	reused.CopyFrom(src)
	require.Equal(t, want, enc(t, reused))
	// Overwriting a copy with another state leaves the source.
	reused.CopyFrom(peer)
	require.Equal(t, enc(t, peer), enc(t, reused))
	require.Equal(t, want, enc(t, src))
	return fresh, afterFresh
}

// TestCopyFromOpenStep checks that an open step of the source is not part
// of the copy's transaction and that one of the destination is dropped.
func TestCopyFromOpenStep(t *testing.T) {
	c := newCopyConv(testAuthKey)
	for i := range 3 {
		c.step(t, i)
	}
	before := enc(t, c.a)
	_, _ = sendSeeded(t, c.a, 99) // open step
	after := enc(t, c.a)
	require.NotEqual(t, before, after)

	cp := new(State)
	cp.CopyFrom(c.a)
	require.Equal(t, after, enc(t, cp))
	c.a.Rollback()
	require.Equal(t, before, enc(t, c.a))
	require.Equal(t, after, enc(t, cp))
	cp.Rollback() // nothing to undo in the copy
	require.Equal(t, after, enc(t, cp))

	// A destination with an open step of its own.
	dst := c.b.Clone()
	_, _ = sendSeeded(t, dst, 5)
	dst.CopyFrom(c.a)
	require.Equal(t, before, enc(t, dst))
	dst.Rollback()
	require.Equal(t, before, enc(t, dst))
}

// TestCopyFromShape checks copies of the V0 state and between states with
// and without negotiation, chain and SCKA parts.
func TestCopyFromShape(t *testing.T) {
	c := newCopyConv(testAuthKey)
	fresh := New(testAuthKey, A2B, ChainParams{}) // negotiation, no chain
	for i := range 30 {
		c.step(t, i)
	}
	st := c.a.Clone() // chain, no negotiation
	st.CopyFrom(fresh)
	require.Equal(t, enc(t, fresh), enc(t, st))
	st.CopyFrom(c.a)
	require.Equal(t, enc(t, c.a), enc(t, st))

	st.CopyFrom(nil)
	require.True(t, st.IsV0())
	require.Empty(t, enc(t, st))
	st.CopyFrom(c.b)
	require.False(t, st.IsV0())
	require.Equal(t, enc(t, c.b), enc(t, st))

	// A downgraded state copies as V0.
	d := New(testAuthKey, B2A, ChainParams{MaxJump: 1})
	d.neg.minVersion = 0
	_, ok, err := d.Recv(nil)
	require.NoError(t, err)
	require.False(t, ok)
	d.Commit()
	require.True(t, d.IsV0())
	st.CopyFrom(d)
	require.True(t, st.IsV0())
	require.Empty(t, enc(t, st))
}

// TestReset checks that Reset wipes the secrets in the state's memory and
// leaves an empty state that CopyFrom fills again in the same memory.
func TestReset(t *testing.T) {
	c := newCopyConv(testAuthKey)
	var haveDK, haveES, havePrev bool
	for i := 0; !(haveDK && haveES && havePrev); i++ {
		require.Less(t, i, 400, "no state with dk, es and key history")
		c.step(t, i)
		for _, st := range []*State{c.a, c.b} {
			if st.scka.dk == nil && st.scka.es == nil && !hasHistory(st) {
				continue
			}
			cp := st.Clone()
			dk, es := cp.scka.dk, cp.scka.es
			var prev [][]byte
			for _, l := range cp.chain.links {
				prev = append(prev, l.send.prev, l.recv.prev)
			}
			root := &cp.chain.nextRoot
			links := cp.chain.links
			haveDK = haveDK || dk != nil
			haveES = haveES || es != nil
			havePrev = havePrev || hasHistory(cp)

			cp.Reset()
			require.Empty(t, enc(t, cp))
			require.Nil(t, cp.neg)
			require.Nil(t, cp.chain)
			require.Nil(t, cp.scka)
			require.False(t, cp.IsV0())
			_, _, _, err := cp.Send(nil)
			require.ErrorIs(t, err, ErrStateDecode)
			for _, b := range append(prev, dk, es) {
				require.True(t, allZero(b[:cap(b)]), "secret not wiped")
			}
			require.Equal(t, [32]byte{}, *root)
			for _, l := range links[:cap(links)] {
				require.False(t, l.send.hasNext || l.recv.hasNext)
				require.Equal(t, [32]byte{}, l.send.next)
				require.Equal(t, [32]byte{}, l.recv.next)
			}

			cp.CopyFrom(st)
			require.Equal(t, enc(t, st), enc(t, cp))
			if dk != nil {
				require.Same(t, &dk[0], &cp.scka.dk[0], "dk memory not reused")
			}
		}
	}
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

func hasHistory(st *State) bool {
	if st.chain == nil {
		return false
	}
	for _, l := range st.chain.links {
		if len(l.send.prev)+len(l.recv.prev) > 0 {
			return true
		}
	}
	return false
}

// TestCopyFromAllocs checks that copying a state into a destination that
// held the same session one message earlier allocates nothing.
func TestCopyFromAllocs(t *testing.T) {
	c := newCopyConv(testAuthKey)
	var prevA, prevB *State
	steps := copyTestSteps()
	for i := range steps {
		c.step(t, i)
		for _, p := range []struct {
			prev **State
			cur  *State
		}{{&prevA, c.a}, {&prevB, c.b}} {
			cur := p.cur.Clone()
			if *p.prev != nil {
				dst := (*p.prev).Clone()
				older := *p.prev
				allocs := testing.AllocsPerRun(5, func() {
					dst.CopyFrom(cur)
					dst.CopyFrom(older)
				})
				require.Zero(t, allocs, "step %d: kind %d -> %d", i, older.scka.kind, cur.scka.kind)
			}
			*p.prev = cur
		}
	}
}

// BenchmarkCopyFrom copies into a destination of the same shape: two
// parties mid-epoch, and the fixture states (the send_ct side holds the
// largest ML-KEM data, 6 KB).
func BenchmarkCopyFrom(b *testing.B) {
	a, bb := lockstepStates(b, 20)
	fa, fb := fixtures(b)
	for _, tc := range []struct {
		name string
		st   []byte
	}{{"A", a}, {"B", bb}, {"fixtureA", fa}, {"fixtureB", fb}} {
		b.Run(tc.name, func(b *testing.B) {
			src, err := ParseState(tc.st)
			if err != nil {
				b.Fatal(err)
			}
			dst := src.Clone()
			b.ReportAllocs()
			for b.Loop() {
				dst.CopyFrom(src)
			}
		})
	}
}
