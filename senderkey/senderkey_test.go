package senderkey_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/kdf"
	"github.com/ratchetlab/signal/senderkey"
)

// pair returns a sender's record and a receiver's record built from the
// sender's distribution message.
func pair(t testing.TB, enc senderkey.Format) (sender, receiver *senderkey.Record, id senderkey.DistributionID) {
	t.Helper()
	id, err := senderkey.NewDistributionID()
	require.NoError(t, err)
	sender, err = senderkey.NewSenderKey()
	require.NoError(t, err)
	d, err := sender.DistributionMessage(enc, id)
	require.NoError(t, err)
	b, err := d.MarshalBinary()
	require.NoError(t, err)
	d2, err := senderkey.ParseDistributionMessage(b, enc)
	require.NoError(t, err)
	receiver = senderkey.NewRecord()
	receiver.Process(d2)
	return sender, receiver, id
}

// signingCache speeds up the tests that encrypt thousands of messages.
var signingCache senderkey.SigningCache

func encrypt(t testing.TB, r *senderkey.Record, enc senderkey.Format, id senderkey.DistributionID, pt string) []byte {
	t.Helper()
	ct, err := r.EncryptCached(nil, enc, id, []byte(pt), &signingCache)
	require.NoError(t, err)
	return ct
}

func open(t *testing.T, r *senderkey.Record, enc senderkey.Format, ct []byte) (string, error) {
	t.Helper()
	m, err := senderkey.ParseMessage(ct, enc)
	if err != nil {
		return "", err
	}
	before, _ := r.MarshalBinary()
	pt, err := r.Decrypt(nil, &m)
	if err != nil {
		after, _ := r.MarshalBinary()
		assert.Equal(t, before, after, "failed decrypt changed the record")
	}
	return string(pt), err
}

var formats = []senderkey.Format{senderkey.Libsignal, senderkey.WhatsApp}

// The scenarios of libsignal's rust/protocol/tests/groups.rs.

func TestBasicRatchetWithDuplicate(t *testing.T) {
	for _, enc := range formats {
		t.Run(enc.String(), func(t *testing.T) {
			s, r, id := pair(t, enc)
			c1 := encrypt(t, s, enc, id, "message 1")
			c2 := encrypt(t, s, enc, id, "message 2")
			c3 := encrypt(t, s, enc, id, "message 3")
			for i, c := range [][]byte{c1, c2, c3} {
				pt, err := open(t, r, enc, c)
				require.NoError(t, err)
				assert.Equal(t, fmt.Sprintf("message %d", i+1), pt)
			}
			_, err := open(t, r, enc, c2)
			var de *senderkey.DuplicateError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, uint32(3), de.ChainIteration)
			assert.Equal(t, uint32(1), de.Iteration)
		})
	}
}

func TestOutOfOrder(t *testing.T) {
	for _, enc := range formats {
		t.Run(enc.String(), func(t *testing.T) {
			s, r, id := pair(t, enc)
			var cts [][]byte
			for i := range 100 {
				cts = append(cts, encrypt(t, s, enc, id, fmt.Sprint("up the punks ", i)))
			}
			order := []int{99, 0, 50, 1, 98}
			for i := 2; i < 98; i++ {
				if i != 50 {
					order = append(order, i)
				}
			}
			for _, i := range order {
				pt, err := open(t, r, enc, cts[i])
				require.NoError(t, err, "message %d", i)
				assert.Equal(t, fmt.Sprint("up the punks ", i), pt)
			}
			for _, i := range order {
				_, err := open(t, r, enc, cts[i])
				assert.ErrorIs(t, err, senderkey.ErrDuplicateMessage, "message %d", i)
			}
		})
	}
}

func TestLateJoin(t *testing.T) {
	s, _, id := pair(t, senderkey.Libsignal)
	for i := range 100 {
		encrypt(t, s, senderkey.Libsignal, id, fmt.Sprint("early ", i))
	}
	d, err := s.DistributionMessage(senderkey.Libsignal, id)
	require.NoError(t, err)
	assert.Equal(t, uint32(100), d.Iteration)
	late := senderkey.NewRecord()
	late.Process(d)
	ct := encrypt(t, s, senderkey.Libsignal, id, "welcome")
	pt, err := open(t, late, senderkey.Libsignal, ct)
	require.NoError(t, err)
	assert.Equal(t, "welcome", pt)
}

func TestTooFarInFuture(t *testing.T) {
	for _, tc := range []struct {
		enc   senderkey.Format
		limit uint32
	}{{senderkey.Libsignal, 25000}, {senderkey.WhatsApp, 2000}} {
		t.Run(tc.enc.String(), func(t *testing.T) {
			s, r, id := pair(t, tc.enc)
			d, err := s.DistributionMessage(tc.enc, id)
			require.NoError(t, err)
			// Move the sender's chain limit+1 steps ahead (the chain keys
			// by package kdf), as limit+1 encryptions would.
			ck := d.ChainKey
			for range tc.limit + 1 {
				_, ck = kdf.ChainStep(&ck)
			}
			senderkey.SetChainForTest(s, tc.limit+1, ck)
			// The receiver's chain is at 0: iteration limit+1 is a jump
			// of limit+1.
			far := encrypt(t, s, tc.enc, id, "too far")
			_, err = open(t, r, tc.enc, far)
			assert.ErrorIs(t, err, senderkey.ErrTooFarInFuture)
			// One step back, a jump of exactly limit is accepted.
			back := d.ChainKey
			for range tc.limit {
				_, back = kdf.ChainStep(&back)
			}
			senderkey.SetChainForTest(s, tc.limit, back)
			ok := encrypt(t, s, tc.enc, id, "just in reach")
			pt, err := open(t, r, tc.enc, ok)
			require.NoError(t, err)
			assert.Equal(t, "just in reach", pt)
			// Now the far message is one step ahead.
			pt, err = open(t, r, tc.enc, far)
			require.NoError(t, err)
			assert.Equal(t, "too far", pt)
			skipped := r.States()[0].SkippedIterations
			require.Len(t, skipped, senderkey.MaxMessageKeys)
			assert.Equal(t, tc.limit-senderkey.MaxMessageKeys, skipped[0])
		})
	}
}

func TestMessageKeyLimit(t *testing.T) {
	s, r, id := pair(t, senderkey.Libsignal)
	var cts [][]byte
	for i := range 2010 {
		cts = append(cts, encrypt(t, s, senderkey.Libsignal, id, fmt.Sprint("m", i)))
	}
	pt, err := open(t, r, senderkey.Libsignal, cts[1000])
	require.NoError(t, err)
	assert.Equal(t, "m1000", pt)
	pt, err = open(t, r, senderkey.Libsignal, cts[2009])
	require.NoError(t, err)
	assert.Equal(t, "m2009", pt)
	_, err = open(t, r, senderkey.Libsignal, cts[0])
	assert.ErrorIs(t, err, senderkey.ErrDuplicateMessage)
}

func TestStates(t *testing.T) {
	id, _ := senderkey.NewDistributionID()
	r := senderkey.NewRecord()
	var senders []*senderkey.Record
	for range 7 {
		s, err := senderkey.NewSenderKey()
		require.NoError(t, err)
		d, err := s.DistributionMessage(senderkey.Libsignal, id)
		require.NoError(t, err)
		r.Process(d)
		senders = append(senders, s)
	}
	require.Equal(t, senderkey.MaxStates, r.Len())
	// The two oldest chains are gone; the five newest decrypt.
	for i, s := range senders {
		_, err := open(t, r, senderkey.Libsignal, encrypt(t, s, senderkey.Libsignal, id, "hi"))
		if i < 2 {
			assert.ErrorIs(t, err, senderkey.ErrNoSenderKeyState, "sender %d", i)
		} else {
			assert.NoError(t, err, "sender %d", i)
		}
	}
	// The same SKDM again keeps the state (and its progress).
	last := senders[6]
	d, _ := last.DistributionMessage(senderkey.Libsignal, id)
	d.Iteration = 0
	d.ChainKey = [32]byte{1}
	r.Process(d)
	assert.Equal(t, uint32(1), r.States()[0].Iteration)
	_, err := open(t, r, senderkey.Libsignal, encrypt(t, last, senderkey.Libsignal, id, "still"))
	assert.NoError(t, err)
	// The same chain id with another signing key replaces it.
	other, _ := senderkey.NewSenderKey()
	od, _ := other.DistributionMessage(senderkey.Libsignal, id)
	od.ChainID = d.ChainID
	r.Process(od)
	assert.Equal(t, senderkey.MaxStates, r.Len())
	assert.Equal(t, od.SigningKey, r.States()[0].SigningKey)
	_, err = open(t, r, senderkey.Libsignal, encrypt(t, last, senderkey.Libsignal, id, "old key"))
	assert.ErrorIs(t, err, senderkey.ErrBadSignature)
}

func TestRejections(t *testing.T) {
	s, r, id := pair(t, senderkey.Libsignal)
	ct := encrypt(t, s, senderkey.Libsignal, id, "hello")

	bad := bytes.Clone(ct)
	bad[len(bad)-70] ^= 1 // in the body
	_, err := open(t, r, senderkey.Libsignal, bad)
	assert.ErrorIs(t, err, senderkey.ErrBadSignature)

	bad = bytes.Clone(ct)
	bad[len(bad)-1] ^= 0x40
	_, err = open(t, r, senderkey.Libsignal, bad)
	assert.ErrorIs(t, err, senderkey.ErrBadSignature)

	for _, v := range []byte{0x23, 0x43, 0x13} {
		bad = bytes.Clone(ct)
		bad[0] = v
		_, err = open(t, r, senderkey.Libsignal, bad)
		assert.ErrorIs(t, err, senderkey.ErrInvalidVersion, "version byte %#x", v)
	}
	_, err = open(t, r, senderkey.Libsignal, ct[:64])
	assert.ErrorIs(t, err, senderkey.ErrMalformed)
	_, err = open(t, r, senderkey.Libsignal, append(bytes.Clone(ct), 0))
	assert.Error(t, err)
	// A libsignal message is not a WhatsApp one and vice versa.
	_, err = senderkey.ParseMessage(ct, senderkey.WhatsApp)
	assert.ErrorIs(t, err, senderkey.ErrMalformed)

	// Unknown chain.
	s2, _ := senderkey.NewSenderKey()
	_, err = open(t, r, senderkey.Libsignal, encrypt(t, s2, senderkey.Libsignal, id, "x"))
	assert.ErrorIs(t, err, senderkey.ErrNoSenderKeyState)

	// A receiver cannot encrypt; an empty record neither.
	_, err = r.Encrypt(nil, senderkey.Libsignal, id, []byte("x"))
	assert.ErrorIs(t, err, senderkey.ErrNoSigningKey)
	_, err = senderkey.NewRecord().Encrypt(nil, senderkey.Libsignal, id, []byte("x"))
	assert.ErrorIs(t, err, senderkey.ErrNoSenderKeyState)

	pt, err := open(t, r, senderkey.Libsignal, ct)
	require.NoError(t, err)
	assert.Equal(t, "hello", pt)
}

func TestDistributionMessageRejections(t *testing.T) {
	s, _, id := pair(t, senderkey.Libsignal)
	d, _ := s.DistributionMessage(senderkey.Libsignal, id)
	b, _ := d.MarshalBinary()
	for name, mut := range map[string]func([]byte) []byte{
		"short":         func(b []byte) []byte { return b[:40] },
		"version 2":     func(b []byte) []byte { b[0] = 0x23; return b },
		"version 4":     func(b []byte) []byte { b[0] = 0x43; return b },
		"truncated":     func(b []byte) []byte { return b[:len(b)-1] },
		"short uuid":    func(b []byte) []byte { b[2] = 15; return b },
		"bad key type":  func(b []byte) []byte { b[len(b)-33] = 0x06; return b },
		"trailing byte": func(b []byte) []byte { return append(b, 0x08) },
	} {
		_, err := senderkey.ParseDistributionMessage(mut(bytes.Clone(b)), senderkey.Libsignal)
		if assert.Error(t, err, name) {
			assert.True(t, errors.Is(err, senderkey.ErrMalformed) || errors.Is(err, senderkey.ErrInvalidVersion), name)
		}
	}
}

func TestWhatsAppFormat(t *testing.T) {
	s, r, id := pair(t, senderkey.WhatsApp)
	d, _ := s.DistributionMessage(senderkey.WhatsApp, id)
	b, _ := d.MarshalBinary()
	// {1 id, 2 iteration, 3 chainKey, 4 signingKey}: no distribution id.
	assert.Equal(t, byte(0x33), b[0])
	assert.Equal(t, byte(0x08), b[1])
	assert.NotContains(t, string(b), string(id[:]))
	ct := encrypt(t, s, senderkey.WhatsApp, id, "legacy")
	assert.Equal(t, byte(0x08), ct[1])
	assert.NotContains(t, string(ct), string(id[:]))
	pt, err := open(t, r, senderkey.WhatsApp, ct)
	require.NoError(t, err)
	assert.Equal(t, "legacy", pt)
}

func TestRecordRoundTrip(t *testing.T) {
	s, r, id := pair(t, senderkey.Libsignal)
	cts := [][]byte{}
	for range 5 {
		cts = append(cts, encrypt(t, s, senderkey.Libsignal, id, "x"))
	}
	_, err := open(t, r, senderkey.Libsignal, cts[3])
	require.NoError(t, err)
	for _, rec := range []*senderkey.Record{s, r} {
		b, err := rec.MarshalBinary()
		require.NoError(t, err)
		p, err := senderkey.ParseRecord(b)
		require.NoError(t, err)
		b2, err := p.MarshalBinary()
		require.NoError(t, err)
		assert.Equal(t, b, b2)
	}
	b, _ := r.MarshalBinary()
	moved, err := senderkey.ParseRecord(b)
	require.NoError(t, err)
	pt, err := open(t, moved, senderkey.Libsignal, cts[1])
	require.NoError(t, err)
	assert.Equal(t, "x", pt)
	_, err = senderkey.ParseRecord([]byte{0x0a, 0x02, 0x08})
	assert.ErrorIs(t, err, senderkey.ErrInvalidRecord)
}

func TestNoSecretsPrinted(t *testing.T) {
	s, r, id := pair(t, senderkey.Libsignal)
	d, _ := s.DistributionMessage(senderkey.Libsignal, id)
	ck := fmt.Sprintf("%x", d.ChainKey[:8])
	for _, v := range []any{d, *d, s, r} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, strings.ToLower(out), ck, "%s of %T", verb, v)
		}
	}
}

func TestDistributionID(t *testing.T) {
	id, err := senderkey.ParseDistributionID("D1571B00-0000-4000-8000-0000000000d1")
	require.NoError(t, err)
	assert.Equal(t, "d1571b00-0000-4000-8000-0000000000d1", id.String())
	for _, s := range []string{"", "d1571b00000040008000-0000000000d1", "d1571b00-0000-4000-8000-0000000000dz"} {
		_, err := senderkey.ParseDistributionID(s)
		assert.Error(t, err, s)
	}
	assert.Equal(t, senderkey.LegacyGroupID("g@g.us"), senderkey.LegacyGroupID("g@g.us"))
	assert.NotEqual(t, senderkey.LegacyGroupID("g@g.us"), senderkey.LegacyGroupID("h@g.us"))
}

func TestEncryptCached(t *testing.T) {
	s, r, id := pair(t, senderkey.Libsignal)
	var c senderkey.SigningCache
	for i := range 5 {
		// The sender's record is decoded anew each time, as from a store.
		b, err := s.MarshalBinary()
		require.NoError(t, err)
		s, err = senderkey.ParseRecord(b)
		require.NoError(t, err)
		ct, err := s.EncryptCached(nil, senderkey.Libsignal, id, []byte(fmt.Sprint("cached ", i)), &c)
		require.NoError(t, err)
		pt, err := open(t, r, senderkey.Libsignal, ct)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprint("cached ", i), pt)
	}
	// After a reset the new key gets its own entry.
	s2, err := senderkey.NewSenderKey()
	require.NoError(t, err)
	d, _ := s2.DistributionMessage(senderkey.Libsignal, id)
	r.Process(d)
	ct, err := s2.EncryptCached(nil, senderkey.Libsignal, id, []byte("new key"), &c)
	require.NoError(t, err)
	pt, err := open(t, r, senderkey.Libsignal, ct)
	require.NoError(t, err)
	assert.Equal(t, "new key", pt)
}
