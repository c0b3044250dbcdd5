package session_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/sealed"
	"github.com/ratchetlab/signal/senderkey"
	"github.com/ratchetlab/signal/session"
)

// newSealedVectorsBob returns Bob of libsignal_sealed_sender.json, with
// his recorded identity and pre-keys and his own address.
func newSealedVectorsBob(t *testing.T, v *testvectors.SealedSenderVectors) *party {
	t.Helper()
	rb := v.Recipients["bob"]
	var pk struct {
		Bundle struct {
			SignedPreKeyID        uint32          `json:"signed_prekey_id"`
			SignedPreKeySignature testvectors.Hex `json:"signed_prekey_signature"`
			PreKeyID              uint32          `json:"prekey_id"`
			KyberPreKeyID         uint32          `json:"kyber_prekey_id"`
			KyberPreKeySignature  testvectors.Hex `json:"kyber_prekey_signature"`
		} `json:"bundle"`
		SignedPreKeyPriv testvectors.Hex `json:"signed_prekey_priv"`
		PreKeyPriv       testvectors.Hex `json:"prekey_priv"`
		KyberPriv        testvectors.Hex `json:"kyber_priv"`
		Timestamp        int64           `json:"timestamp"`
	}
	require.NoError(t, json.Unmarshal(rb.PreKeys, &pk))
	id := parsePrivateKey(t, rb.IdentityPriv)
	require.Equal(t, []byte(rb.IdentityKey), id.PublicKey().Bytes())
	bob := newParty(t, rb.Name, rb.RegistrationID, withDevice(rb.DeviceID), withIdentity(id), withOwnAddress(), withOptions(session.WithSPQR(true)))
	created := time.UnixMilli(pk.Timestamp)
	sk, err := kem.ParseSecretKey(pk.KyberPriv)
	require.NoError(t, err)
	bob.storePreKeys(t,
		prekey.NewSignedPreKeyRecord(pk.Bundle.SignedPreKeyID, parsePrivateKey(t, pk.SignedPreKeyPriv), pk.Bundle.SignedPreKeySignature, created),
		prekey.NewPreKeyRecord(pk.Bundle.PreKeyID, parsePrivateKey(t, pk.PreKeyPriv)),
		prekey.NewKyberPreKeyRecord(pk.Bundle.KyberPreKeyID, sk, pk.Bundle.KyberPreKeySignature, created))
	return bob
}

// TestSealedDecryptVectors decrypts every recorded message as libsignal's
// Bob did, in the recorded order, and checks the negative cases' errors and
// that they change nothing.
func TestSealedDecryptVectors(t *testing.T) {
	ctx := context.Background()
	v, err := testvectors.SealedSender()
	require.NoError(t, err)
	bob := newSealedVectorsBob(t, v)
	alice := session.Address{Name: v.Sender.Name, DeviceID: v.Sender.DeviceID}
	root, err := keys.ParsePublicKey(v.TrustRoot.Pub)
	require.NoError(t, err)
	at := time.UnixMilli(int64(v.Timestamp))
	opts := func() session.SealedDecryptOptions {
		return session.SealedDecryptOptions{TrustRoots: []keys.PublicKey{root}, Time: at}
	}

	for _, msg := range v.V1 {
		t.Run("v1/"+msg.Name, func(t *testing.T) {
			got, err := bob.m.SealedDecrypt(ctx, msg.Sealed, opts())
			require.NoError(t, err)
			exp := msg.Expected
			assert.Equal(t, alice, got.Sender)
			assert.Equal(t, 1, got.Version)
			assert.Equal(t, exp.MessageType, int(got.Type))
			assert.Equal(t, exp.ContentHint, uint32(got.ContentHint))
			assert.Equal(t, []byte(exp.GroupID), got.GroupID)
			assert.Equal(t, []byte(exp.Inner), got.Inner)
			assert.True(t, got.HasE164)
			assert.Equal(t, "+15550100001", got.SenderE164)
			assert.Equal(t, []byte(v.Sender.IdentityKey), got.SenderKey.Bytes())
			assert.Equal(t, []byte(exp.Plaintext), got.Plaintext)
			if got.Type == sealed.SenderKeyType {
				assert.Equal(t, v.Group.DistributionID, got.DistributionID.String())
			}
			if msg.Name == "prekey_carrying_skdm" {
				// The group messages that follow need this SKDM.
				_, err := bob.groups.ProcessDistributionMessage(ctx, alice, got.Plaintext)
				require.NoError(t, err)
			}
		})
	}
	t.Run("v2/single_recipient_one_to_one", func(t *testing.T) {
		w := v.V2.SingleRecipientOneToOne
		require.Len(t, w.Received, 1)
		got, err := bob.m.SealedDecrypt(ctx, w.Received[0].Message, opts())
		require.NoError(t, err)
		assert.Equal(t, 2, got.Version)
		assert.Equal(t, sealed.PreKeyType, got.Type)
		require.NotNil(t, w.Expected.PlaintextText)
		assert.Equal(t, *w.Expected.PlaintextText, string(got.Plaintext))
		assert.Nil(t, got.GroupID)
	})
	t.Run("v2/group", func(t *testing.T) {
		w := v.V2.Group
		got, err := bob.m.SealedDecrypt(ctx, w.Received[0].Message, opts())
		require.NoError(t, err)
		assert.Equal(t, sealed.SenderKeyType, got.Type)
		assert.Equal(t, []byte(w.Expected.GroupID), got.GroupID)
		require.NotNil(t, w.Expected.PlaintextText)
		assert.Equal(t, *w.Expected.PlaintextText, string(got.Plaintext))
		// Replayed: the sender key reports a duplicate and nothing changes.
		_, err = bob.m.SealedDecrypt(ctx, w.Received[0].Message, opts())
		assert.ErrorIs(t, err, senderkey.ErrDuplicateMessage)
	})
	t.Run("replay", func(t *testing.T) {
		before := loadRecordBytes(t, bob.store, alice)
		_, err := bob.m.SealedDecrypt(ctx, v.V1[1].Sealed, opts())
		assert.ErrorIs(t, err, session.ErrDuplicateMessage)
		assert.Equal(t, before, loadRecordBytes(t, bob.store, alice))
	})

	for _, n := range v.Negative {
		t.Run("negative/"+n.Name, func(t *testing.T) {
			before := loadRecordBytes(t, bob.store, alice)
			o := opts()
			o.Time = time.UnixMilli(int64(n.Timestamp))
			if n.TrustRoot != nil {
				r, err := keys.ParsePublicKey(n.TrustRoot)
				require.NoError(t, err)
				o.TrustRoots = []keys.PublicKey{r}
			}
			_, err := bob.m.SealedDecrypt(ctx, n.Sealed, o)
			switch n.Expect {
			case "invalid_message":
				assert.ErrorIs(t, err, session.ErrSealedInvalidMessage)
			case "invalid_certificate":
				assert.ErrorIs(t, err, session.ErrSealedInvalidCertificate)
			case "self_send":
				assert.ErrorIs(t, err, session.ErrSealedSelfSend)
			default:
				t.Fatalf("unknown expectation %q", n.Expect)
			}
			assert.Equal(t, before, loadRecordBytes(t, bob.store, alice))
			if n.ThenWithTrustRoot2 != nil {
				r2, err := keys.ParsePublicKey(v.TrustRoot2.Pub)
				require.NoError(t, err)
				o.TrustRoots = []keys.PublicKey{r2}
				got, err := bob.m.SealedDecrypt(ctx, n.Sealed, o)
				require.NoError(t, err)
				assert.Equal(t, n.ThenWithTrustRoot2.MessageType, int(got.Type))
				assert.Equal(t, []byte(n.ThenWithTrustRoot2.Plaintext), got.Plaintext)
			}
		})
	}
}

// TestSealedRoundTrip runs a 1:1 sealed conversation between two Managers,
// including a self-send and an expired certificate.
func TestSealedRoundTrip(t *testing.T) {
	ctx := context.Background()
	f := newSealedFixture(t, true)
	alice, bob := f.alice, f.bob
	server, serverKey, cert, opts, now := f.server, f.serverKey, f.cert, f.opts, f.now

	env, c, err := alice.m.SealedEncrypt(ctx, bob.addr, cert, []byte("hi bob"), sealed.HintResendable, []byte("g"))
	require.NoError(t, err)
	assert.Equal(t, sealed.PreKeyType, c.Type())
	// Expired: rejected, and nothing changes, so it decrypts afterwards.
	late := opts
	late.Time = now.Add(2 * time.Hour)
	_, err = bob.m.SealedDecrypt(ctx, env, late)
	assert.ErrorIs(t, err, session.ErrSealedInvalidCertificate)
	assert.Nil(t, loadRecordBytes(t, bob.store, alice.addr))
	// Bob names himself as local: with Alice's uuid and device it is a
	// self-send.
	self := opts
	self.Local = alice.addr
	_, err = bob.m.SealedDecrypt(ctx, env, self)
	assert.ErrorIs(t, err, session.ErrSealedSelfSend)
	got, err := bob.m.SealedDecrypt(ctx, env, opts)
	require.NoError(t, err)
	assert.Equal(t, "hi bob", string(got.Plaintext))
	assert.Equal(t, sealed.HintResendable, got.ContentHint)
	assert.Equal(t, []byte("g"), got.GroupID)

	// Bob answers with a v2 message to Alice's one device.
	bobCert, err := sealed.NewSenderCertificate(sealed.SenderInfo{UUID: bob.addr.Name, Device: 2, Key: bob.id.PublicKey(),
		Expires: uint64(now.Add(time.Hour).UnixMilli())}, server, serverKey)
	require.NoError(t, err)
	ct, err := bob.m.Encrypt(ctx, alice.addr, []byte("hi alice"))
	require.NoError(t, err)
	content, err := sealed.NewContent(sealed.WhisperType, bobCert, ct.Bytes, 0, nil)
	require.NoError(t, err)
	sent, err := bob.m.SealContentMulti(ctx, []session.Address{alice.addr}, content, nil)
	require.NoError(t, err)
	s, err := sealed.ParseSentMessage(sent)
	require.NoError(t, err)
	require.Len(t, s.Recipients, 1)
	assert.Equal(t, uint16(11), s.Recipients[0].Devices[0].RegistrationID)
	got, err = alice.m.SealedDecrypt(ctx, s.ReceivedMessage(&s.Recipients[0]), opts)
	require.NoError(t, err)
	assert.Equal(t, "hi alice", string(got.Plaintext))
	assert.Equal(t, 2, got.Version)

	// Plaintext content (type 8).
	pc, err := sealed.NewContent(sealed.PlaintextType, bobCert, []byte{0xC0, 1, 2, 3, 0x80}, sealed.HintImplicit, nil)
	require.NoError(t, err)
	env, err = bob.m.SealContent(ctx, alice.addr, pc)
	require.NoError(t, err)
	got, err = alice.m.SealedDecrypt(ctx, env, opts)
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 2, 3, 0x80}, got.Plaintext)
	bad, err := sealed.NewContent(sealed.PlaintextType, bobCert, []byte{1, 2}, 0, nil)
	require.NoError(t, err)
	env, err = bob.m.SealContent(ctx, alice.addr, bad)
	require.NoError(t, err)
	_, err = alice.m.SealedDecrypt(ctx, env, opts)
	assert.ErrorIs(t, err, session.ErrInvalidPlaintextContent)

	// A Manager without a sender key store cannot open sealed group
	// messages.
	stores := alice.store.Stores()
	stores.SenderKeys = nil
	noGroups, err := session.New(stores, session.WithLocalAddress(alice.addr))
	require.NoError(t, err)
	gm, err := sealed.NewContent(sealed.SenderKeyType, bobCert, []byte{0x33}, 0, nil)
	require.NoError(t, err)
	env, err = bob.m.SealContent(ctx, alice.addr, gm)
	require.NoError(t, err)
	_, err = noGroups.SealedDecrypt(ctx, env, opts)
	assert.ErrorIs(t, err, session.ErrSealedGroupUnsupported)

	// No session: v2 needs one for every device.
	_, err = bob.m.SealContentMulti(ctx, []session.Address{{Name: "ca201000-0000-4000-8000-0000000ca201", DeviceID: 1}}, content, nil)
	assert.ErrorIs(t, err, session.ErrNoSession)
}

// sealedFixture is Alice (device 1 of aliceACI) and Bob (device 2 of
// bobACI), who know their own addresses and trust all identities, with a
// PQXDH session started by Alice (no message sent yet), a trust root, a
// server certificate and Alice's sender certificate.
type sealedFixture struct {
	alice, bob *party
	server     *sealed.ServerCertificate
	serverKey  *keys.PrivateKey
	cert       *sealed.SenderCertificate
	opts       session.SealedDecryptOptions
	now        time.Time
}

// newSealedFixture builds a sealedFixture; without bobAtomic, Bob's
// Manager runs over his store without its Atomic.
func newSealedFixture(t *testing.T, bobAtomic bool) *sealedFixture {
	t.Helper()
	f := &sealedFixture{
		alice: newParty(t, aliceACI, 11, withTrust(session.TrustAll), withOwnAddress()),
		bob:   newParty(t, bobACI, 22, withDevice(2), withTrust(session.TrustAll), withAtomic(bobAtomic), withOwnAddress()),
		now:   time.Now(),
	}
	f.alice.startSession(t, f.bob, pqxdhNoOPK)

	root := generateKey(t)
	f.serverKey = generateKey(t)
	var err error
	f.server, err = sealed.NewServerCertificate(1, f.serverKey.PublicKey(), root)
	require.NoError(t, err)
	f.cert, err = sealed.NewSenderCertificate(sealed.SenderInfo{UUID: f.alice.addr.Name, Device: 1, Key: f.alice.id.PublicKey(),
		Expires: uint64(f.now.Add(time.Hour).UnixMilli())}, f.server, f.serverKey)
	require.NoError(t, err)
	f.opts = session.SealedDecryptOptions{TrustRoots: []keys.PublicKey{root.PublicKey()}, Time: f.now}
	return f
}
