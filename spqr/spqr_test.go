package spqr

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testAuthKey = [32]byte{0: 0x29, 31: 0x29}

type inflight struct {
	msg []byte
	key *[32]byte
}

type party struct {
	name  string
	state []byte
	queue []inflight // messages sent to this party, in send order
}

func (p *party) epoch(t testing.TB) uint64 {
	st, err := parseState(p.state)
	require.NoError(t, err)
	return st.scka.epoch
}

// converse runs n steps between two parties: at each step one party sends
// (and the message is dropped with probability loss) or one queued message
// among the first window is delivered. Every delivered message must give
// the sender's key.
func converse(t *testing.T, a, b *party, cc *rand.ChaCha8, n int, loss float64, window int) (delivered int) {
	t.Helper()
	r := rand.New(cc)
	for step := range n {
		from, to := a, b
		if r.IntN(2) == 0 {
			from, to = b, a
		}
		if len(to.queue) == 0 || r.IntN(2) == 0 {
			st, key, msg, err := sendWithRandom(from.state, cc)
			require.NoError(t, err, "%s send at step %d", from.name, step)
			require.NotNil(t, key)
			from.state = st
			if r.Float64() >= loss {
				to.queue = append(to.queue, inflight{msg, key})
			}
			continue
		}
		i := r.IntN(min(window, len(to.queue)))
		in := to.queue[i]
		to.queue = append(to.queue[:i], to.queue[i+1:]...)
		st, key, err := Recv(to.state, in.msg)
		require.NoError(t, err, "%s recv at step %d", to.name, step)
		require.NotNil(t, key)
		require.Equal(t, *in.key, *key, "%s key at step %d", to.name, step)
		// A replay fails and leaves nothing to commit.
		if step%17 == 0 {
			_, _, err := Recv(st, in.msg)
			require.ErrorIs(t, err, ErrKeyAlreadyRequested)
		}
		to.state = st
		delivered++
	}
	return delivered
}

func newParties() (a, b *party) {
	return &party{name: "A", state: Init(testAuthKey, A2B, ChainParams{})},
		&party{name: "B", state: Init(testAuthKey, B2A, ChainParams{})}
}

func TestConversationLockstep(t *testing.T) {
	a, b := newParties()
	r := chacha(11)
	for i := range 300 {
		for _, pair := range [][2]*party{{a, b}, {b, a}} {
			from, to := pair[0], pair[1]
			st, key, msg, err := sendWithRandom(from.state, r)
			require.NoError(t, err)
			from.state = st
			st, got, err := Recv(to.state, msg)
			require.NoError(t, err, "step %d", i)
			require.Equal(t, key, got)
			to.state = st
		}
	}
	// One epoch takes about 3 + 36 + 5 messages per direction.
	assert.GreaterOrEqual(t, a.epoch(t), uint64(5))
	assert.GreaterOrEqual(t, b.epoch(t), uint64(5))
}

func TestConversationLossReorder(t *testing.T) {
	n := 6000
	if testing.Short() || raceEnabled {
		n = 2500
	}
	for _, c := range []struct {
		seed   uint64
		loss   float64
		window int
	}{{100, 0.2, 4}, {101, 0.2, 4}, {102, 0.5, 20}} {
		a, b := newParties()
		d := converse(t, a, b, chacha(c.seed), n, c.loss, c.window)
		assert.Greater(t, d, n/4)
		// About 44 messages per direction per epoch: thousands of steps
		// must complete many epochs despite the loss.
		assert.GreaterOrEqual(t, a.epoch(t), uint64(n/600), "seed %d", c.seed)
		assert.GreaterOrEqual(t, b.epoch(t), uint64(n/600), "seed %d", c.seed)
	}
}

// TestFixturesContinue continues the conversation of the two spqr fixtures.
func TestFixturesContinue(t *testing.T) {
	fa, fb := fixtures(t)
	a := &party{name: "A", state: fa}
	b := &party{name: "B", state: fb}
	converse(t, a, b, chacha(9), 1500, 0.1, 3)
	assert.GreaterOrEqual(t, a.epoch(t), uint64(2))
	assert.GreaterOrEqual(t, b.epoch(t), uint64(2))
}

func TestRecvVersions(t *testing.T) {
	a, b := newParties()
	// A V0 (empty) message is below the minimum version.
	_, _, err := Recv(b.state, nil)
	require.ErrorIs(t, err, ErrMinimumVersion)
	// An unknown newer version is ignored.
	st, key, err := Recv(b.state, []byte{2, 1, 2, 3})
	require.NoError(t, err)
	assert.Nil(t, key)
	assert.Equal(t, b.state, st)
	// After the first V1 message negotiation is closed: V0 is a mismatch.
	st, _, msg, err := Send(a.state)
	require.NoError(t, err)
	a.state = st
	st, key, err = Recv(b.state, msg)
	require.NoError(t, err)
	require.NotNil(t, key)
	_, _, err = Recv(st, nil)
	require.ErrorIs(t, err, ErrVersionMismatch)
	// The V0 state sends and receives nothing.
	st, key, msg, err = Send(nil)
	require.NoError(t, err)
	assert.Empty(t, st)
	assert.Nil(t, key)
	assert.Empty(t, msg)
	st, key, err = Recv([]byte{}, msg)
	require.NoError(t, err)
	assert.Empty(t, st)
	assert.Nil(t, key)
	st, key, err = Recv(nil, []byte{1, 1, 1, 0})
	require.NoError(t, err)
	assert.NotNil(t, st)
	assert.Empty(t, st)
	assert.Nil(t, key)
	st, key, err = Recv(nil, []byte{7})
	require.NoError(t, err)
	assert.NotNil(t, st)
	assert.Empty(t, st)
	assert.Nil(t, key)
}

func TestRecvErrorsKeepState(t *testing.T) {
	a, b := newParties()
	st, _, msg, err := Send(a.state)
	require.NoError(t, err)
	a.state = st
	before := bytes.Clone(b.state)
	for name, m := range map[string][]byte{
		"truncated":  msg[:10],
		"epoch 5":    append([]byte{1, 5}, msg[2:]...),
		"index jump": append([]byte{1, 1, 0xb0, 0xea, 0x01}, msg[3:]...),
		"index 0 e2": {1, 2, 0, 0},
	} {
		st, key, err := Recv(b.state, m)
		require.Error(t, err, name)
		assert.Nil(t, st, name)
		assert.Nil(t, key, name)
	}
	_, _, err = Recv(b.state, append([]byte{1, 5}, msg[2:]...))
	require.ErrorIs(t, err, ErrEpochOutOfRange)
	_, _, err = Recv(b.state, msg[:10])
	require.ErrorIs(t, err, ErrMsgDecode)
	_, _, err = Recv(b.state, append([]byte{1, 1, 0xb0, 0xea, 0x01}, msg[3:]...))
	require.ErrorIs(t, err, ErrKeyJump)
	assert.Equal(t, before, b.state)
	_, _, _, err = Send([]byte{0xff})
	require.ErrorIs(t, err, ErrStateDecode)
	_, _, err = Recv([]byte{0xff}, msg)
	require.ErrorIs(t, err, ErrStateDecode)
}

// TestBadHeaderMAC corrupts the header chunks A sends: B must reject the
// completed header with ErrErroneousData.
func TestBadHeaderMAC(t *testing.T) {
	a, b := newParties()
	var err error
	var msg []byte
	for i := range 3 {
		a.state, _, msg, err = Send(a.state)
		require.NoError(t, err)
		m, err := parseMessage(msg)
		require.NoError(t, err)
		require.Equal(t, payloadHdr, m.typ)
		if i == 2 {
			m.chunk[31] ^= 1 // last byte of the MAC
		}
		m.index = 0 // no chain key needed in epoch 0 for this check
		st, _, err := Recv(b.state, appendMessage(nil, &m))
		if i < 2 {
			require.NoError(t, err)
			b.state = st
		} else {
			require.ErrorIs(t, err, ErrErroneousData)
		}
	}
}

func FuzzRecv(f *testing.F) {
	// Small limits keep each execution fast (a jump of n costs n KDF steps).
	small := ChainParams{MaxJump: 200, MaxOOOKeys: 50}
	a := &party{name: "A", state: Init(testAuthKey, A2B, small)}
	b := &party{name: "B", state: Init(testAuthKey, B2A, small)}
	r := chacha(5)
	for range 60 {
		st, _, msg, err := sendWithRandom(a.state, r)
		if err != nil {
			f.Fatal(err)
		}
		a.state = st
		f.Add(msg)
		if st, _, err := Recv(b.state, msg); err == nil {
			b.state = st
		}
	}
	f.Add([]byte{})
	f.Add([]byte{1, 2, 0, 0})
	for _, m := range spqrTranscript(f).Sessions[0].Messages[:40] {
		f.Add(m.PQRatchet())
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		st, key, err := Recv(b.state, msg)
		if err != nil {
			assert.Nil(t, st)
			assert.Nil(t, key)
			return
		}
		_, err = parseState(st)
		require.NoError(t, err)
	})
}

func FuzzState(f *testing.F) {
	fa, fb := fixtures(f)
	f.Add(fa)
	f.Add(fb)
	f.Add(Init(testAuthKey, A2B, ChainParams{}))
	f.Add(Init(testAuthKey, B2A, ChainParams{MaxJump: 1}))
	for _, s := range spqrTranscript(f).Sessions {
		for _, r := range s.Records {
			f.Add(recordSPQRState(f, r.Record))
		}
	}
	msg := []byte{1, 1, 1, 5, 0}
	msg = append(msg, make([]byte, 32)...)
	f.Fuzz(func(t *testing.T, in []byte) {
		st, err := parseState(in)
		if err != nil {
			return
		}
		// A parsed state re-parses after marshalling to the same encoding,
		// and Send and Recv never panic and return no state on error.
		out := st.marshal()
		again, err := parseState(out)
		require.NoError(t, err)
		assert.Equal(t, out, again.marshal())
		if st, key, _, err := sendWithRandom(in, chacha(1)); err != nil {
			assert.Nil(t, st)
			assert.Nil(t, key)
		}
		if st, key, err := Recv(in, msg); err != nil {
			assert.Nil(t, st)
			assert.Nil(t, key)
		}
	})
}

// lockstepTamper runs lockstep traffic, applying tamper to every message
// before delivery, until a Recv fails or n round trips pass.
func lockstepTamper(t *testing.T, n int, tamper func(from string, m *message)) error {
	t.Helper()
	a, b := newParties()
	r := chacha(77)
	for range n {
		for _, pair := range [][2]*party{{a, b}, {b, a}} {
			from, to := pair[0], pair[1]
			st, _, msg, err := sendWithRandom(from.state, r)
			require.NoError(t, err)
			from.state = st
			m, err := parseMessage(msg)
			require.NoError(t, err)
			tamper(from.name, &m)
			st, _, err = Recv(to.state, appendMessage(nil, &m))
			if err != nil {
				return err
			}
			to.state = st
		}
	}
	return nil
}

func TestTamperedProtocolData(t *testing.T) {
	// Control: without tampering, traffic flows.
	require.NoError(t, lockstepTamper(t, 200, func(string, *message) {}))
	// The last CT2 chunk is the ciphertext MAC.
	err := lockstepTamper(t, 200, func(_ string, m *message) {
		if m.typ == payloadCt2 && m.chunkIdx == 4 {
			m.chunk[0] ^= 1
		}
	})
	require.ErrorIs(t, err, ErrErroneousData)
	// A modified ct2 changes the decapsulated secret, so the MAC fails too.
	err = lockstepTamper(t, 200, func(_ string, m *message) {
		if m.typ == payloadCt2 && m.chunkIdx == 0 {
			m.chunk[0] ^= 1
		}
	})
	require.ErrorIs(t, err, ErrErroneousData)
	// An EK that does not match the authenticated header.
	err = lockstepTamper(t, 200, func(_ string, m *message) {
		if (m.typ == payloadEk || m.typ == payloadEkCt1Ack) && m.chunkIdx == 0 {
			m.chunk[3] ^= 1
		}
	})
	require.ErrorIs(t, err, ErrErroneousData)
	// A tampered header (in a later epoch too: epoch 2's header from B).
	err = lockstepTamper(t, 200, func(from string, m *message) {
		if from == "B" && m.typ == payloadHdr && m.chunkIdx == 1 {
			m.chunk[9] ^= 1
		}
	})
	require.ErrorIs(t, err, ErrErroneousData)
}

func TestChainParamsAndDirection(t *testing.T) {
	assert.Equal(t, "A2B", A2B.String())
	assert.Equal(t, "B2A", B2A.String())
	assert.Equal(t, "Direction(7)", Direction(7).String())
	assert.Equal(t, ChainParams{}, ChainParams{MaxJump: DefaultMaxJump, MaxOOOKeys: DefaultMaxOOOKeys}.normalized())
	// A note-to-self session allows any jump; a small MaxJump does not.
	self := ChainParams{MaxJump: 0xffffffff}
	a := Init(testAuthKey, A2B, self)
	b := Init(testAuthKey, B2A, self)
	var msg []byte
	var key *[32]byte
	var err error
	for range 150 {
		a, key, msg, err = Send(a)
		require.NoError(t, err)
	}
	_, got, err := Recv(b, msg)
	require.NoError(t, err)
	assert.Equal(t, key, got)
	_, _, err = Recv(Init(testAuthKey, B2A, ChainParams{MaxJump: 100}), msg)
	require.ErrorIs(t, err, ErrKeyJump)
}

// FuzzInteraction reads its input as a script for two parties: each byte
// either makes one party send or delivers (or re-delivers) one of the
// messages in flight to it. Every successful delivery must give the
// sender's key, and a message is never accepted twice.
func FuzzInteraction(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 0, 1, 2, 3})
	f.Add(bytes.Repeat([]byte{0, 0x41, 0x10, 0x51}, 100))
	f.Add(bytes.Repeat([]byte{0, 0, 0x41, 0x10, 0x10, 0x51, 0x90}, 80))
	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) > 2000 {
			return
		}
		a, b := newParties()
		type sent struct {
			inflight
			done bool
		}
		queues := map[*party][]*sent{}
		rnd := chacha(3)
		for _, op := range script {
			from, to := a, b
			if op&1 == 1 {
				from, to = b, a
			}
			if op&0x0e == 0 {
				st, key, msg, err := sendWithRandom(from.state, rnd)
				require.NoError(t, err)
				from.state = st
				queues[to] = append(queues[to], &sent{inflight: inflight{msg, key}})
				continue
			}
			q := queues[from]
			if len(q) == 0 {
				continue
			}
			in := q[int(op>>4)%len(q)]
			st, key, err := Recv(from.state, in.msg)
			if err != nil {
				assert.Nil(t, st)
				continue
			}
			require.False(t, in.done, "message accepted twice")
			require.Equal(t, in.key, key)
			in.done = true
			from.state = st
		}
	})
}
