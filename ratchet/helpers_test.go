package ratchet_test

import (
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/ratchet"
)

// newPair returns two states as a key agreement would leave them: Alice's
// first sending chain is ahead of Bob, Bob sends on his signed pre-key.
func newPair(t testing.TB, version uint8) (alice, bob *ratchet.State) {
	t.Helper()
	return newPairSPQR(t, version, false)
}

// newPairSPQR is newPair with the post-quantum ratchet on both sides when
// withSPQR (version 4 only).
func newPairSPQR(t testing.TB, version uint8, withSPQR bool) (alice, bob *ratchet.State) {
	t.Helper()
	return newPairMixed(t, version, withSPQR, withSPQR)
}

// newPairMixed sets up SPQR on each side independently, to test a
// mismatch.
func newPairMixed(t testing.TB, version uint8, aliceSPQR, bobSPQR bool) (alice, bob *ratchet.State) {
	t.Helper()
	return newPairIdentities(t, version, aliceSPQR, bobSPQR, false)
}

// newSelfPair is newPair for a session with oneself: both ends have the
// same identity key, as between two devices of one account.
func newSelfPair(t testing.TB, version uint8) (alice, bob *ratchet.State) {
	t.Helper()
	return newPairIdentities(t, version, false, false, true)
}

func newPairIdentities(t testing.TB, version uint8, aliceSPQR, bobSPQR, self bool) (alice, bob *ratchet.State) {
	t.Helper()
	pqKey := new([32]byte)
	_, _ = rand.Read(pqKey[:])
	aliceKey, bobKey := pqKey, pqKey
	if !aliceSPQR {
		aliceKey = nil
	}
	if !bobSPQR {
		bobKey = nil
	}
	var root, chain [32]byte
	_, _ = rand.Read(root[:])
	_, _ = rand.Read(chain[:])
	ika, err := keys.GeneratePrivateKey()
	require.NoError(t, err)
	ikb, err := keys.GeneratePrivateKey()
	require.NoError(t, err)
	if self {
		ikb = ika
	}
	spk, err := keys.GeneratePrivateKey()
	require.NoError(t, err)
	base, err := keys.GeneratePrivateKey()
	require.NoError(t, err)
	ap := &ratchet.AliceParams{
		Version: version, LocalIdentity: ika.PublicKey(), RemoteIdentity: ikb.PublicKey(),
		RootKey: root, ChainKey: chain, TheirRatchetKey: spk.PublicKey(), BaseKey: base.PublicKey(),
		PendingPreKey:       ratchet.PendingPreKey{PreKeyID: 7, HasPreKeyID: true, SignedPreKeyID: 3, Timestamp: 1700000000},
		LocalRegistrationID: 11, RemoteRegistrationID: 22, SPQRKey: aliceKey,
	}
	if version == ratchet.VersionPQXDH {
		ap.PendingKyberPreKey = &ratchet.PendingKyberPreKey{PreKeyID: 5, Ciphertext: append([]byte{0x08}, make([]byte, 1568)...)}
	}
	alice, err = ratchet.NewAlice(ap)
	require.NoError(t, err)
	bob, err = ratchet.NewBob(&ratchet.BobParams{
		Version: version, LocalIdentity: ikb.PublicKey(), RemoteIdentity: ika.PublicKey(),
		RootKey: root, ChainKey: chain, OurRatchetKey: spk, TheirBaseKey: base.PublicKey(),
		LocalRegistrationID: 22, RemoteRegistrationID: 11, SPQRKey: bobKey,
	})
	require.NoError(t, err)
	return alice, bob
}

// parseAny parses a message of either type and returns its SignalMessage.
func parseAny(t testing.TB, typ ratchet.MessageType, b []byte) (ratchet.Message, error) {
	t.Helper()
	if typ == ratchet.PreKeyType {
		pm, err := ratchet.ParsePreKeyMessage(b)
		return pm.Message, err
	}
	return ratchet.ParseMessage(b)
}

func encode(t testing.TB, s *ratchet.State) []byte {
	t.Helper()
	b, err := s.MarshalBinary()
	require.NoError(t, err)
	return b
}
