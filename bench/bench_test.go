package bench

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/state/record"

	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/session"
)

// TestWorkloads checks that every workload the benchmarks time does what
// it claims, on both implementations, with records kept decoded and
// encoded.
func TestWorkloads(t *testing.T) {
	for _, im := range []impl{signalImpl, mauImpl, signalEncodedImpl, mauEncodedImpl} {
		name := im.name
		if im.newPeer(t, "probe").(interface{ encodedStore() bool }).encodedStore() {
			name += "-encoded"
		}
		t.Run(name, func(t *testing.T) {
			alice, bob := conversation(t, im)
			pt := plaintext()
			require.Len(t, pt, 100)

			w := alice.encrypt(t, bob, pt)
			assert.Equal(t, int(session.WhisperType), w.typ, "steady state sends Whisper messages")
			assert.Equal(t, protocol.WHISPER_TYPE, w.typ)
			assert.Equal(t, byte(3), w.bytes[0]>>4, "X3DH sessions are version 3")
			assert.Equal(t, pt, bob.decrypt(t, alice, w))

			// Out of order, last to first.
			ws := make([]wire, 10)
			for i := range ws {
				ws[i] = alice.encrypt(t, bob, []byte{byte(i)})
			}
			for i := len(ws) - 1; i >= 0; i-- {
				assert.Equal(t, []byte{byte(i)}, bob.decrypt(t, alice, ws[i]))
			}

			// Records round-trip and grow with skipped keys.
			typical := alice.record(t, bob)
			assert.Equal(t, typical, im.encodeRecord(t, im.parseRecord(t, typical)))
			sk := skipped(t, im, 200)
			assert.Equal(t, sk, im.encodeRecord(t, im.parseRecord(t, sk)))
			assert.Greater(t, len(sk), len(typical)+200*32, "200 skipped keys are stored")
		})
	}
}

// TestSetup checks the session-setup workloads: each setup yields a
// PreKey message of the expected version that Bob decrypts, and leaves no
// session behind.
func TestSetup(t *testing.T) {
	ctx := t.Context()
	pt := plaintext()
	for _, c := range []struct {
		name    string
		kyber   kem.Type
		version byte
	}{{"X3DH", 0, 3}, {"PQXDH", kem.Kyber1024, 4}} {
		t.Run("signal/"+c.name, func(t *testing.T) {
			alice, bob := newSigPeer(t, "alice", 1), newSigPeer(t, "bob", 2)
			raw := bob.publish(t, 1, 7, c.kyber)
			raw = append(raw, bob.publish(t, 1, 8, c.kyber)...) // a second batch, as the benchmark publishes
			require.Len(t, raw, 2)
			for _, r := range raw {
				w, got := setupSignal(ctx, t, alice, bob, r, pt)
				assert.Equal(t, int(session.PreKeyType), w.typ)
				assert.Equal(t, c.version, w.bytes[0]>>4)
				assert.Equal(t, pt, got)
			}
			assert.Zero(t, bob.store.PreKeyCount(), "one-time pre-keys are used up")
			assert.False(t, alice.store.DeleteSession(bob.addr))
		})
	}
	t.Run("mau/X3DH", func(t *testing.T) {
		alice, bob := newMauPeer(t, "alice", 1), newMauPeer(t, "bob", 2)
		raw := bob.publish(t, 1, 7)
		raw = append(raw, bob.publish(t, 1, 8)...) // a second batch, as the benchmark publishes
		for i := range raw {
			w, got := setupMau(ctx, t, alice, bob, &raw[i], pt)
			assert.Equal(t, protocol.PREKEY_TYPE, w.typ)
			assert.Equal(t, byte(3), w.bytes[0]>>4)
			assert.Equal(t, pt, got)
		}
		assert.Empty(t, bob.st.preKeys, "one-time pre-keys are used up")
		assert.Empty(t, alice.st.sessions)
	})
}

// TestSafetyNumber checks both safety-number workloads against
// libsignal's vectors at 5200 iterations.
func TestSafetyNumber(t *testing.T) {
	cases, err := testvectors.Fingerprints()
	require.NoError(t, err)
	n := 0
	for _, c := range cases {
		lk, err := keys.ParsePublicKey(c.LocalKey)
		require.NoError(t, err)
		rk, err := keys.ParsePublicKey(c.RemoteKey)
		require.NoError(t, err)
		ml, err := ecc.DecodePoint(c.LocalKey, 0)
		require.NoError(t, err)
		mr, err := ecc.DecodePoint(c.RemoteKey, 0)
		require.NoError(t, err)
		for _, r := range c.Results {
			if r.Iterations != 5200 || r.Version != 2 {
				continue
			}
			n++
			assert.Equal(t, r.Displayable, safetyNumberSignal(t, c.LocalIdentifier, lk, c.RemoteIdentifier, rk))
			assert.Equal(t, r.Displayable, safetyNumberMau(string(c.LocalIdentifier), identity.NewKey(ml),
				string(c.RemoteIdentifier), identity.NewKey(mr)))
		}
	}
	require.NotZero(t, n, "vectors at version 2, 5200 iterations")
}

// TestMauStoreKeepsBytes checks that the go.mau.fi/libsignal store keeps
// records encoded: a record changed after loading is not changed in the
// store.
func TestMauStoreKeepsBytes(t *testing.T) {
	alice, bob := conversation(t, mauEncodedImpl)
	before := bytes.Clone(alice.record(t, bob))
	a := alice.(*mauPeer)
	r, err := a.st.LoadSession(t.Context(), bob.(*mauPeer).addr)
	require.NoError(t, err)
	r.ArchiveCurrentState()
	assert.Equal(t, before, alice.record(t, bob))
}

// TestMauSignedPreKeyRecordLosesPublicKey documents why mauPeer keeps its
// signed pre-key: go.mau.fi/libsignal v0.2.1 reads a serialized signed
// pre-key record's public key back wrong. If this test fails, the library
// was fixed and mauPeer could read the key from its store.
func TestMauSignedPreKeyRecordLosesPublicKey(t *testing.T) {
	kp, err := ecc.GenerateKeyPair()
	require.NoError(t, err)
	r := record.NewSignedPreKey(1, 0, kp, [64]byte{}, mauSerializer.SignedPreKeyRecord)
	back, err := record.NewSignedPreKeyFromBytes(r.Serialize(), mauSerializer.SignedPreKeyRecord)
	require.NoError(t, err)
	assert.Equal(t, kp.PrivateKey().Serialize(), back.KeyPair().PrivateKey().Serialize())
	assert.NotEqual(t, kp.PublicKey().Serialize(), back.KeyPair().PublicKey().Serialize())
}
