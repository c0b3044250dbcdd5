package interop

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWireChecks runs the runner's own wire checks (checkWire,
// checkRecordSPQR) on messages and records written by libsignal itself: the
// 0.103.0 recording (SPQR, service-id addresses) and the 0.72.1 recording
// (classical), so that a check that passes everything or nothing is noticed.
func TestWireChecks(t *testing.T) {
	alice := &party{name: aliceName, device: 1}
	bob := &party{name: bobName, device: 1}
	convo := func(spqr bool) *Convo { return &Convo{SPQR: spqr} }

	ts103, err := loadTranscript(transcript0103)
	require.NoError(t, err)
	s103 := ts103["pqxdh_otpk"]
	require.NotNil(t, s103)
	require.Equal(t, aliceName, s103.Alice.Address.Name, "the runner's names are the recording's")
	require.Equal(t, bobName, s103.Bob.Address.Name)
	var prekeys, whispers int
	for _, m := range s103.Messages {
		ct, err := hex.DecodeString(m.Ciphertext)
		require.NoError(t, err)
		from, to := alice, bob
		if m.From == "bob" {
			from, to = bob, alice
		}
		assert.NoError(t, convo(true).checkWire(from, to, ct, m.Type), "seq %d", m.Seq)
		assert.Error(t, convo(false).checkWire(from, to, ct, m.Type), "seq %d: SPQR data in a classical session", m.Seq)
		if m.Type == 3 {
			prekeys++
			assert.Error(t, convo(true).checkWire(to, from, ct, m.Type), "seq %d: addresses swapped", m.Seq)
			other := &party{name: "PNI:" + from.name, device: 1}
			assert.Error(t, convo(true).checkWire(other, to, ct, m.Type), "seq %d: PNI instead of ACI", m.Seq)
			other = &party{name: from.name, device: 2}
			assert.Error(t, convo(true).checkWire(other, to, ct, m.Type), "seq %d: other device", m.Seq)
		} else {
			whispers++
		}
	}
	assert.Positive(t, prekeys)
	assert.Positive(t, whispers)

	// Records: libsignal 0.103 writes the SPQR state into field 15.
	var recs []struct {
		Record string `json:"record"`
	}
	raw, err := os.ReadFile(transcript0103)
	require.NoError(t, err)
	var f struct {
		Sessions []struct {
			Records json.RawMessage `json:"session_records"`
		} `json:"sessions"`
	}
	require.NoError(t, json.Unmarshal(raw, &f))
	require.NoError(t, json.Unmarshal(f.Sessions[0].Records, &recs))
	require.NotEmpty(t, recs)
	for i, r := range recs {
		assert.NoError(t, checkRecordSPQR(r.Record, true), "record %d", i)
		assert.Error(t, checkRecordSPQR(r.Record, false), "record %d", i)
	}

	ts72, err := loadTranscript(transcript072)
	require.NoError(t, err)
	for _, name := range []string{"pqxdh", "x3dh"} {
		s := ts72[name]
		require.NotNil(t, s)
		n := 0
		for _, m := range s.Messages {
			ct, err := hex.DecodeString(m.Ciphertext)
			require.NoError(t, err)
			from, to := alice, bob
			if m.From == "bob" {
				from, to = bob, alice
			}
			assert.NoError(t, convo(false).checkWire(from, to, ct, m.Type), "%s seq %d", name, m.Seq)
			assert.Error(t, convo(true).checkWire(from, to, ct, m.Type), "%s seq %d: no SPQR data", name, m.Seq)
			n++
		}
		assert.Positive(t, n)
	}
}
