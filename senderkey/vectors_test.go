package senderkey_test

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/kdf"
	"github.com/ratchetlab/signal/senderkey"
)

func loadVectors(t testing.TB) *testvectors.SenderKeyVectors {
	t.Helper()
	v, err := testvectors.LibsignalSenderKeys()
	require.NoError(t, err)
	require.Len(t, v.Groups, 3)
	return v
}

func distID(t testing.TB, s string) senderkey.DistributionID {
	t.Helper()
	id, err := senderkey.ParseDistributionID(s)
	require.NoError(t, err)
	return id
}

// expectErr maps the vectors' expect names to the errors of this package.
func checkExpect(t *testing.T, expect string, pt []byte, err error, want []byte) {
	t.Helper()
	switch expect {
	case "ok":
		if assert.NoError(t, err) {
			assert.Equal(t, want, pt)
		}
	case "duplicate_message":
		assert.ErrorIs(t, err, senderkey.ErrDuplicateMessage)
	case "no_sender_key":
		assert.ErrorIs(t, err, senderkey.ErrNoSenderKeyState)
	case "invalid_message":
		// In these vectors the only invalid message is one too far ahead.
		assert.ErrorIs(t, err, senderkey.ErrTooFarInFuture)
	default:
		t.Fatalf("unknown expect %q", expect)
	}
}

func decrypt(t *testing.T, r *senderkey.Record, ct []byte) ([]byte, error) {
	t.Helper()
	m, err := senderkey.ParseMessage(ct, senderkey.Libsignal)
	require.NoError(t, err)
	before, err := r.MarshalBinary()
	require.NoError(t, err)
	pt, err := r.Decrypt(nil, &m)
	if err != nil {
		after, err2 := r.MarshalBinary()
		require.NoError(t, err2)
		assert.Equal(t, before, after, "a failed decrypt changed the record")
	}
	return pt, err
}

func TestVectorSenderRecord(t *testing.T) {
	v := loadVectors(t)
	g := v.Groups[0]
	rec, err := senderkey.ParseRecord(g.SenderRecord)
	require.NoError(t, err)
	enc, err := rec.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, []byte(g.SenderRecord), enc, "record re-encoding")

	st := rec.States()
	require.Len(t, st, 1)
	assert.Equal(t, g.SenderChain.ChainID, st[0].ChainID)
	assert.Equal(t, g.SenderChain.Iteration, st[0].Iteration)
	assert.Equal(t, []byte(g.SenderChain.SigningPub), st[0].SigningKey.Bytes())
	assert.True(t, st[0].HasSigningPrivateKey)

	id := distID(t, g.DistributionID)
	d, err := rec.DistributionMessage(senderkey.Libsignal, id)
	require.NoError(t, err)
	skdm, err := d.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, []byte(g.SKDM), skdm)

	p, err := senderkey.ParseDistributionMessage(g.SKDM, senderkey.Libsignal)
	require.NoError(t, err)
	f := g.SKDMFields
	assert.Equal(t, f.VersionByte, 0x33)
	assert.Equal(t, uint8(3), p.Version)
	assert.Equal(t, f.ChainID, p.ChainID)
	assert.Equal(t, f.Iteration, p.Iteration)
	assert.Equal(t, []byte(f.ChainKey), p.ChainKey[:])
	assert.Equal(t, []byte(f.SigningKey), p.SigningKey.Bytes())
	assert.Equal(t, id, p.DistributionID)
}

// TestVectorKeys checks each recorded message's keys with package kdf and
// its wire fields with ParseMessage.
func TestVectorKeys(t *testing.T) {
	v := loadVectors(t)
	for _, g := range v.Groups {
		msgs := g.Messages
		if g.Reset != nil {
			msgs = append(msgs, g.Reset.Messages...)
		}
		for _, mv := range msgs {
			var ck [32]byte
			copy(ck[:], mv.ChainKey)
			seed, _ := kdf.ChainStep(&ck)
			assert.Equal(t, []byte(mv.MessageKeySeed), seed[:], "%s %d seed", g.Name, mv.Iteration)
			iv, key := kdf.DeriveGroupMessageKeys(&seed)
			assert.Equal(t, []byte(mv.IV), iv[:], "%s %d iv", g.Name, mv.Iteration)
			assert.Equal(t, []byte(mv.CipherKey), key[:], "%s %d key", g.Name, mv.Iteration)

			m, err := senderkey.ParseMessage(mv.Ciphertext, senderkey.Libsignal)
			require.NoError(t, err)
			assert.Equal(t, mv.Wire.ChainID, m.ChainID)
			assert.Equal(t, mv.Wire.Iteration, m.Iteration)
			assert.Equal(t, []byte(mv.Wire.Body), m.Ciphertext)
			assert.Equal(t, distID(t, g.DistributionID), m.DistributionID)
			assert.Equal(t, []byte(mv.Ciphertext), m.Bytes())
		}
	}
}

// TestVectorEncrypt re-encrypts group 1 with the imported sender record:
// every byte but the (randomized) signature must match libsignal's, and the
// sender's SKDM then names the next iteration.
func TestVectorEncrypt(t *testing.T) {
	v := loadVectors(t)
	g := v.Groups[0]
	id := distID(t, g.DistributionID)
	rec, err := senderkey.ParseRecord(g.SenderRecord)
	require.NoError(t, err)
	recv := senderkey.NewRecord()
	d, err := senderkey.ParseDistributionMessage(g.SKDM, senderkey.Libsignal)
	require.NoError(t, err)
	recv.Process(d)
	for _, mv := range g.Messages {
		ct, err := rec.Encrypt(nil, senderkey.Libsignal, id, mv.Plaintext)
		require.NoError(t, err)
		n := len(ct) - senderkey.SignatureSize
		require.Len(t, ct, len(mv.Ciphertext))
		assert.Equal(t, hex.EncodeToString(mv.Ciphertext[:n]), hex.EncodeToString(ct[:n]), "message %d", mv.Iteration)
		pt, err := decrypt(t, recv, ct)
		require.NoError(t, err)
		assert.Equal(t, []byte(mv.Plaintext), pt)
	}
	d, err = rec.DistributionMessage(senderkey.Libsignal, id)
	require.NoError(t, err)
	assert.Equal(t, uint32(len(g.Messages)), d.Iteration)
}

func TestVectorDeliveries(t *testing.T) {
	v := loadVectors(t)
	g := v.Groups[0]
	d, err := senderkey.ParseDistributionMessage(g.SKDM, senderkey.Libsignal)
	require.NoError(t, err)
	rec := senderkey.NewRecord()
	rec.Process(d)
	enc, err := rec.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, hex.EncodeToString(g.ReceiverRecordAfterSKDM), hex.EncodeToString(enc))

	for i, s := range g.Deliveries.Steps {
		mv := g.Messages[s.Message]
		require.Equal(t, s.Iteration, mv.Iteration)
		pt, err := decrypt(t, rec, mv.Ciphertext)
		checkExpect(t, s.Expect, pt, err, mv.Plaintext)
		if s.Expect == "duplicate_message" {
			var de *senderkey.DuplicateError
			if assert.True(t, errors.As(err, &de), "step %d", i) {
				assert.Equal(t, s.Iteration, de.Iteration)
			}
		}
	}
	enc, err = rec.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, hex.EncodeToString(g.ReceiverRecordAfterDeliveries), hex.EncodeToString(enc))
	checkSummary(t, g.ReceiverRecordAfterDeliveriesSummary, rec)

	// Key reset: a second SKDM for the same distribution id.
	r := g.Reset
	require.NotNil(t, r)
	for i, s := range r.Steps {
		if i == 1 {
			d2, err := senderkey.ParseDistributionMessage(r.SKDM, senderkey.Libsignal)
			require.NoError(t, err)
			rec.Process(d2)
		}
		mv := g.Messages[s.Message]
		if s.Chain == 2 {
			mv = r.Messages[s.Message]
		}
		require.Equal(t, s.Iteration, mv.Iteration)
		pt, err := decrypt(t, rec, mv.Ciphertext)
		checkExpect(t, s.Expect, pt, err, mv.Plaintext)
	}
	enc, err = rec.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, hex.EncodeToString(r.ReceiverRecordFinal), hex.EncodeToString(enc))
	checkSummary(t, r.ReceiverRecordFinalSummary, rec)
}

func checkSummary(t *testing.T, want []testvectors.SenderKeyStateSummary, rec *senderkey.Record) {
	t.Helper()
	got := rec.States()
	require.Len(t, got, len(want))
	for i, w := range want {
		assert.Equal(t, w.ChainID, got[i].ChainID)
		assert.Equal(t, w.MessageVersion, got[i].MessageVersion)
		assert.Equal(t, w.ChainIteration, got[i].Iteration)
		assert.Equal(t, []byte(w.SigningPub), got[i].SigningKey.Bytes())
		assert.Equal(t, w.HasSigningPriv, got[i].HasSigningPrivateKey)
		if len(w.SkippedMessageKeys) == 0 {
			assert.Empty(t, got[i].SkippedIterations)
		} else {
			assert.Equal(t, w.SkippedMessageKeys, got[i].SkippedIterations)
		}
	}
}

func TestVectorLateJoin(t *testing.T) {
	v := loadVectors(t)
	g := v.Groups[1]
	require.Equal(t, "group2_late_join", g.Name)
	id := distID(t, g.DistributionID)

	// The sender's record, rebuilt from the fixed chain, makes the SKDM
	// recorded at creation.
	d0, err := senderkey.ParseDistributionMessage(g.SKDMAtCreation, senderkey.Libsignal)
	require.NoError(t, err)
	assert.Equal(t, uint32(0), d0.Iteration)
	assert.Equal(t, []byte(g.SenderChain.ChainKey), d0.ChainKey[:])

	d, err := senderkey.ParseDistributionMessage(g.SKDMAfter3Messages, senderkey.Libsignal)
	require.NoError(t, err)
	assert.Equal(t, uint32(3), d.Iteration)
	assert.Equal(t, []byte(g.SKDMAfter3Fields.ChainKey), d.ChainKey[:])
	assert.Equal(t, id, d.DistributionID)
	rec := senderkey.NewRecord()
	rec.Process(d)
	for _, s := range g.Deliveries.Steps {
		mv := g.Messages[s.Message]
		require.Equal(t, s.Iteration, mv.Iteration)
		pt, err := decrypt(t, rec, mv.Ciphertext)
		checkExpect(t, s.Expect, pt, err, mv.Plaintext)
	}
}

func TestVectorFarAhead(t *testing.T) {
	v := loadVectors(t)
	g := v.Groups[2]
	require.Equal(t, "group3_far_ahead", g.Name)
	d, err := senderkey.ParseDistributionMessage(g.SKDM, senderkey.Libsignal)
	require.NoError(t, err)
	rec := senderkey.NewRecord()
	rec.Process(d)
	for _, s := range g.Deliveries.Steps {
		mv := g.MessageByIteration(uint32(s.Message))
		require.NotNil(t, mv, "message %d", s.Message)
		pt, err := decrypt(t, rec, mv.Ciphertext)
		checkExpect(t, s.Expect, pt, err, mv.Plaintext)
	}
	st := rec.States()
	require.Len(t, st, 1)
	// 23001..25000 were kept (the newest 2000), 25000 and 23001 were used.
	sk := st[0].SkippedIterations
	require.Len(t, sk, senderkey.MaxMessageKeys-2)
	assert.Equal(t, uint32(23002), sk[0])
	assert.Equal(t, uint32(24999), sk[len(sk)-1])
}

// TestTranscript072 decrypts the group messages of the 0.72.1 transcript
// in the order libsignal verified them.
func TestTranscript072(t *testing.T) {
	tr, err := testvectors.LibsignalV072SenderKey()
	require.NoError(t, err)
	d, err := senderkey.ParseDistributionMessage(tr.SKDM, senderkey.Libsignal)
	require.NoError(t, err)
	assert.Equal(t, distID(t, tr.DistributionID), d.DistributionID)
	assert.Equal(t, []byte(tr.SKDMFields.DistributionUUID), d.DistributionID[:])
	assert.Equal(t, tr.SKDMFields.ChainID, d.ChainID)
	assert.Equal(t, []byte(tr.SKDMFields.ChainKey), d.ChainKey[:])
	assert.Equal(t, []byte(tr.SKDMFields.SigningKey), d.SigningKey.Bytes())
	again, err := d.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, []byte(tr.SKDM), again)

	rec := senderkey.NewRecord()
	rec.Process(d)
	require.Len(t, tr.Messages, 6)
	for _, i := range []int{2, 3, 0, 5, 1, 4} {
		m := tr.Messages[i]
		assert.Equal(t, 7, m.Type)
		pt, err := decrypt(t, rec, m.Ciphertext)
		require.NoError(t, err, "message %d", i)
		assert.Equal(t, m.PlaintextText, string(pt))
	}
	for _, m := range tr.Messages {
		_, err := decrypt(t, rec, m.Ciphertext)
		assert.ErrorIs(t, err, senderkey.ErrDuplicateMessage)
	}
}
