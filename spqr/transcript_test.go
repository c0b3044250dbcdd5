package spqr

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/internal/testvectors"
)

// recordSPQRState returns SessionStructure field 15 of a libsignal
// SessionRecord's current session (RecordStructure field 1).
func recordSPQRState(t testing.TB, record []byte) []byte {
	t.Helper()
	field := func(b []byte, want protowire.Number) []byte {
		var out []byte
		require.NoError(t, fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
			if num == want && typ == protowire.BytesType {
				out = v
			}
			return nil
		}))
		return out
	}
	return field(field(record, 1), 15)
}

func spqrTranscript(t testing.TB) *testvectors.SPQRTranscript {
	t.Helper()
	tr, err := testvectors.LibsignalV0103SPQR()
	require.NoError(t, err)
	require.Len(t, tr.Sessions, 2)
	return tr
}

// TestTranscriptStates parses every SPQR state libsignal 0.103.0 wrote in
// the transcript and re-encodes it byte for byte.
func TestTranscriptStates(t *testing.T) {
	n := 0
	for _, s := range spqrTranscript(t).Sessions {
		var states [][]byte
		for _, r := range s.Records {
			states = append(states, recordSPQRState(t, r.Record))
		}
		for _, r := range append(s.Bob.SPQR, s.Alice.SPQR...) {
			if r.Injections.StateAfter != nil {
				states = append(states, r.Injections.StateAfter)
			}
		}
		for i, st := range states {
			require.NotEmpty(t, st)
			p, err := parseState(st)
			require.NoError(t, err, "%s state %d", s.Name, i)
			assert.Equal(t, st, p.marshal(), "%s state %d", s.Name, i)
			n++
		}
	}
	assert.GreaterOrEqual(t, n, 30)
}

// TestTranscriptReplay replays the SPQR side of both recorded sessions, with
// both parties played here from the PQXDH-derived auth key and the
// randomness recorded for each: every SPQR message must equal libsignal's
// byte for byte, every receive must give the sender's key, and the states
// must equal libsignal's at every recorded point.
func TestTranscriptReplay(t *testing.T) {
	for _, s := range spqrTranscript(t).Sessions {
		t.Run(s.Name, func(t *testing.T) {
			// Alice's first record holds the initial state and its auth key.
			require.Equal(t, "alice", s.Records[0].Party)
			require.Nil(t, s.Records[0].AfterSeq)
			initial := recordSPQRState(t, s.Records[0].Record)
			st, err := parseState(initial)
			require.NoError(t, err)
			require.NotNil(t, st.neg)
			authKey := [32]byte(st.neg.authKey)
			require.Equal(t, initial, Init(authKey, A2B, ChainParams{}), "Init matches libsignal's initial state")

			states := map[string][]byte{
				"alice": Init(authKey, A2B, ChainParams{}),
				"bob":   Init(authKey, B2A, ChainParams{}),
			}
			draws := map[string]map[int]testvectors.SPQRRandomness{"alice": {}, "bob": {}}
			for _, r := range s.Alice.SPQR {
				draws["alice"][r.AtSeq] = r
			}
			for _, r := range s.Bob.SPQR {
				draws["bob"][r.AtSeq] = r
			}
			records := map[string][]byte{}
			for _, r := range s.Records[1:] {
				records[fmt.Sprintf("%s/%d", r.Party, *r.AfterSeq)] = recordSPQRState(t, r.Record)
			}
			checked := 0
			for _, m := range s.Messages {
				from, to := m.From, "alice"
				if from == "alice" {
					to = "bob"
				}
				d := draws[from][m.Seq]
				newState, key, msg, err := sendDeterministic(states[from], d.DK, d.M)
				require.NoError(t, err, "seq %d: %s sends", m.Seq, from)
				require.Equal(t, m.PQRatchet(), msg, "seq %d: SPQR message of %s", m.Seq, from)
				require.NotNil(t, key)
				states[from] = newState
				if d.Injections.StateAfter != nil {
					require.Equal(t, []byte(d.Injections.StateAfter), newState, "seq %d: %s state after %s", m.Seq, from, d.Event)
					checked++
				}
				newState, got, err := Recv(states[to], msg)
				require.NoError(t, err, "seq %d: %s receives", m.Seq, to)
				require.Equal(t, key, got, "seq %d: key", m.Seq)
				states[to] = newState
				for _, p := range []string{"alice", "bob"} {
					if want, ok := records[fmt.Sprintf("%s/%d", p, m.Seq)]; ok {
						require.Equal(t, want, states[p], "seq %d: %s's record", m.Seq, p)
						checked++
					}
				}
			}
			t.Logf("%d messages, %d states compared", len(s.Messages), checked)
			assert.GreaterOrEqual(t, checked, 14)
		})
	}
}

// TestTranscriptMLKEM checks each recorded ML-KEM draw: the key pair from
// dk gives the recorded header, and encaps1 with the recorded m gives
// libcrux's ct1 and, byte for byte, its encapsulation state es.
func TestTranscriptMLKEM(t *testing.T) {
	n := 0
	for _, s := range spqrTranscript(t).Sessions {
		for _, r := range append(s.Bob.SPQR, s.Alice.SPQR...) {
			switch r.Event {
			case "keygen":
				hdr, ek, _, ok := keyPairFromDK(r.DK)
				require.True(t, ok)
				if r.Hdr != nil {
					assert.Equal(t, []byte(r.Hdr), hdr, "%s seq %d", s.Name, r.AtSeq)
				}
				assert.True(t, ekMatchesHeader(ek, hdr))
				n++
			case "encaps1":
				if r.Hdr == nil {
					continue // Alice's debug export has m only
				}
				ct1, es, _, err := encaps1(r.Hdr, bytes.NewReader(r.M))
				require.NoError(t, err)
				assert.Equal(t, []byte(r.Ct1), ct1, "%s seq %d", s.Name, r.AtSeq)
				assert.Equal(t, []byte(r.ES), es, "%s seq %d", s.Name, r.AtSeq)
				n++
			}
		}
	}
	assert.GreaterOrEqual(t, n, 6)
}

// sent is one message of the in-order replay with the sender's key.
type sent struct {
	seq  int
	from string
	msg  []byte
	key  *[32]byte
}

// replayAlice replays Alice's side in the recorded order (her sends use her
// recorded randomness, and she receives Bob's recorded messages), and
// returns every message with its key.
func replayAlice(t *testing.T, s *testvectors.SPQRTranscriptSession) (authKey [32]byte, out []sent) {
	t.Helper()
	st, err := parseState(recordSPQRState(t, s.Records[0].Record))
	require.NoError(t, err)
	authKey = [32]byte(st.neg.authKey)
	alice := Init(authKey, A2B, ChainParams{})
	draws := map[int]testvectors.SPQRRandomness{}
	for _, r := range s.Alice.SPQR {
		draws[r.AtSeq] = r
	}
	for _, m := range s.Messages {
		if m.From == "bob" {
			var err error
			alice, _, err = Recv(alice, m.PQRatchet())
			require.NoError(t, err)
			out = append(out, sent{seq: m.Seq, from: "bob", msg: m.PQRatchet()})
			continue
		}
		d := draws[m.Seq]
		var key *[32]byte
		var msg []byte
		alice, key, msg, err = sendDeterministic(alice, d.DK, d.M)
		require.NoError(t, err)
		out = append(out, sent{seq: m.Seq, from: "alice", msg: msg, key: key})
	}
	return authKey, out
}

// playBob runs Bob through a schedule of the replay's events: Alice
// messages are delivered (their keys must match), Bob's sends must
// reproduce the recorded messages. It returns the first failure.
func playBob(authKey [32]byte, bobDraws map[int]testvectors.SPQRRandomness, schedule []sent) error {
	bob := Init(authKey, B2A, ChainParams{})
	for _, e := range schedule {
		if e.from == "bob" {
			d := bobDraws[e.seq]
			st, _, msg, err := sendDeterministic(bob, d.DK, d.M)
			if err != nil {
				return fmt.Errorf("seq %d: send: %w", e.seq, err)
			}
			if !bytes.Equal(msg, e.msg) {
				return fmt.Errorf("seq %d: Bob's SPQR message differs", e.seq)
			}
			bob = st
			continue
		}
		st, key, err := Recv(bob, e.msg)
		if err != nil {
			return fmt.Errorf("seq %d: recv: %w", e.seq, err)
		}
		if key == nil || *key != *e.key {
			return fmt.Errorf("seq %d: key differs", e.seq)
		}
		bob = st
	}
	return nil
}

// runsOf splits a replay into runs of consecutive messages of one sender.
func runsOf(events []sent) [][]sent {
	var runs [][]sent
	for i, e := range events {
		if i == 0 || e.from != events[i-1].from {
			runs = append(runs, nil)
		}
		runs[len(runs)-1] = append(runs[len(runs)-1], e)
	}
	return runs
}

func flatten(runs [][]sent) []sent {
	var out []sent
	for _, r := range runs {
		out = append(out, r...)
	}
	return out
}

// TestTranscriptDeliveryOrders plays Bob under the delivery variations that
// the transcript's validation checked with libsignal: shuffles inside each
// Alice run, each Alice message dropped, each delivered one run late, and
// duplicates. In all of them libsignal decrypted every delivered message and
// Bob's replies stayed byte-identical; so must this package's SPQR.
func TestTranscriptDeliveryOrders(t *testing.T) {
	step := 1
	if raceEnabled || testing.Short() {
		step = 6
	}
	for _, s := range spqrTranscript(t).Sessions {
		t.Run(s.Name, func(t *testing.T) {
			authKey, events := replayAlice(t, &s)
			bobDraws := map[int]testvectors.SPQRRandomness{}
			for _, r := range s.Bob.SPQR {
				bobDraws[r.AtSeq] = r
			}
			require.NoError(t, playBob(authKey, bobDraws, events), "in order")

			r := chacha(uint64(len(events)))
			for i := range 3 {
				runs := runsOf(events)
				for _, run := range runs {
					if run[0].from == "alice" {
						perm := randPerm(r, len(run))
						shuffled := make([]sent, len(run))
						for j, p := range perm {
							shuffled[j] = run[p]
						}
						copy(run, shuffled)
					}
				}
				require.NoError(t, playBob(authKey, bobDraws, flatten(runs)), "shuffle %d", i)
			}

			dropped, late := 0, 0
			for k := 0; k < len(events); k += step {
				if events[k].from != "alice" {
					continue
				}
				schedule := append(append([]sent(nil), events[:k]...), events[k+1:]...)
				require.NoError(t, playBob(authKey, bobDraws, schedule), "seq %d dropped", events[k].seq)
				dropped++

				// One run late: after Bob's next run and Alice's next run.
				runs := runsOf(events)
				ri, pos := 0, k
				for pos >= len(runs[ri]) {
					pos -= len(runs[ri])
					ri++
				}
				if ri+2 >= len(runs) {
					continue
				}
				msg := runs[ri][pos]
				runs[ri] = append(append([]sent(nil), runs[ri][:pos]...), runs[ri][pos+1:]...)
				runs[ri+2] = append(append([]sent(nil), runs[ri+2]...), msg)
				require.NoError(t, playBob(authKey, bobDraws, flatten(runs)), "seq %d one run late", msg.seq)
				late++
			}
			t.Logf("dropped %d, late %d", dropped, late)

			// Duplicates: each Alice run re-delivered after itself is rejected.
			bob := Init(authKey, B2A, ChainParams{})
			for _, run := range runsOf(events) {
				for _, e := range run {
					var err error
					if e.from == "bob" {
						d := bobDraws[e.seq]
						bob, _, _, err = sendDeterministic(bob, d.DK, d.M)
					} else {
						bob, _, err = Recv(bob, e.msg)
					}
					require.NoError(t, err)
				}
				if run[0].from == "alice" {
					e := run[len(run)/2]
					st, key, err := Recv(bob, e.msg)
					require.ErrorIs(t, err, ErrKeyAlreadyRequested, "seq %d re-delivered", e.seq)
					assert.Nil(t, st)
					assert.Nil(t, key)
				}
			}
		})
	}
}

func randPerm(r interface{ Uint64() uint64 }, n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := int(r.Uint64() % uint64(i+1))
		p[i], p[j] = p[j], p[i]
	}
	return p
}

var kindNames = [...]string{
	kindKeysUnsampled:        "KeysUnsampled",
	kindKeysSampled:          "KeysSampled",
	kindHeaderSent:           "HeaderSent",
	kindCt1Received:          "Ct1Received",
	kindEkSentCt1Received:    "EkSentCt1Received",
	kindNoHeaderReceived:     "NoHeaderReceived",
	kindHeaderReceived:       "HeaderReceived",
	kindCt1Sampled:           "Ct1Sampled",
	kindEkReceivedCt1Sampled: "EkReceivedCt1Sampled",
	kindCt1Acknowledged:      "Ct1Acknowledged",
	kindCt2Sampled:           "Ct2Sampled",
}

// summary describes a state in the transcript's format.
func summary(t *testing.T, b []byte) string {
	t.Helper()
	st, err := parseState(b)
	require.NoError(t, err)
	s := st.scka
	role := "send_ek"
	if s.kind >= kindNoHeaderReceived {
		role = "send_ct"
	}
	if s.dec != nil {
		role += fmt.Sprintf(" %d/%d chunks", len(s.dec.pts[0]), s.dec.k())
	}
	return fmt.Sprintf("%s epoch %d (%s); chain epoch %d send_epoch %d",
		kindNames[s.kind], s.epoch, role, st.chain.currentEpoch, st.chain.sendEpoch)
}

// TestTranscriptStateSummaries follows the in-order replay of both parties
// and compares every intermediate state with the transcript's summary of
// libsignal's state: kind, epoch, chunks received, chain epochs.
func TestTranscriptStateSummaries(t *testing.T) {
	for _, s := range spqrTranscript(t).Sessions {
		authKey, _ := replayAlice(t, &s)
		states := map[string][]byte{
			"alice": Init(authKey, A2B, ChainParams{}),
			"bob":   Init(authKey, B2A, ChainParams{}),
		}
		draws := map[string]map[int]testvectors.SPQRRandomness{"alice": {}, "bob": {}}
		for _, r := range s.Alice.SPQR {
			draws["alice"][r.AtSeq] = r
		}
		for _, r := range s.Bob.SPQR {
			draws["bob"][r.AtSeq] = r
		}
		n := 0
		for _, m := range s.Messages {
			from, to := m.From, "alice"
			if from == "alice" {
				to = "bob"
			}
			d := draws[from][m.Seq]
			st, _, msg, err := sendDeterministic(states[from], d.DK, d.M)
			require.NoError(t, err)
			states[from] = st
			st, _, err = Recv(states[to], msg)
			require.NoError(t, err)
			states[to] = st
			if m.SenderAfter != "" {
				assert.Equal(t, m.SenderAfter, summary(t, states[from]), "%s seq %d sender", s.Name, m.Seq)
				n++
			}
			if m.ReceiverAfter != "" {
				assert.Equal(t, m.ReceiverAfter, summary(t, states[to]), "%s seq %d receiver", s.Name, m.Seq)
				n++
			}
		}
		assert.Equal(t, 2*len(s.Messages), n, s.Name)
	}
}
