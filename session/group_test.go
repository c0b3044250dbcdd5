package session_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/senderkey"
	"github.com/ratchetlab/signal/session"
)

func TestGroupsNeedsLocalAddress(t *testing.T) {
	p := newParty(t, "alice", 1, withTrust(session.TrustAll))
	_, err := p.m.Groups()
	assert.ErrorIs(t, err, session.ErrNoLocalAddress)
}

func TestGroupCipherVectors(t *testing.T) {
	ctx := context.Background()
	v, err := testvectors.LibsignalSenderKeys()
	require.NoError(t, err)
	g := v.Groups[0]
	alice := session.Address{Name: v.Sender.Name, DeviceID: v.Sender.DeviceID}
	bob := newParty(t, "bob", 1, withTrust(session.TrustAll), withOwnAddress())

	_, _, err = bob.groups.Decrypt(ctx, alice, g.Messages[0].Ciphertext)
	assert.ErrorIs(t, err, senderkey.ErrNoSenderKeyState)

	d, err := bob.groups.ProcessDistributionMessage(ctx, alice, g.SKDM)
	require.NoError(t, err)
	assert.Equal(t, []byte(g.ReceiverRecordAfterSKDM), loadSenderKeyBytes(t, bob.store, alice, d.DistributionID))

	for _, s := range g.Deliveries.Steps {
		mv := g.Messages[s.Message]
		pt, id, err := bob.groups.Decrypt(ctx, alice, mv.Ciphertext)
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
	assert.Equal(t, []byte(g.ReceiverRecordAfterDeliveries), loadSenderKeyBytes(t, bob.store, alice, d.DistributionID))

	// The sender's record moved in from libsignal encrypts on.
	sender := newParty(t, v.Sender.Name, 1, withTrust(session.TrustAll), withOwnAddress())
	senderRec, err := senderkey.ParseRecord(g.SenderRecord)
	require.NoError(t, err)
	require.NoError(t, sender.store.StoreSenderKey(ctx, sender.addr, d.DistributionID, senderRec))
	d2, err := sender.groups.CreateDistributionMessage(ctx, d.DistributionID)
	require.NoError(t, err)
	skdm, err := d2.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, []byte(g.SKDM), skdm)
}

func TestGroupCipherResetAndLegacy(t *testing.T) {
	ctx := context.Background()
	alice := newParty(t, "alice", 1, withTrust(session.TrustAll), withOwnAddress())
	bob := newParty(t, "bob", 1, withTrust(session.TrustAll), withOwnAddress())
	id := newDistributionID(t)

	_, err := alice.groups.Encrypt(ctx, id, []byte("x"))
	assert.ErrorIs(t, err, senderkey.ErrNoSenderKeyState)

	d1 := alice.distributeSenderKey(t, bob, id)
	old, err := alice.groups.Encrypt(ctx, id, []byte("old"))
	require.NoError(t, err)

	d2, err := alice.groups.ResetSenderKey(ctx, id)
	require.NoError(t, err)
	assert.NotEqual(t, d1.SigningKey, d2.SigningKey)
	ct, err := alice.groups.Encrypt(ctx, id, []byte("new"))
	require.NoError(t, err)
	_, _, err = bob.groups.Decrypt(ctx, alice.addr, ct)
	assert.ErrorIs(t, err, senderkey.ErrNoSenderKeyState)
	skdm2, err := d2.MarshalBinary()
	require.NoError(t, err)
	_, err = bob.groups.ProcessDistributionMessage(ctx, alice.addr, skdm2)
	require.NoError(t, err)
	for ct, want := range map[string]string{string(ct): "new", string(old): "old"} {
		pt, _, err := bob.groups.Decrypt(ctx, alice.addr, []byte(ct))
		require.NoError(t, err)
		assert.Equal(t, want, string(pt))
	}

	// A failed decrypt stores nothing.
	before := loadSenderKeyBytes(t, bob.store, alice.addr, id)
	require.NotNil(t, before)
	bad := []byte(ct)
	bad = append(bad[:len(bad)-1:len(bad)-1], bad[len(bad)-1]^1)
	_, _, err = bob.groups.Decrypt(ctx, alice.addr, bad)
	assert.ErrorIs(t, err, senderkey.ErrBadSignature)
	assert.Equal(t, before, loadSenderKeyBytes(t, bob.store, alice.addr, id))

	// WhatsApp format, per group.
	la, lb := alice.groups.Legacy("120363000000000000@g.us"), bob.groups.Legacy("120363000000000000@g.us")
	assert.Equal(t, senderkey.LegacyGroupID("120363000000000000@g.us"), la.ID())
	ld, err := la.CreateDistributionMessage(ctx)
	require.NoError(t, err)
	lskdm, err := ld.MarshalBinary()
	require.NoError(t, err)
	_, err = bob.groups.ProcessDistributionMessage(ctx, alice.addr, lskdm)
	assert.ErrorIs(t, err, senderkey.ErrMalformed, "a legacy SKDM is not a libsignal one")
	_, err = lb.ProcessDistributionMessage(ctx, alice.addr, lskdm)
	require.NoError(t, err)
	lct, err := la.Encrypt(ctx, []byte("legacy"))
	require.NoError(t, err)
	pt, err := lb.Decrypt(ctx, alice.addr, lct)
	require.NoError(t, err)
	assert.Equal(t, "legacy", string(pt))
	_, err = lb.Decrypt(ctx, alice.addr, lct)
	assert.ErrorIs(t, err, senderkey.ErrDuplicateMessage)
}

// TestGroupCipherConcurrent encrypts from several goroutines with one
// GroupCipher: every message gets its own iteration and all decrypt.
func TestGroupCipherConcurrent(t *testing.T) {
	ctx := context.Background()
	alice := newParty(t, "alice", 1, withTrust(session.TrustAll), withOwnAddress())
	bob := newParty(t, "bob", 1, withTrust(session.TrustAll), withOwnAddress())
	id := newDistributionID(t)
	alice.distributeSenderKey(t, bob, id)

	const workers, each = 4, 10
	cts := make(chan []byte, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				ct, err := alice.groups.Encrypt(ctx, id, []byte("concurrent"))
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
		pt, _, err := bob.groups.Decrypt(ctx, alice.addr, ct)
		require.NoError(t, err)
		assert.Equal(t, "concurrent", string(pt))
	}
	assert.Len(t, seen, workers*each)
}
