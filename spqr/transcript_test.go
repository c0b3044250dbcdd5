package spqr

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/testvectors"
)

// recordSPQRState returns SessionStructure field 15 of a libsignal
// SessionRecord's current session (RecordStructure field 1).
func recordSPQRState(t *testing.T, record []byte) []byte {
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

func spqrTranscript(t *testing.T) *testvectors.SPQRTranscript {
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
				newState, key, msg, err := SendDeterministic(states[from], d.DK, d.M)
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
