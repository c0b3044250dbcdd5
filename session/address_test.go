package session

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/ratchet"
)

func TestServiceIDFixedWidth(t *testing.T) {
	v, err := testvectors.Libsignal("service_id_fixed_width_binary")
	require.NoError(t, err)
	var in struct{ UUID string }
	var exp struct {
		ACI       string `json:"aci_fixed_width"`
		PNI       string `json:"pni_fixed_width"`
		PNIString string `json:"pni_string"`
	}
	require.NoError(t, v.Decode(&in, &exp))
	aci, ok := serviceIDBinary(in.UUID)
	require.True(t, ok)
	assert.Equal(t, exp.ACI, hex.EncodeToString(aci[:]))
	aci, ok = serviceIDBinary(strings.ToUpper(in.UUID))
	require.True(t, ok, "case-insensitive")
	assert.Equal(t, exp.ACI, hex.EncodeToString(aci[:]))
	pni, ok := serviceIDBinary(exp.PNIString)
	require.True(t, ok)
	assert.Equal(t, exp.PNI, hex.EncodeToString(pni[:]))
	for _, bad := range []string{"alice", "", in.UUID[:35], strings.Replace(in.UUID, "-", "x", 1), "ACI:" + in.UUID, in.UUID + "0"} {
		_, ok := serviceIDBinary(bad)
		assert.False(t, ok, bad)
	}
}

// The addresses field libsignal 0.103.0 wrote into Alice's PreKey messages
// is exactly what addressesField builds for the same two addresses.
func TestAddressesFieldMatchesLibsignal(t *testing.T) {
	raw, err := testvectors.ReadFile("libsignal/libsignal_v0.103_transcript.json")
	require.NoError(t, err)
	var tr struct {
		Sessions []struct {
			Alice struct {
				Address testvectors.Address `json:"address"`
			} `json:"alice"`
			Bob struct {
				Address testvectors.Address `json:"address"`
			} `json:"bob"`
			Messages []struct {
				Ciphertext testvectors.Hex `json:"ciphertext"`
			} `json:"messages"`
		} `json:"sessions"`
	}
	require.NoError(t, jsonUnmarshal(raw, &tr))
	s := tr.Sessions[0]
	pm, err := ratchet.ParsePreKeyMessage(s.Messages[0].Ciphertext)
	require.NoError(t, err)
	require.Len(t, pm.Message.Addresses, 36)
	alice := Address{Name: s.Alice.Address.Name, DeviceID: s.Alice.Address.DeviceID}
	bob := Address{Name: s.Bob.Address.Name, DeviceID: s.Bob.Address.DeviceID}
	got, ok := addressesField(alice, bob)
	require.True(t, ok)
	assert.Equal(t, pm.Message.Addresses, got)
	_, ok = addressesField(alice, Address{Name: bob.Name, DeviceID: 128})
	assert.False(t, ok, "device ids are 1..127")
	_, ok = addressesField(alice, Address{Name: "bob", DeviceID: 1})
	assert.False(t, ok)
}
