package ratchet_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/ratchet"
)

func TestRoundTrip(t *testing.T) {
	for _, v := range []uint8{ratchet.VersionX3DH, ratchet.VersionPQXDH} {
		t.Run(fmt.Sprint("v", v), func(t *testing.T) {
			alice, bob := newPair(t, v)
			ct, typ, err := alice.Encrypt(nil, []byte("hello bob"))
			require.NoError(t, err)
			assert.Equal(t, ratchet.PreKeyType, typ)
			assert.Equal(t, v<<4|4, ct[0])
			pm, err := ratchet.ParsePreKeyMessage(ct)
			require.NoError(t, err)
			assert.Equal(t, v == ratchet.VersionPQXDH, pm.HasKyber())
			assert.Equal(t, uint32(11), pm.RegistrationID)
			pt, err := bob.Decrypt(nil, &pm.Message)
			require.NoError(t, err)
			assert.Equal(t, "hello bob", string(pt))

			ct, typ, err = bob.Encrypt(nil, nil)
			require.NoError(t, err)
			assert.Equal(t, ratchet.WhisperType, typ)
			m, err := ratchet.ParseMessage(ct)
			require.NoError(t, err)
			pt, err = alice.Decrypt(nil, &m)
			require.NoError(t, err)
			assert.Empty(t, pt)
			assert.Nil(t, alice.PendingPreKey(), "an answer clears the pending pre-key")
			ct, typ, err = alice.Encrypt(nil, []byte("now whisper"))
			require.NoError(t, err)
			assert.Equal(t, ratchet.WhisperType, typ)
			m, err = ratchet.ParseMessage(ct)
			require.NoError(t, err)
			pt, err = bob.Decrypt([]byte("prefix:"), &m)
			require.NoError(t, err)
			assert.Equal(t, "prefix:now whisper", string(pt))
		})
	}
}

func TestFailedDecryptChangesNothing(t *testing.T) {
	alice, bob := newPair(t, ratchet.VersionPQXDH)
	ct, _, err := alice.Encrypt(nil, []byte("first"))
	require.NoError(t, err)
	pm, err := ratchet.ParsePreKeyMessage(ct)
	require.NoError(t, err)
	assert.Equal(t, uint32(0), pm.Message.Counter)

	// Every single-bit flip of the inner message fails and changes nothing.
	raw := innerBytes(t, ct)
	before := encode(t, bob)
	for i := 0; i < len(raw)*8; i += 3 {
		c := bytes.Clone(raw)
		c[i/8] ^= 1 << (i % 8)
		m, err := ratchet.ParseMessage(c)
		if err != nil {
			continue
		}
		out, err := bob.Decrypt([]byte("x"), &m)
		require.Error(t, err, "bit %d", i)
		assert.Equal(t, []byte("x"), out)
		require.Equal(t, before, encode(t, bob), "bit %d", i)
	}
	m, err := ratchet.ParseMessage(raw)
	require.NoError(t, err)
	pt, err := bob.Decrypt(nil, &m)
	require.NoError(t, err)
	assert.Equal(t, "first", string(pt))

	// The duplicate fails with the typed error and changes nothing.
	before = encode(t, bob)
	_, err = bob.Decrypt(nil, &m)
	var dup *ratchet.DuplicateError
	require.ErrorAs(t, err, &dup)
	assert.ErrorIs(t, err, ratchet.ErrDuplicateMessage)
	assert.Equal(t, uint32(1), dup.ChainIndex)
	assert.Equal(t, uint32(0), dup.Counter)
	assert.Equal(t, before, encode(t, bob))
}

// innerBytes returns the SignalMessage inside a PreKeySignalMessage.
func innerBytes(t *testing.T, ct []byte) []byte {
	t.Helper()
	pm, err := ratchet.ParsePreKeyMessage(ct)
	require.NoError(t, err)
	return bytes.Clone(pm.Message.Bytes())
}

func TestLimits(t *testing.T) {
	alice, bob := newPair(t, ratchet.VersionX3DH)
	// Establish so that Alice sends whisper messages.
	ct, typ, err := alice.Encrypt(nil, []byte("hi"))
	require.NoError(t, err)
	m, err := parseAny(t, typ, ct)
	require.NoError(t, err)
	_, err = bob.Decrypt(nil, &m)
	require.NoError(t, err)

	// libsignal's scenario: 2300 messages; #1000 then #2299 decrypt, then
	// #5 fails as DuplicatedMessage(2300, 5).
	msgs := make([][]byte, 2300)
	for i := range msgs {
		msgs[i], typ, err = alice.Encrypt(nil, fmt.Appendf(nil, "m%d", i))
		require.NoError(t, err)
	}
	dec := func(i int) error {
		m, err := parseAny(t, typ, msgs[i])
		require.NoError(t, err)
		pt, err := bob.Decrypt(nil, &m)
		if err == nil {
			assert.Equal(t, fmt.Sprintf("m%d", i), string(pt))
		}
		return err
	}
	require.NoError(t, dec(1000))
	require.NoError(t, dec(2299))
	err = dec(5)
	var dup *ratchet.DuplicateError
	require.ErrorAs(t, err, &dup)
	// Counters are relative to the chain: "hi" was index 0.
	assert.Equal(t, ratchet.DuplicateError{ChainIndex: 2301, Counter: 6}, *dup)
	// Message i has index i+1; indices 1..298 were evicted.
	require.NoError(t, dec(298), "the oldest kept key")
	require.ErrorIs(t, dec(297), ratchet.ErrDuplicateMessage, "the newest evicted key")

	// A jump of exactly MaxForwardJumps is allowed; one more is not.
	alice2, bob2 := newPair(t, ratchet.VersionPQXDH)
	var last []byte
	for i := 0; i <= ratchet.MaxForwardJumps+1; i++ {
		last, typ, err = alice2.Encrypt(last[:0], []byte("x"))
		require.NoError(t, err)
		if i == ratchet.MaxForwardJumps {
			m, err := parseAny(t, typ, last)
			require.NoError(t, err)
			// Try the over-limit one later; first check this one on a copy.
			c := bob2.Clone()
			_, err = c.Decrypt(nil, &m)
			require.NoError(t, err, "jump of exactly MaxForwardJumps")
		}
	}
	m, err = parseAny(t, typ, last)
	require.NoError(t, err)
	before := encode(t, bob2)
	_, err = bob2.Decrypt(nil, &m)
	require.ErrorIs(t, err, ratchet.ErrTooFarInFuture)
	assert.Equal(t, before, encode(t, bob2))
}

// TestSelfSessionUnlimitedJumps: a session with oneself (the same identity
// key on both ends) has no forward-jump limit, as in libsignal.
func TestSelfSessionUnlimitedJumps(t *testing.T) {
	alice, bob := newSelfPair(t, ratchet.VersionPQXDH)
	var last []byte
	var typ ratchet.MessageType
	var err error
	for i := 0; i <= ratchet.MaxForwardJumps+1; i++ {
		last, typ, err = alice.Encrypt(last[:0], []byte("x"))
		require.NoError(t, err)
	}
	m, err := parseAny(t, typ, last)
	require.NoError(t, err)
	pt, err := bob.Decrypt(nil, &m)
	require.NoError(t, err, "note-to-self sessions have no jump limit")
	assert.Equal(t, "x", string(pt))
}

func TestStateEncodingRoundTrip(t *testing.T) {
	alice, bob := newPair(t, ratchet.VersionPQXDH)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 40 {
		from, to := alice, bob
		if r.IntN(2) == 0 {
			from, to = bob, alice
		}
		ct, typ, err := from.Encrypt(nil, []byte("x"))
		require.NoError(t, err)
		if i%3 == 0 {
			continue // lost: leaves skipped keys
		}
		m, err := parseAny(t, typ, ct)
		require.NoError(t, err)
		_, _ = to.Decrypt(nil, &m)
	}
	for _, s := range []*ratchet.State{alice, bob} {
		b := encode(t, s)
		s2, err := ratchet.ParseState(b)
		require.NoError(t, err)
		assert.Equal(t, b, encode(t, s2))
	}
	// A decoded state continues the conversation.
	a2, err := ratchet.ParseState(encode(t, alice))
	require.NoError(t, err)
	b2, err := ratchet.ParseState(encode(t, bob))
	require.NoError(t, err)
	for range 3 {
		ct, typ, err := a2.Encrypt(nil, []byte("after reload"))
		require.NoError(t, err)
		m, err := parseAny(t, typ, ct)
		require.NoError(t, err)
		pt, err := b2.Decrypt(nil, &m)
		require.NoError(t, err)
		assert.Equal(t, "after reload", string(pt))
		a2, b2 = b2, a2
	}
}

func TestParseErrors(t *testing.T) {
	_, err := ratchet.ParseMessage(nil)
	assert.ErrorIs(t, err, ratchet.ErrMessageTooShort)
	_, err = ratchet.ParseMessage(make([]byte, 8))
	assert.ErrorIs(t, err, ratchet.ErrMessageTooShort)
	_, err = ratchet.ParseMessage(append([]byte{0x24}, make([]byte, 20)...))
	assert.ErrorIs(t, err, ratchet.ErrInvalidVersion)
	var ve *ratchet.VersionError
	_, err = ratchet.ParseMessage(append([]byte{0x54}, make([]byte, 20)...))
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, uint8(5), ve.Version)
	_, err = ratchet.ParseMessage(append([]byte{0x44}, make([]byte, 8)...))
	assert.ErrorIs(t, err, ratchet.ErrMalformedMessage, "missing required fields")
	_, err = ratchet.ParsePreKeyMessage([]byte{0x44})
	assert.ErrorIs(t, err, ratchet.ErrMalformedMessage)
	_, err = ratchet.ParsePreKeyMessage(nil)
	assert.ErrorIs(t, err, ratchet.ErrMessageTooShort)

	alice, _ := newPair(t, ratchet.VersionPQXDH)
	ct, _, err := alice.Encrypt(nil, []byte("x"))
	require.NoError(t, err)
	for n := range len(ct) {
		_, err := ratchet.ParsePreKeyMessage(ct[:n])
		assert.Error(t, err, "truncated to %d", n)
	}
	_, err = ratchet.ParsePreKeyMessage(ct)
	require.NoError(t, err)
	_, err = ratchet.ParseState(nil)
	assert.ErrorIs(t, err, ratchet.ErrInvalidState)
	b := encode(t, alice)
	for n := range len(b) {
		if _, err := ratchet.ParseState(b[:n]); err == nil {
			// A prefix may still be a complete message; it must then re-encode.
			continue
		}
	}
}

func TestFormatHidesSecrets(t *testing.T) {
	alice, _ := newPair(t, ratchet.VersionPQXDH)
	out := fmt.Sprintf("%v %+v %#v %s", alice, alice, alice, alice)
	assert.NotContains(t, out, "rootKey")
	assert.Contains(t, out, "ratchet.State(version=4")
}

func TestLegacyVersionByte(t *testing.T) {
	for _, v := range []uint8{ratchet.VersionX3DH, ratchet.VersionPQXDH} {
		alice, bob := newPair(t, v)
		ct, typ, err := alice.EncryptWith(nil, []byte("hi"), ratchet.EncryptOptions{LegacyVersionByte: true})
		require.NoError(t, err)
		want := byte(0x44)
		if v == ratchet.VersionX3DH {
			want = 0x33
		}
		assert.Equal(t, want, ct[0])
		m, err := parseAny(t, typ, ct)
		require.NoError(t, err)
		assert.Equal(t, want, m.Bytes()[0])
		pt, err := bob.Decrypt(nil, &m)
		require.NoError(t, err)
		assert.Equal(t, "hi", string(pt))
	}
}

func TestSPQRSession(t *testing.T) {
	alice, bob := newPairSPQR(t, ratchet.VersionPQXDH, true)
	require.True(t, alice.HasPQRatchet())
	require.True(t, bob.HasPQRatchet())
	// Enough messages both ways to run several SPQR epochs (each epoch moves
	// a 1152-byte key and a 1088-byte ciphertext in 32-byte chunks).
	for i := range 400 {
		from, to := alice, bob
		if i%3 == 2 {
			from, to = bob, alice
		}
		ct, typ, err := from.Encrypt(nil, fmt.Appendf(nil, "msg %d", i))
		require.NoError(t, err)
		m, err := parseAny(t, typ, ct)
		require.NoError(t, err)
		require.NotEmpty(t, m.PQRatchet, "every message carries SPQR data")
		pt, err := to.Decrypt(nil, &m)
		require.NoError(t, err, "msg %d", i)
		assert.Equal(t, fmt.Sprintf("msg %d", i), string(pt))
	}
	// The state round-trips with its SPQR part.
	b := encode(t, alice)
	a2, err := ratchet.ParseState(b)
	require.NoError(t, err)
	assert.Equal(t, b, encode(t, a2))
	assert.True(t, a2.HasPQRatchet())

	// Tampering with pq_ratchet breaks the MAC; stripping it too.
	ct, _, err := alice.Encrypt(nil, []byte("x"))
	require.NoError(t, err)
	m, err := ratchet.ParseMessage(ct)
	require.NoError(t, err)
	before := encode(t, bob)
	off := bytes.Index(ct, m.PQRatchet)
	require.Positive(t, off)
	c := bytes.Clone(ct)
	c[off+len(m.PQRatchet)-1] ^= 1
	m2, err := ratchet.ParseMessage(c)
	require.NoError(t, err)
	_, err = bob.Decrypt(nil, &m2)
	require.Error(t, err)
	assert.Equal(t, before, encode(t, bob))
	pt, err := bob.Decrypt(nil, &m)
	require.NoError(t, err)
	assert.Equal(t, "x", string(pt))
}

func TestSPQRRequiredOnceStarted(t *testing.T) {
	// Bob runs SPQR, Alice does not: Bob rejects her messages (SPQR v1
	// requires its data on every message) and changes nothing.
	alice, bob := newPairMixed(t, ratchet.VersionPQXDH, false, true)
	ct, typ, err := alice.Encrypt(nil, []byte("no spqr"))
	require.NoError(t, err)
	m, err := parseAny(t, typ, ct)
	require.NoError(t, err)
	assert.Empty(t, m.PQRatchet)
	before := encode(t, bob)
	_, err = bob.Decrypt(nil, &m)
	require.ErrorIs(t, err, ratchet.ErrModeMismatch, "not a bad MAC: a mode mismatch")
	require.NotErrorIs(t, err, ratchet.ErrDecryption)
	assert.Equal(t, before, encode(t, bob))

	// Alice runs SPQR, Bob does not: Bob ignores pq_ratchet (a classical
	// state), so the message keys differ and the MAC fails.
	alice, bob = newPairMixed(t, ratchet.VersionPQXDH, true, false)
	ct, typ, err = alice.Encrypt(nil, []byte("spqr"))
	require.NoError(t, err)
	m, err = parseAny(t, typ, ct)
	require.NoError(t, err)
	assert.NotEmpty(t, m.PQRatchet)
	_, err = bob.Decrypt(nil, &m)
	require.ErrorIs(t, err, ratchet.ErrDecryption)
}
