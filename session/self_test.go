package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/ratchet"
	"github.com/ratchetlab/signal/session"
)

// TestNoteToSelfSPQRUnlimitedJumps: two devices of one account (the same
// identity key) run an SPQR session, as Signal's note-to-self sync does. As
// in libsignal (self_session), neither the classical chains nor SPQR's
// chain limit how far a message may jump ahead: a device that was offline
// for more than ratchet.MaxForwardJumps messages still decrypts.
func TestNoteToSelfSPQRUnlimitedJumps(t *testing.T) {
	if testing.Short() {
		t.Skip("encrypts 25,000 messages")
	}
	ctx := context.Background()
	id, err := keys.GeneratePrivateKey()
	require.NoError(t, err)
	dev1 := session.NewMemoryStore(id, 1, session.TrustOnFirstUse)
	dev2 := session.NewMemoryStore(id, 2, session.TrustOnFirstUse)
	addr1 := session.Address{Name: "alice", DeviceID: 1}
	addr2 := session.Address{Name: "alice", DeviceID: 2}
	m1, err := session.New(dev1.Stores())
	require.NoError(t, err)
	m2, err := session.New(dev2.Stores())
	require.NoError(t, err)

	spk, err := prekey.GenerateSignedPreKey(id, 1, time.Now())
	require.NoError(t, err)
	require.NoError(t, dev2.StoreSignedPreKey(ctx, spk))
	kpk, err := prekey.GenerateKyberPreKey(id, 2, kem.Kyber1024, time.Now())
	require.NoError(t, err)
	require.NoError(t, dev2.StoreKyberPreKey(ctx, kpk))
	b, err := prekey.NewBundle(2, 2, id.PublicKey(), spk, nil, kpk)
	require.NoError(t, err)
	require.NoError(t, m1.ProcessBundle(ctx, addr2, b))

	// One round trip, so that device 1 sends Whisper messages.
	ct, err := m1.Encrypt(ctx, addr2, []byte("first"))
	require.NoError(t, err)
	_, err = m2.Decrypt(ctx, addr1, ct)
	require.NoError(t, err)
	ct, err = m2.Encrypt(ctx, addr1, []byte("reply"))
	require.NoError(t, err)
	_, err = m1.Decrypt(ctx, addr2, ct)
	require.NoError(t, err)

	for range ratchet.MaxForwardJumps + 1 {
		_, err = m1.Encrypt(ctx, addr2, []byte("lost"))
		require.NoError(t, err)
	}
	ct, err = m1.Encrypt(ctx, addr2, []byte("last"))
	require.NoError(t, err)
	require.Equal(t, session.WhisperType, ct.Type)
	pt, err := m2.Decrypt(ctx, addr1, ct)
	require.NoError(t, err, "a note-to-self session has no jump limit, SPQR's included")
	assert.Equal(t, "last", string(pt))
}
