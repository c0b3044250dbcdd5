package ratchet_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/ratchet"
)

// TestSPQRRollbackOnBadMAC sends messages both ways through several SPQR
// epochs and first delivers each with a broken MAC: the SPQR step then
// succeeds (it runs before the MAC check) and must be undone, leaving the
// receiver's encoding unchanged; the genuine message then decrypts.
func TestSPQRRollbackOnBadMAC(t *testing.T) {
	alice, bob := newPairSPQR(t, ratchet.VersionPQXDH, true)
	for i := range 150 {
		from, to := alice, bob
		if i%4 == 3 {
			from, to = bob, alice
		}
		ct, typ, err := from.Encrypt(nil, []byte("hi"))
		require.NoError(t, err)
		m, err := parseAny(t, typ, ct)
		require.NoError(t, err)
		require.NotEmpty(t, m.PQRatchet)

		bad := bytes.Clone(m.Bytes())
		bad[len(bad)-1] ^= 1 // the MAC's last byte
		bm, err := ratchet.ParseMessage(bad)
		require.NoError(t, err)
		before := encode(t, to)
		_, err = to.Decrypt(nil, &bm)
		require.ErrorIs(t, err, ratchet.ErrDecryption, "message %d", i)
		assert.Equal(t, before, encode(t, to), "message %d: a failed decrypt changed the state", i)

		pt, err := to.Decrypt(nil, &m)
		require.NoError(t, err, "message %d", i)
		assert.Equal(t, "hi", string(pt))
	}
}

// TestSPQRStateDecodedAtLoad checks that ParseState decodes field 15: a
// record whose SPQR state does not parse is rejected as ErrInvalidState
// when it is loaded, and a valid one re-encodes byte for byte.
func TestSPQRStateDecodedAtLoad(t *testing.T) {
	alice, _ := newPairSPQR(t, ratchet.VersionPQXDH, true)
	b := encode(t, alice)
	s, err := ratchet.ParseState(b)
	require.NoError(t, err)
	assert.True(t, s.HasPQRatchet())
	assert.Equal(t, b, encode(t, s))

	// A later field 15 replaces the first (proto3: last one wins); this
	// one holds a truncated sub-message.
	bad := append(bytes.Clone(b), 15<<3|2, 3, 0x0a, 0x05, 0x01)
	_, err = ratchet.ParseState(bad)
	assert.ErrorIs(t, err, ratchet.ErrInvalidState)
}
