package spqr

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// typedParty runs the same conversation on a decoded State, next to a party
// on the byte-level API.
type typedParty struct {
	st    *State
	bytes *party
	rnd   *rand.ChaCha8 // the same stream as the byte-level party's
}

// encoding returns the typed state's encoding.
func (p *typedParty) encoding(t *testing.T) []byte {
	b, err := p.st.MarshalBinary()
	require.NoError(t, err)
	return b
}

// TestTypedStateMatchesBytes runs a lossy, reordered conversation twice, on
// decoded States (kept between messages) and on the byte-level API (parse,
// step, encode per message), with the same randomness: messages, keys and
// encodings must agree at every step. Before each real step it also runs
// steps that are rolled back (a Send, a Recv, a Recv of a corrupted
// message) and checks that the encoding did not change, and it checks that
// a Clone does not follow the original.
func TestTypedStateMatchesBytes(t *testing.T) {
	n := 3000
	if testing.Short() || raceEnabled {
		n = 1200
	}
	for _, seed := range []uint64{7, 8} {
		a, b := newParties()
		ta := &typedParty{st: New(testAuthKey, A2B, ChainParams{}), bytes: a, rnd: chacha(seed)}
		tb := &typedParty{st: New(testAuthKey, B2A, ChainParams{}), bytes: b, rnd: chacha(seed + 100)}
		ra, rb := chacha(seed), chacha(seed+100)
		type flight struct {
			msg []byte
			key [32]byte
		}
		queues := map[*typedParty][]flight{}
		r := rand.New(rand.NewChaCha8([32]byte{byte(seed)}))
		probe := chacha(seed + 1000)
		for step := range n {
			from, to, fromRnd := ta, tb, ra
			if r.IntN(2) == 0 {
				from, to, fromRnd = tb, ta, rb
			}
			q := queues[to]
			if len(q) == 0 || r.IntN(2) == 0 {
				before := from.encoding(t)
				// A send that is rolled back leaves the state as it was.
				_, _, _, err := from.st.send(nil, &entropy{rnd: probe})
				require.NoError(t, err)
				from.st.Rollback()
				require.Equal(t, before, from.encoding(t), "send rollback at step %d", step)
				if step%97 == 0 {
					c := from.st.Clone()
					_, _, _, err := c.send(nil, &entropy{rnd: probe})
					require.NoError(t, err)
					c.Commit()
					require.Equal(t, before, from.encoding(t), "clone step changed the original at %d", step)
				}

				msg, key, ok, err := from.st.send(nil, &entropy{rnd: from.rnd})
				require.NoError(t, err)
				require.True(t, ok)
				from.st.Commit()
				bst, bkey, bmsg, err := sendWithRandom(from.bytes.state, fromRnd)
				require.NoError(t, err)
				from.bytes.state = bst
				require.Equal(t, bmsg, msg, "message at step %d", step)
				require.Equal(t, *bkey, key, "key at step %d", step)
				require.Equal(t, bst, from.encoding(t), "state at step %d", step)
				if r.Float64() >= 0.2 {
					queues[to] = append(q, flight{msg, key})
				}
				continue
			}
			i := r.IntN(min(6, len(q)))
			in := q[i]
			queues[to] = append(q[:i], q[i+1:]...)

			before := to.encoding(t)
			_, _, err := to.st.Recv(in.msg)
			require.NoError(t, err)
			to.st.Rollback()
			require.Equal(t, before, to.encoding(t), "recv rollback at step %d", step)
			bad := bytes.Clone(in.msg)
			bad[r.IntN(len(bad))] ^= byte(1 + r.IntN(255))
			if _, _, err := to.st.Recv(bad); err == nil {
				to.st.Rollback()
			}
			require.Equal(t, before, to.encoding(t), "corrupted recv at step %d", step)

			key, ok, err := to.st.Recv(in.msg)
			require.NoError(t, err, "recv at step %d", step)
			require.True(t, ok)
			require.Equal(t, in.key, key)
			to.st.Commit()
			bst, bkey, err := Recv(to.bytes.state, in.msg)
			require.NoError(t, err)
			to.bytes.state = bst
			require.Equal(t, *bkey, key)
			require.Equal(t, bst, to.encoding(t), "state at step %d", step)
		}
		assert.GreaterOrEqual(t, ta.st.scka.epoch, uint64(3), "seed %d", seed)
		assert.GreaterOrEqual(t, tb.st.scka.epoch, uint64(3), "seed %d", seed)
	}
}

// TestTypedDowngrade checks the V0 downgrade: rolled back, the state is
// still V1; committed, it is V0 and encodes as nothing.
func TestTypedDowngrade(t *testing.T) {
	st, err := ParseState(Init(testAuthKey, B2A, ChainParams{}))
	require.NoError(t, err)
	st.neg.minVersion = versionV0 // a state that still accepts V0 peers
	before := st.marshal()
	_, ok, err := st.Recv(nil)
	require.NoError(t, err)
	assert.False(t, ok)
	st.Rollback()
	assert.False(t, st.IsV0())
	assert.Equal(t, before, st.marshal())
	_, _, err = st.Recv(nil)
	require.NoError(t, err)
	st.Commit()
	assert.True(t, st.IsV0())
	b, err := st.AppendBinary([]byte{1})
	require.NoError(t, err)
	assert.Equal(t, []byte{1}, b)
	msg, _, ok, err := st.Send(nil)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Empty(t, msg)
}

// FuzzRecvRollback feeds arbitrary SPQR messages to a decoded State in the
// middle of a conversation (the receiver holding a partly filled decoder):
// a failed Recv, and a successful one rolled back, leave the encoding
// exactly as it was; a committed one leaves a state that re-encodes stably.
func FuzzRecvRollback(f *testing.F) {
	small := ChainParams{MaxJump: 200, MaxOOOKeys: 50}
	a := New(testAuthKey, A2B, small)
	b := New(testAuthKey, B2A, small)
	rnd := &entropy{rnd: chacha(9)}
	var sent [][]byte
	for i := range 120 {
		from, to := a, b
		if i%3 == 2 {
			from, to = b, a
		}
		msg, _, _, err := from.send(nil, rnd)
		if err != nil {
			f.Fatal(err)
		}
		from.Commit()
		sent = append(sent, msg)
		if i%5 != 0 { // drop some, so that later chunks fill gaps
			if _, _, err := to.Recv(msg); err != nil {
				f.Fatal(err)
			}
			to.Commit()
		}
	}
	for _, m := range sent {
		f.Add(m)
	}
	f.Add([]byte{})
	base, err := b.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		st := b.Clone()
		require.Equal(t, base, st.marshal(), "Clone")
		_, _, err := st.Recv(msg)
		if err == nil {
			st.Rollback()
		}
		require.Equal(t, base, st.marshal(), "after a failed or rolled back Recv")
		if _, _, err := st.Recv(msg); err != nil {
			return
		}
		st.Commit()
		enc := st.marshal()
		again, err := parseState(enc)
		require.NoError(t, err)
		require.Equal(t, enc, again.marshal())
	})
}
