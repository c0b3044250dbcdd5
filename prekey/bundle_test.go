package prekey_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
)

// rawFromVector converts a recorded bundle to a RawBundle.
func rawFromVector(b testvectors.Bundle) prekey.RawBundle {
	r := prekey.RawBundle{
		RegistrationID:        b.RegistrationID,
		DeviceID:              b.DeviceID,
		IdentityKey:           b.IdentityKey,
		SignedPreKeyID:        b.SignedPreKeyID,
		SignedPreKey:          b.SignedPreKey,
		SignedPreKeySignature: b.SignedPreKeySignature,
		PreKey:                b.PreKey,
		KyberPreKey:           b.KyberPreKey,
		KyberPreKeySignature:  b.KyberPreKeySignature,
	}
	if b.PreKeyID != nil {
		r.PreKeyID = *b.PreKeyID
	}
	if b.KyberPreKeyID != nil {
		r.KyberPreKeyID = *b.KyberPreKeyID
	}
	return r
}

func transcriptBundle(t testing.TB, name string) prekey.RawBundle {
	t.Helper()
	tr, err := testvectors.LibsignalV072Transcript()
	require.NoError(t, err)
	s := tr.Session(name)
	require.NotNil(t, s)
	return rawFromVector(s.Bundle)
}

func TestTranscriptBundlesValidate(t *testing.T) {
	tr, err := testvectors.LibsignalV072Transcript()
	require.NoError(t, err)
	for _, s := range tr.Sessions {
		t.Run(s.Name, func(t *testing.T) {
			raw := rawFromVector(s.Bundle)
			b, err := prekey.ParseBundle(raw)
			require.NoError(t, err)
			assert.Equal(t, s.MessageVersion, b.Version())
			assert.Equal(t, s.Bundle.RegistrationID, b.RegistrationID())
			assert.Equal(t, s.Bundle.DeviceID, b.DeviceID())
			assert.Equal(t, []byte(s.Bob.IdentityPub), b.IdentityKey().Bytes())
			assert.Equal(t, s.Bob.SignedPreKeyID, b.SignedPreKeyID())
			assert.Equal(t, []byte(s.Bob.SignedPreKeyPub), b.SignedPreKey().Bytes())
			assert.Equal(t, []byte(s.Bundle.SignedPreKeySignature), b.SignedPreKeySignature())

			id, opk, ok := b.PreKey()
			require.True(t, ok)
			assert.Equal(t, *s.Bob.PreKeyID, id)
			assert.Equal(t, []byte(s.Bob.PreKeyPub), opk.Bytes())

			kid, kpk, ok := b.KyberPreKey()
			if s.MessageVersion == prekey.VersionX3DH {
				assert.False(t, ok)
				assert.Nil(t, kpk)
				assert.Nil(t, b.KyberPreKeySignature())
			} else {
				require.True(t, ok)
				assert.Equal(t, *s.Bob.KyberPreKeyID, kid)
				assert.Equal(t, []byte(s.Bob.KyberPreKeyPub), kpk.Bytes())
				assert.Equal(t, kem.Kyber1024, kpk.Type())
				assert.Equal(t, []byte(s.Bundle.KyberPreKeySignature), b.KyberPreKeySignature())
			}

			back := b.Raw()
			assert.Equal(t, raw, back)
			b2, err := prekey.ParseBundle(back)
			require.NoError(t, err)
			assert.Equal(t, b, b2)
		})
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 1
	return c
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestBundleRejections mutates libsignal's PQXDH bundle one defect at a time
// and checks each is reported with its own error, and with none of the
// others.
func TestBundleRejections(t *testing.T) {
	good := transcriptBundle(t, "pqxdh")
	x3dhBundle := transcriptBundle(t, "x3dh")
	other := genIdentity(t)
	otherKyber, err := prekey.GenerateKyberPreKey(other, 1, kem.Kyber1024, time.Now())
	require.NoError(t, err)
	otherKyberPub, err := otherKyber.PublicKey()
	require.NoError(t, err)
	// A Kyber key whose first coefficient is 0xFFF, not below q.
	unreduced := append([]byte(nil), good.KyberPreKey...)
	unreduced[1], unreduced[2] = 0xff, 0x0f

	all := []error{
		prekey.ErrInvalidSignedPreKeySignature, prekey.ErrInvalidKyberPreKeySignature,
		prekey.ErrMissingKyberSignature, prekey.ErrMissingKyberPreKey, prekey.ErrSignatureLength,
		prekey.ErrTrailingData, keys.ErrNoKeyType, keys.ErrBadKeyType, keys.ErrKeyLength,
		kem.ErrUnknownKeyType, kem.ErrKeyLength, kem.ErrInvalidPublicKey,
	}
	cases := []struct {
		name   string
		mutate func(r *prekey.RawBundle)
		want   error
		field  string // the *FieldError's field, if any
	}{
		{"bad signed pre-key signature", func(r *prekey.RawBundle) { r.SignedPreKeySignature = flip(r.SignedPreKeySignature, 5) }, prekey.ErrInvalidSignedPreKeySignature, ""},
		{"signed pre-key signature sign bit", func(r *prekey.RawBundle) { r.SignedPreKeySignature = flip(r.SignedPreKeySignature, 63) }, prekey.ErrInvalidSignedPreKeySignature, ""},
		{"signed pre-key from another bundle", func(r *prekey.RawBundle) { r.SignedPreKey = x3dhBundle.SignedPreKey }, prekey.ErrInvalidSignedPreKeySignature, ""},
		{"bad Kyber signature", func(r *prekey.RawBundle) { r.KyberPreKeySignature = flip(r.KyberPreKeySignature, 40) }, prekey.ErrInvalidKyberPreKeySignature, ""},
		{"Kyber key signed by another identity", func(r *prekey.RawBundle) {
			r.KyberPreKey, r.KyberPreKeySignature = otherKyberPub.Bytes(), otherKyber.Signature()
		}, prekey.ErrInvalidKyberPreKeySignature, ""},
		{"Kyber signature over the signed pre-key", func(r *prekey.RawBundle) { r.KyberPreKeySignature = r.SignedPreKeySignature }, prekey.ErrInvalidKyberPreKeySignature, ""},
		{"missing Kyber signature", func(r *prekey.RawBundle) { r.KyberPreKeySignature = nil }, prekey.ErrMissingKyberSignature, ""},
		{"Kyber signature without key", func(r *prekey.RawBundle) { r.KyberPreKey = nil }, prekey.ErrMissingKyberPreKey, ""},
		{"short signed pre-key signature", func(r *prekey.RawBundle) { r.SignedPreKeySignature = r.SignedPreKeySignature[:63] }, prekey.ErrSignatureLength, "signed_prekey_signature"},
		{"missing signed pre-key signature", func(r *prekey.RawBundle) { r.SignedPreKeySignature = nil }, prekey.ErrSignatureLength, "signed_prekey_signature"},
		{"short Kyber signature", func(r *prekey.RawBundle) { r.KyberPreKeySignature = r.KyberPreKeySignature[:32] }, prekey.ErrSignatureLength, "kyber_prekey_signature"},
		{"trailing garbage after identity key", func(r *prekey.RawBundle) { r.IdentityKey = concat(r.IdentityKey, []byte{0}) }, prekey.ErrTrailingData, "identity_key"},
		{"trailing garbage after signed pre-key", func(r *prekey.RawBundle) { r.SignedPreKey = concat(r.SignedPreKey, []byte{1, 2}) }, prekey.ErrTrailingData, "signed_prekey"},
		{"trailing garbage after one-time pre-key", func(r *prekey.RawBundle) { r.PreKey = concat(r.PreKey, []byte{0}) }, prekey.ErrTrailingData, "prekey"},
		{"trailing garbage after Kyber key", func(r *prekey.RawBundle) { r.KyberPreKey = concat(r.KyberPreKey, []byte{0}) }, prekey.ErrTrailingData, "kyber_prekey"},
		{"trailing garbage after signature", func(r *prekey.RawBundle) {
			r.SignedPreKeySignature = concat(r.SignedPreKeySignature, []byte{0})
		}, prekey.ErrTrailingData, "signed_prekey_signature"},
		{"trailing garbage after Kyber signature", func(r *prekey.RawBundle) {
			r.KyberPreKeySignature = concat(r.KyberPreKeySignature, []byte{0})
		}, prekey.ErrTrailingData, "kyber_prekey_signature"},
		{"identity key of wrong type", func(r *prekey.RawBundle) { r.IdentityKey = concat([]byte{0x06}, r.IdentityKey[1:]) }, keys.ErrBadKeyType, "identity_key"},
		{"signed pre-key of Kyber type", func(r *prekey.RawBundle) { r.SignedPreKey = concat([]byte{0x08}, r.SignedPreKey[1:]) }, keys.ErrBadKeyType, "signed_prekey"},
		{"raw 32-byte one-time pre-key", func(r *prekey.RawBundle) { r.PreKey = concat([]byte{0x05}, r.PreKey[2:]) }, keys.ErrKeyLength, "prekey"},
		{"short identity key", func(r *prekey.RawBundle) { r.IdentityKey = r.IdentityKey[:32] }, keys.ErrKeyLength, "identity_key"},
		{"missing identity key", func(r *prekey.RawBundle) { r.IdentityKey = nil }, keys.ErrNoKeyType, "identity_key"},
		{"missing signed pre-key", func(r *prekey.RawBundle) { r.SignedPreKey = nil }, keys.ErrNoKeyType, "signed_prekey"},
		{"Kyber key of unknown type", func(r *prekey.RawBundle) { r.KyberPreKey = concat([]byte{0x07}, r.KyberPreKey[1:]) }, kem.ErrUnknownKeyType, "kyber_prekey"},
		{"Kyber key of EC type", func(r *prekey.RawBundle) { r.KyberPreKey = r.SignedPreKey }, kem.ErrUnknownKeyType, "kyber_prekey"},
		{"short Kyber key", func(r *prekey.RawBundle) { r.KyberPreKey = r.KyberPreKey[:kem.PublicKeySize-1] }, kem.ErrKeyLength, "kyber_prekey"},
		{"Kyber key not reduced", func(r *prekey.RawBundle) { r.KyberPreKey = unreduced }, kem.ErrInvalidPublicKey, "kyber_prekey"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := good
			c.mutate(&raw)
			b, err := prekey.ParseBundle(raw)
			require.ErrorIs(t, err, c.want)
			assert.Nil(t, b)
			for _, e := range all {
				if e != c.want {
					assert.NotErrorIs(t, err, e)
				}
			}
			var fe *prekey.FieldError
			if c.field != "" {
				require.ErrorAs(t, err, &fe)
				assert.Equal(t, c.field, fe.Field)
			} else {
				assert.False(t, errors.As(err, &fe), "unexpected field error %v", err)
			}
		})
	}

	// The originals still parse: the mutations did not alias them.
	_, err = prekey.ParseBundle(good)
	require.NoError(t, err)
}

func TestBundleFromRecords(t *testing.T) {
	id := genIdentity(t)
	now := time.UnixMilli(1700000000123)
	spk, err := prekey.GenerateSignedPreKey(id, 7, now)
	require.NoError(t, err)
	opks, err := prekey.GeneratePreKeys(100, 2)
	require.NoError(t, err)
	for _, typ := range []kem.Type{kem.Kyber1024, kem.MLKEM1024} {
		kpk, err := prekey.GenerateKyberPreKey(id, 9, typ, now)
		require.NoError(t, err)

		b, err := prekey.NewBundle(1234, 3, id.PublicKey(), spk, opks[1], kpk)
		require.NoError(t, err)
		assert.Equal(t, prekey.VersionPQXDH, b.Version())
		assert.Equal(t, uint32(1234), b.RegistrationID())
		assert.Equal(t, uint32(3), b.DeviceID())
		assert.Equal(t, id.PublicKey(), b.IdentityKey())
		assert.Equal(t, uint32(7), b.SignedPreKeyID())
		spkPub, err := spk.PublicKey()
		require.NoError(t, err)
		assert.Equal(t, spkPub, b.SignedPreKey())
		pid, ppub, ok := b.PreKey()
		require.True(t, ok)
		assert.Equal(t, uint32(101), pid)
		opkPub, err := opks[1].PublicKey()
		require.NoError(t, err)
		assert.Equal(t, opkPub, ppub)
		kid, kpub, ok := b.KyberPreKey()
		require.True(t, ok)
		assert.Equal(t, uint32(9), kid)
		assert.Equal(t, typ, kpub.Type())
		sk, err := kpk.SecretKey()
		require.NoError(t, err)
		assert.True(t, sk.PublicKey().Equal(kpub))
	}

	b, err := prekey.NewBundle(1, 1, id.PublicKey(), spk, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, prekey.VersionX3DH, b.Version())
	_, _, ok := b.PreKey()
	assert.False(t, ok)

	// Records signed by another identity are rejected.
	_, err = prekey.NewBundle(1, 1, genIdentity(t).PublicKey(), spk, nil, nil)
	require.ErrorIs(t, err, prekey.ErrInvalidSignedPreKeySignature)
	kpk, err := prekey.GenerateKyberPreKey(genIdentity(t), 9, kem.Kyber1024, now)
	require.NoError(t, err)
	_, err = prekey.NewBundle(1, 1, id.PublicKey(), spk, nil, kpk)
	require.ErrorIs(t, err, prekey.ErrInvalidKyberPreKeySignature)
	_, err = prekey.NewBundle(1, 1, id.PublicKey(), nil, nil, nil)
	require.ErrorIs(t, err, keys.ErrNoKeyType)
	// A record without keys (libsignal's empty-key records) is rejected.
	empty, err := prekey.ParsePreKeyRecord([]byte{0x08, 0x2a})
	require.NoError(t, err)
	_, err = prekey.NewBundle(1, 1, id.PublicKey(), spk, empty, nil)
	require.ErrorIs(t, err, keys.ErrNoKeyType)
}

func genIdentity(t testing.TB) *keys.PrivateKey {
	t.Helper()
	k, err := keys.GeneratePrivateKey()
	require.NoError(t, err)
	return k
}
