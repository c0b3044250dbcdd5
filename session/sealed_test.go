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

// sealedBob returns a Manager for Bob of libsignal_sealed_sender.json with
// his fixed identity and pre-keys.
func sealedBob(t *testing.T, v *testvectors.SealedSenderVectors) (*session.Manager, *session.MemoryStore, session.Address) {
	t.Helper()
	ctx := context.Background()
	bob := v.Recipients["bob"]
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
	require.NoError(t, json.Unmarshal(bob.PreKeys, &pk))
	priv := func(b []byte) *keys.PrivateKey {
		k, err := keys.ParsePrivateKey(b)
		require.NoError(t, err)
		return k
	}
	id := priv(bob.IdentityPriv)
	require.Equal(t, []byte(bob.IdentityKey), id.PublicKey().Bytes())
	created := time.UnixMilli(pk.Timestamp)
	st := session.NewMemoryStore(id, bob.RegistrationID, session.TrustOnFirstUse)
	require.NoError(t, st.StoreSignedPreKey(ctx, prekey.NewSignedPreKeyRecord(pk.Bundle.SignedPreKeyID, priv(pk.SignedPreKeyPriv), pk.Bundle.SignedPreKeySignature, created)))
	require.NoError(t, st.StorePreKey(ctx, prekey.NewPreKeyRecord(pk.Bundle.PreKeyID, priv(pk.PreKeyPriv))))
	sk, err := kem.ParseSecretKey(pk.KyberPriv)
	require.NoError(t, err)
	require.NoError(t, st.StoreKyberPreKey(ctx, prekey.NewKyberPreKeyRecord(pk.Bundle.KyberPreKeyID, sk, pk.Bundle.KyberPreKeySignature, created)))
	local := session.Address{Name: bob.Name, DeviceID: bob.DeviceID}
	m, err := session.New(st.Stores(), session.WithSPQR(true), session.WithLocalAddress(local))
	require.NoError(t, err)
	return m, st, local
}

func recordBytes(t *testing.T, st *session.MemoryStore, addr session.Address) []byte {
	t.Helper()
	r, err := st.LoadSession(context.Background(), addr)
	require.NoError(t, err)
	if r == nil {
		return nil
	}
	b, err := r.MarshalBinary()
	require.NoError(t, err)
	return b
}

// TestSealedDecryptVectors decrypts every recorded message as libsignal's
// Bob did, in the recorded order, and checks the negative cases' errors and
// that they change nothing.
func TestSealedDecryptVectors(t *testing.T) {
	ctx := context.Background()
	v, err := testvectors.SealedSender()
	require.NoError(t, err)
	m, st, _ := sealedBob(t, v)
	alice := session.Address{Name: v.Sender.Name, DeviceID: v.Sender.DeviceID}
	root, err := keys.ParsePublicKey(v.TrustRoot.Pub)
	require.NoError(t, err)
	at := time.UnixMilli(int64(v.Timestamp))
	opts := func() session.SealedDecryptOptions {
		return session.SealedDecryptOptions{TrustRoots: []keys.PublicKey{root}, Time: at}
	}
	groups, err := m.Groups()
	require.NoError(t, err)

	for _, msg := range v.V1 {
		t.Run("v1/"+msg.Name, func(t *testing.T) {
			got, err := m.SealedDecrypt(ctx, msg.Sealed, opts())
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
				_, err := groups.ProcessDistributionMessage(ctx, alice, got.Plaintext)
				require.NoError(t, err)
			}
		})
	}
	t.Run("v2/single_recipient_one_to_one", func(t *testing.T) {
		w := v.V2.SingleRecipientOneToOne
		require.Len(t, w.Received, 1)
		got, err := m.SealedDecrypt(ctx, w.Received[0].Message, opts())
		require.NoError(t, err)
		assert.Equal(t, 2, got.Version)
		assert.Equal(t, sealed.PreKeyType, got.Type)
		require.NotNil(t, w.Expected.PlaintextText)
		assert.Equal(t, *w.Expected.PlaintextText, string(got.Plaintext))
		assert.Nil(t, got.GroupID)
	})
	t.Run("v2/group", func(t *testing.T) {
		w := v.V2.Group
		got, err := m.SealedDecrypt(ctx, w.Received[0].Message, opts())
		require.NoError(t, err)
		assert.Equal(t, sealed.SenderKeyType, got.Type)
		assert.Equal(t, []byte(w.Expected.GroupID), got.GroupID)
		require.NotNil(t, w.Expected.PlaintextText)
		assert.Equal(t, *w.Expected.PlaintextText, string(got.Plaintext))
		// Replayed: the sender key reports a duplicate and nothing changes.
		_, err = m.SealedDecrypt(ctx, w.Received[0].Message, opts())
		assert.ErrorIs(t, err, senderkey.ErrDuplicateMessage)
	})
	t.Run("replay", func(t *testing.T) {
		before := recordBytes(t, st, alice)
		_, err := m.SealedDecrypt(ctx, v.V1[1].Sealed, opts())
		assert.ErrorIs(t, err, session.ErrDuplicateMessage)
		assert.Equal(t, before, recordBytes(t, st, alice))
	})

	for _, n := range v.Negative {
		t.Run("negative/"+n.Name, func(t *testing.T) {
			before := recordBytes(t, st, alice)
			o := opts()
			o.Time = time.UnixMilli(int64(n.Timestamp))
			if n.TrustRoot != nil {
				r, err := keys.ParsePublicKey(n.TrustRoot)
				require.NoError(t, err)
				o.TrustRoots = []keys.PublicKey{r}
			}
			_, err := m.SealedDecrypt(ctx, n.Sealed, o)
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
			assert.Equal(t, before, recordBytes(t, st, alice))
			if n.ThenWithTrustRoot2 != nil {
				r2, err := keys.ParsePublicKey(v.TrustRoot2.Pub)
				require.NoError(t, err)
				o.TrustRoots = []keys.PublicKey{r2}
				got, err := m.SealedDecrypt(ctx, n.Sealed, o)
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
	alice, bob, aliceSt, bobSt := f.alice, f.bob, f.aliceSt, f.bobSt
	aliceAddr, bobAddr, bobID := f.aliceAddr, f.bobAddr, f.bobID
	server, serverKey, cert, opts, now := f.server, f.serverKey, f.cert, f.opts, f.now

	env, c, err := alice.SealedEncrypt(ctx, bobAddr, cert, []byte("hi bob"), sealed.HintResendable, []byte("g"))
	require.NoError(t, err)
	assert.Equal(t, sealed.PreKeyType, c.Type())
	// Expired: rejected, and nothing changes, so it decrypts afterwards.
	late := opts
	late.Time = now.Add(2 * time.Hour)
	_, err = bob.SealedDecrypt(ctx, env, late)
	assert.ErrorIs(t, err, session.ErrSealedInvalidCertificate)
	assert.Nil(t, recordBytes(t, bobSt, aliceAddr))
	// Bob names himself as local: with Alice's uuid and device it is a
	// self-send.
	self := opts
	self.Local = aliceAddr
	_, err = bob.SealedDecrypt(ctx, env, self)
	assert.ErrorIs(t, err, session.ErrSealedSelfSend)
	got, err := bob.SealedDecrypt(ctx, env, opts)
	require.NoError(t, err)
	assert.Equal(t, "hi bob", string(got.Plaintext))
	assert.Equal(t, sealed.HintResendable, got.ContentHint)
	assert.Equal(t, []byte("g"), got.GroupID)

	// Bob answers with a v2 message to Alice's one device.
	bobCert, err := sealed.NewSenderCertificate(sealed.SenderInfo{UUID: bobAddr.Name, Device: 2, Key: bobID.PublicKey(),
		Expires: uint64(now.Add(time.Hour).UnixMilli())}, server, serverKey)
	require.NoError(t, err)
	ct, err := bob.Encrypt(ctx, aliceAddr, []byte("hi alice"))
	require.NoError(t, err)
	content, err := sealed.NewContent(sealed.WhisperType, bobCert, ct.Bytes, 0, nil)
	require.NoError(t, err)
	sent, err := bob.SealContentMulti(ctx, []session.Address{aliceAddr}, content, nil)
	require.NoError(t, err)
	s, err := sealed.ParseSentMessage(sent)
	require.NoError(t, err)
	require.Len(t, s.Recipients, 1)
	assert.Equal(t, uint16(11), s.Recipients[0].Devices[0].RegistrationID)
	got, err = alice.SealedDecrypt(ctx, s.ReceivedMessage(&s.Recipients[0]), opts)
	require.NoError(t, err)
	assert.Equal(t, "hi alice", string(got.Plaintext))
	assert.Equal(t, 2, got.Version)

	// Plaintext content (type 8).
	pc, err := sealed.NewContent(sealed.PlaintextType, bobCert, []byte{0xC0, 1, 2, 3, 0x80}, sealed.HintImplicit, nil)
	require.NoError(t, err)
	env, err = bob.SealContent(ctx, aliceAddr, pc)
	require.NoError(t, err)
	got, err = alice.SealedDecrypt(ctx, env, opts)
	require.NoError(t, err)
	assert.Equal(t, []byte{1, 2, 3, 0x80}, got.Plaintext)
	bad, err := sealed.NewContent(sealed.PlaintextType, bobCert, []byte{1, 2}, 0, nil)
	require.NoError(t, err)
	env, err = bob.SealContent(ctx, aliceAddr, bad)
	require.NoError(t, err)
	_, err = alice.SealedDecrypt(ctx, env, opts)
	assert.ErrorIs(t, err, session.ErrInvalidPlaintextContent)

	// A Manager without a sender key store cannot open sealed group
	// messages.
	stores := aliceSt.Stores()
	stores.SenderKeys = nil
	noGroups, err := session.New(stores, session.WithLocalAddress(aliceAddr))
	require.NoError(t, err)
	gm, err := sealed.NewContent(sealed.SenderKeyType, bobCert, []byte{0x33}, 0, nil)
	require.NoError(t, err)
	env, err = bob.SealContent(ctx, aliceAddr, gm)
	require.NoError(t, err)
	_, err = noGroups.SealedDecrypt(ctx, env, opts)
	assert.ErrorIs(t, err, session.ErrSealedGroupUnsupported)

	// No session: v2 needs one for every device.
	_, err = bob.SealContentMulti(ctx, []session.Address{{Name: "ca201000-0000-4000-8000-0000000ca201", DeviceID: 1}}, content, nil)
	assert.ErrorIs(t, err, session.ErrNoSession)
}

// sealedFixture is Alice and Bob with a PQXDH session started by Alice (no
// message sent yet), a trust root, a server certificate and Alice's sender
// certificate.
type sealedFixture struct {
	alice, bob         *session.Manager
	aliceSt, bobSt     *session.MemoryStore
	aliceAddr, bobAddr session.Address
	aliceID, bobID     *keys.PrivateKey
	server             *sealed.ServerCertificate
	serverKey          *keys.PrivateKey
	cert               *sealed.SenderCertificate
	opts               session.SealedDecryptOptions
	now                time.Time
}

// newSealedFixture builds a sealedFixture; without bobAtomic, Bob's
// Manager runs over his stores without their Atomic.
func newSealedFixture(t *testing.T, bobAtomic bool) *sealedFixture {
	t.Helper()
	ctx := context.Background()
	gen := func() *keys.PrivateKey {
		k, err := keys.GeneratePrivateKey()
		require.NoError(t, err)
		return k
	}
	f := &sealedFixture{
		aliceAddr: session.Address{Name: "a11ce000-0000-4000-8000-00000000a11c", DeviceID: 1},
		bobAddr:   session.Address{Name: "b0b00000-0000-4000-8000-000000000b0b", DeviceID: 2},
		aliceID:   gen(), bobID: gen(), now: time.Now(),
	}
	f.aliceSt = session.NewMemoryStore(f.aliceID, 11, session.TrustAll)
	f.bobSt = session.NewMemoryStore(f.bobID, 22, session.TrustAll)
	var err error
	f.alice, err = session.New(f.aliceSt.Stores(), session.WithLocalAddress(f.aliceAddr))
	require.NoError(t, err)
	bobStores := f.bobSt.Stores()
	if !bobAtomic {
		bobStores.Atomic = nil
	}
	f.bob, err = session.New(bobStores, session.WithLocalAddress(f.bobAddr))
	require.NoError(t, err)

	spkPriv := gen()
	sig, err := f.bobID.Sign(spkPriv.PublicKey().Bytes())
	require.NoError(t, err)
	spk := prekey.NewSignedPreKeyRecord(1, spkPriv, sig, f.now)
	require.NoError(t, f.bobSt.StoreSignedPreKey(ctx, spk))
	ksk, err := kem.GenerateKey(kem.Kyber1024)
	require.NoError(t, err)
	ksig, err := f.bobID.Sign(ksk.PublicKey().Bytes())
	require.NoError(t, err)
	kpk := prekey.NewKyberPreKeyRecord(1, ksk, ksig, f.now)
	require.NoError(t, f.bobSt.StoreKyberPreKey(ctx, kpk))
	b, err := prekey.NewBundle(22, 2, f.bobID.PublicKey(), spk, nil, kpk)
	require.NoError(t, err)
	require.NoError(t, f.alice.ProcessBundle(ctx, f.bobAddr, b))

	root := gen()
	f.serverKey = gen()
	f.server, err = sealed.NewServerCertificate(1, f.serverKey.PublicKey(), root)
	require.NoError(t, err)
	f.cert, err = sealed.NewSenderCertificate(sealed.SenderInfo{UUID: f.aliceAddr.Name, Device: 1, Key: f.aliceID.PublicKey(),
		Expires: uint64(f.now.Add(time.Hour).UnixMilli())}, f.server, f.serverKey)
	require.NoError(t, err)
	f.opts = session.SealedDecryptOptions{TrustRoots: []keys.PublicKey{root.PublicKey()}, Time: f.now}
	return f
}
