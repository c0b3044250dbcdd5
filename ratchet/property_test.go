package ratchet_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/ratchet"
)

// The property test plays two parties through random schedules and checks
// every outcome against a reference model written from the rules of
// the Double Ratchet spec (signal.org/docs/specifications/doubleratchet/) and
// libsignal's limits (rust/protocol/src/consts.rs), independently of the
// implementation:
//
//   - each party sends on a chain identified by (party, epoch); a party's
//     epoch advances when it receives the first message of a new peer chain
//     (a DH ratchet step), and its next chain is built on that peer chain;
//   - a receiver knows the peer chains it stepped into, the newest
//     MaxReceiverChains of them; a message on an unknown chain decrypts only
//     if that chain was built on the receiver's current epoch;
//   - per chain, the receiver has a next index and the skipped indices,
//     newest MaxMessageKeys kept; a message behind the index decrypts only
//     once, and only if its key is kept;
//   - a message more than MaxForwardJumps ahead fails;
//   - every failure leaves the state byte-for-byte unchanged.

type modelMsg struct {
	from      int // 0 Alice, 1 Bob
	epoch     int
	builtOn   int
	counter   int
	typ       ratchet.MessageType
	wire      []byte
	plaintext []byte
}

type modelChain struct {
	peerEpoch int
	next      int
	skipped   []int // insertion order, oldest first
}

type modelParty struct {
	state   *ratchet.State
	epoch   int
	builtOn int
	sent    int // messages sent on the current epoch
	known   []*modelChain
}

func (p *modelParty) chain(epoch int) *modelChain {
	for _, c := range p.known {
		if c.peerEpoch == epoch {
			return c
		}
	}
	return nil
}

type outcome int

const (
	ok outcome = iota
	duplicate
	tooFar
	undecryptable
)

// predict applies the model's rules for message m at receiver p and
// returns the expected outcome, updating the model on success.
func (p *modelParty) predict(m *modelMsg, commit bool) outcome {
	c := p.chain(m.epoch)
	if c == nil {
		if m.builtOn != p.epoch {
			return undecryptable
		}
		if m.counter > ratchet.MaxForwardJumps {
			return tooFar
		}
		if !commit {
			return ok
		}
		c = &modelChain{peerEpoch: m.epoch}
		p.known = append(p.known, c)
		if len(p.known) > ratchet.MaxReceiverChains {
			p.known = p.known[1:]
		}
		p.epoch++
		p.builtOn = m.epoch
		p.sent = 0
	}
	if m.counter < c.next {
		for i, k := range c.skipped {
			if k == m.counter {
				if commit {
					c.skipped = append(c.skipped[:i], c.skipped[i+1:]...)
				}
				return ok
			}
		}
		return duplicate
	}
	if m.counter-c.next > ratchet.MaxForwardJumps {
		return tooFar
	}
	if commit {
		for i := c.next; i < m.counter; i++ {
			c.skipped = append(c.skipped, i)
		}
		if over := len(c.skipped) - ratchet.MaxMessageKeys; over > 0 {
			c.skipped = c.skipped[over:]
		}
		c.next = m.counter + 1
	}
	return ok
}

// chooser draws the schedule's choices: a seeded PRNG in the property test,
// the fuzzer's bytes in FuzzSchedule.
type chooser interface{ IntN(n int) int }

// byteChooser reads choices from fuzz input, two bytes each; once the input
// is used up every choice is 0.
type byteChooser struct{ b []byte }

func (c *byteChooser) IntN(n int) int {
	if len(c.b) < 2 {
		c.b = nil
		return 0
	}
	v := int(c.b[0])<<8 | int(c.b[1])
	c.b = c.b[2:]
	return v % n
}

func runSchedule(t *testing.T, seed uint64, steps int) (delivered, failed int) {
	return playSchedule(t, rand.New(rand.NewPCG(seed, 4)), seed, steps)
}

func playSchedule(t *testing.T, r chooser, seed uint64, steps int) (delivered, failed int) {
	// Version 3, version 4, or version 4 with SPQR.
	kind := r.IntN(3)
	version := uint8(ratchet.VersionX3DH + min(kind, 1))
	as, bs := newPairSPQR(t, version, kind == 2)
	parties := [2]*modelParty{
		// Alice's first chain (epoch 1) is built on Bob's signed pre-key
		// (epoch 0), which she already holds as a receiving chain.
		{state: as, epoch: 1, builtOn: 0, known: []*modelChain{{peerEpoch: 0}}},
		{state: bs, epoch: 0, builtOn: -1},
	}
	var inFlight, done []*modelMsg
	send := func(from int) {
		p := parties[from]
		pt := fmt.Appendf(nil, "seed %d msg %d from %d", seed, len(done)+len(inFlight), from)
		if r.IntN(10) == 0 {
			pt = bytes.Repeat(pt, 1+r.IntN(20))
		}
		wire, typ, err := p.state.Encrypt(nil, pt)
		require.NoError(t, err)
		inFlight = append(inFlight, &modelMsg{from: from, epoch: p.epoch, builtOn: p.builtOn, counter: p.sent, typ: typ, wire: wire, plaintext: pt})
		p.sent++
	}
	deliver := func(m *modelMsg, corrupt bool) {
		to := parties[1-m.from]
		wire := m.wire
		if corrupt {
			wire = bytes.Clone(wire)
			wire[r.IntN(len(wire))] ^= byte(1 + r.IntN(255))
		}
		msg, err := parseAny(t, m.typ, wire)
		if err != nil {
			require.True(t, corrupt, "seed %d: parse: %v", seed, err)
			return
		}
		before := encode(t, to.state)
		oldKey := to.state.SenderRatchetKey()
		want := to.predict(m, false)
		pt, err := to.state.Decrypt(nil, &msg)
		if corrupt && err != nil {
			require.Equal(t, before, encode(t, to.state), "seed %d: failed decrypt changed state", seed)
			failed++
			return
		}
		require.False(t, corrupt && want == ok && bytes.Equal(wire, m.wire), "seed %d", seed)
		switch want {
		case ok:
			require.NoError(t, err, "seed %d: %+v", seed, *m)
			require.Equal(t, m.plaintext, pt)
			epoch := to.epoch
			to.predict(m, true)
			require.Equal(t, epoch != to.epoch, oldKey != to.state.SenderRatchetKey(), "seed %d: DH step mismatch: msg from %d epoch %d builtOn %d counter %d; receiver epoch %d", seed, m.from, m.epoch, m.builtOn, m.counter, epoch)
			delivered++
		case duplicate:
			require.ErrorIs(t, err, ratchet.ErrDuplicateMessage, "seed %d", seed)
		case tooFar:
			require.ErrorIs(t, err, ratchet.ErrTooFarInFuture, "seed %d", seed)
		case undecryptable:
			require.ErrorIs(t, err, ratchet.ErrDecryption, "seed %d", seed)
		}
		if want != ok {
			require.Equal(t, before, encode(t, to.state), "seed %d: failed decrypt changed state", seed)
			failed++
		}
	}
	for range steps {
		switch a := r.IntN(100); {
		case a < 30:
			send(r.IntN(2))
		case a < 33:
			// A burst.
			from, n := r.IntN(2), 1+r.IntN(60)
			for range n {
				send(from)
			}
		case a < 75 && len(inFlight) > 0:
			// Deliver, mostly near the front of the queue (reordering).
			i := min(len(inFlight)-1, r.IntN(4))
			if r.IntN(4) == 0 {
				i = r.IntN(len(inFlight))
			}
			m := inFlight[i]
			inFlight = append(inFlight[:i], inFlight[i+1:]...)
			deliver(m, false)
			done = append(done, m)
		case a < 82 && len(inFlight) > 0:
			// Loss.
			i := r.IntN(len(inFlight))
			inFlight = append(inFlight[:i], inFlight[i+1:]...)
		case a < 90 && len(done) > 0:
			// Duplicate delivery.
			deliver(done[r.IntN(len(done))], false)
		case a < 95 && len(inFlight) > 0:
			// Corruption of an in-flight message; the original stays.
			deliver(inFlight[r.IntN(len(inFlight))], true)
		}
	}
	return delivered, failed
}

func TestPropertyRandomSchedules(t *testing.T) {
	schedules, steps := 1500, 80
	if testing.Short() || raceEnabled {
		schedules = 200
	}
	var delivered, failed int
	for seed := range uint64(schedules) {
		d, f := runSchedule(t, seed, steps)
		delivered += d
		failed += f
		if t.Failed() {
			return
		}
	}
	t.Logf("%d schedules: %d messages delivered, %d rejected as expected", schedules, delivered, failed)
	require.Greater(t, delivered, schedules*10)
	require.Greater(t, failed, schedules)
}

// FuzzSchedule is the differential target: the fuzzer's bytes choose a
// schedule of sends, bursts, deliveries, losses, duplicates and
// corruptions, and every outcome must match the reference model above.
func FuzzSchedule(f *testing.F) {
	f.Add([]byte{0, 1, 0, 50, 0, 3, 0, 40, 0, 0, 0, 60, 0, 80})
	f.Add(bytes.Repeat([]byte{0, 31, 0, 1, 0, 2, 0, 70}, 20))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 600 {
			b = b[:600]
		}
		playSchedule(t, &byteChooser{b: b}, 0, len(b)/4)
	})
}
