package session_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/senderkey"
	"github.com/ratchetlab/signal/session"
)

func groupCipher(t *testing.T, name string) (*session.GroupCipher, *session.MemoryStore, session.Address) {
	t.Helper()
	id, err := keys.GeneratePrivateKey()
	require.NoError(t, err)
	store := session.NewMemoryStore(id, 1, session.TrustAll)
	addr := session.Address{Name: name, DeviceID: 1}
	m, err := session.New(store.Stores(), session.WithLocalAddress(addr))
	require.NoError(t, err)
	g, err := m.Groups()
	require.NoError(t, err)
	return g, store, addr
}

func TestGroupsNeedsLocalAddress(t *testing.T) {
	id, _ := keys.GeneratePrivateKey()
	m, err := session.New(session.NewMemoryStore(id, 1, session.TrustAll).Stores())
	require.NoError(t, err)
	_, err = m.Groups()
	assert.ErrorIs(t, err, session.ErrNoLocalAddress)
}

func TestGroupCipherVectors(t *testing.T) {
	ctx := context.Background()
	v, err := testvectors.LibsignalSenderKeys()
	require.NoError(t, err)
	g := v.Groups[0]
	alice := session.Address{Name: v.Sender.Name, DeviceID: v.Sender.DeviceID}
	bob, store, _ := groupCipher(t, "bob")

	_, _, err = bob.Decrypt(ctx, alice, g.Messages[0].Ciphertext)
	assert.ErrorIs(t, err, senderkey.ErrNoSenderKeyState)

	d, err := bob.ProcessDistributionMessage(ctx, alice, g.SKDM)
	require.NoError(t, err)
	rec, err := store.LoadSenderKey(ctx, alice, d.DistributionID)
	require.NoError(t, err)
	b, _ := rec.MarshalBinary()
	assert.Equal(t, []byte(g.ReceiverRecordAfterSKDM), b)

	for _, s := range g.Deliveries.Steps {
		mv := g.Messages[s.Message]
		pt, id, err := bob.Decrypt(ctx, alice, mv.Ciphertext)
		switch s.Expect {
		case "ok":
			require.NoError(t, err)
			assert.Equal(t, []byte(mv.Plaintext), pt)
			assert.Equal(t, d.DistributionID, id)
		case "duplicate_message":
			assert.ErrorIs(t, err, senderkey.ErrDuplicateMessage)
		default:
			t.Fatalf("unexpected expect %q", s.Expect)
		}
	}
	rec, err = store.LoadSenderKey(ctx, alice, d.DistributionID)
	require.NoError(t, err)
	b, _ = rec.MarshalBinary()
	assert.Equal(t, []byte(g.ReceiverRecordAfterDeliveries), b)

	// The sender's record moved in from libsignal encrypts on.
	aliceG, aliceStore, aliceAddr := groupCipher(t, v.Sender.Name)
	senderRec, err := senderkey.ParseRecord(g.SenderRecord)
	require.NoError(t, err)
	require.NoError(t, aliceStore.StoreSenderKey(ctx, aliceAddr, d.DistributionID, senderRec))
	d2, err := aliceG.CreateDistributionMessage(ctx, d.DistributionID)
	require.NoError(t, err)
	skdm, _ := d2.MarshalBinary()
	assert.Equal(t, []byte(g.SKDM), skdm)
}

func TestGroupCipherResetAndLegacy(t *testing.T) {
	ctx := context.Background()
	alice, _, aliceAddr := groupCipher(t, "alice")
	bob, bobStore, _ := groupCipher(t, "bob")
	id, _ := senderkey.NewDistributionID()

	_, err := alice.Encrypt(ctx, id, []byte("x"))
	assert.ErrorIs(t, err, senderkey.ErrNoSenderKeyState)

	d1, err := alice.CreateDistributionMessage(ctx, id)
	require.NoError(t, err)
	skdm1, _ := d1.MarshalBinary()
	_, err = bob.ProcessDistributionMessage(ctx, aliceAddr, skdm1)
	require.NoError(t, err)
	old := must(alice.Encrypt(ctx, id, []byte("old")))

	d2, err := alice.ResetSenderKey(ctx, id)
	require.NoError(t, err)
	assert.NotEqual(t, d1.SigningKey, d2.SigningKey)
	ct := must(alice.Encrypt(ctx, id, []byte("new")))
	_, _, err = bob.Decrypt(ctx, aliceAddr, ct)
	assert.ErrorIs(t, err, senderkey.ErrNoSenderKeyState)
	skdm2, _ := d2.MarshalBinary()
	_, err = bob.ProcessDistributionMessage(ctx, aliceAddr, skdm2)
	require.NoError(t, err)
	for ct, want := range map[string]string{string(ct): "new", string(old): "old"} {
		pt, _, err := bob.Decrypt(ctx, aliceAddr, []byte(ct))
		require.NoError(t, err)
		assert.Equal(t, want, string(pt))
	}

	// A failed decrypt stores nothing.
	before, _ := bobStore.LoadSenderKey(ctx, aliceAddr, id)
	bad := []byte(ct)
	bad = append(bad[:len(bad)-1:len(bad)-1], bad[len(bad)-1]^1)
	_, _, err = bob.Decrypt(ctx, aliceAddr, bad)
	assert.ErrorIs(t, err, senderkey.ErrBadSignature)
	after, _ := bobStore.LoadSenderKey(ctx, aliceAddr, id)
	assert.Equal(t, must(before.MarshalBinary()), must(after.MarshalBinary()))

	// WhatsApp format, per group.
	la, lb := alice.Legacy("120363000000000000@g.us"), bob.Legacy("120363000000000000@g.us")
	assert.Equal(t, senderkey.LegacyGroupID("120363000000000000@g.us"), la.ID())
	ld, err := la.CreateDistributionMessage(ctx)
	require.NoError(t, err)
	lskdm, _ := ld.MarshalBinary()
	_, err = bob.ProcessDistributionMessage(ctx, aliceAddr, lskdm)
	assert.ErrorIs(t, err, senderkey.ErrMalformed, "a legacy SKDM is not a libsignal one")
	_, err = lb.ProcessDistributionMessage(ctx, aliceAddr, lskdm)
	require.NoError(t, err)
	lct := must(la.Encrypt(ctx, []byte("legacy")))
	pt, err := lb.Decrypt(ctx, aliceAddr, lct)
	require.NoError(t, err)
	assert.Equal(t, "legacy", string(pt))
	_, err = lb.Decrypt(ctx, aliceAddr, lct)
	assert.ErrorIs(t, err, senderkey.ErrDuplicateMessage)
}

// TestGroupCipherConcurrent encrypts from several goroutines with one
// GroupCipher: every message gets its own iteration and all decrypt.
func TestGroupCipherConcurrent(t *testing.T) {
	ctx := context.Background()
	alice, _, aliceAddr := groupCipher(t, "alice")
	bob, _, _ := groupCipher(t, "bob")
	id, _ := senderkey.NewDistributionID()
	d, err := alice.CreateDistributionMessage(ctx, id)
	require.NoError(t, err)
	skdm, _ := d.MarshalBinary()
	_, err = bob.ProcessDistributionMessage(ctx, aliceAddr, skdm)
	require.NoError(t, err)

	const workers, each = 4, 10
	cts := make(chan []byte, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				ct, err := alice.Encrypt(ctx, id, []byte("concurrent"))
				if err != nil {
					t.Error(err)
					return
				}
				cts <- ct
			}
		})
	}
	wg.Wait()
	close(cts)
	seen := map[uint32]bool{}
	for ct := range cts {
		m, err := senderkey.ParseMessage(ct, senderkey.Libsignal)
		require.NoError(t, err)
		assert.False(t, seen[m.Iteration], "iteration %d used twice", m.Iteration)
		seen[m.Iteration] = true
		pt, _, err := bob.Decrypt(ctx, aliceAddr, ct)
		require.NoError(t, err)
		assert.Equal(t, "concurrent", string(pt))
	}
	assert.Len(t, seen, workers*each)
}
