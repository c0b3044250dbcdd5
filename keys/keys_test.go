package keys

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/internal/testvectors"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

func TestX25519LibsignalAgreement(t *testing.T) {
	v, err := testvectors.Libsignal("x25519_agreement")
	require.NoError(t, err)
	var in struct {
		AlicePrivate string `json:"alice_private"`
		AlicePublic  string `json:"alice_public"`
		BobPrivate   string `json:"bob_private"`
		BobPublic    string `json:"bob_public"`
	}
	var exp struct {
		SharedSecret string `json:"shared_secret"`
	}
	require.NoError(t, v.Decode(&in, &exp))

	alice, err := ParsePrivateKey(unhex(t, in.AlicePrivate))
	require.NoError(t, err)
	bob, err := ParsePrivateKey(unhex(t, in.BobPrivate))
	require.NoError(t, err)
	assert.Equal(t, in.AlicePublic, hex.EncodeToString(alice.PublicKey().Bytes()[1:]))
	assert.Equal(t, in.BobPublic, hex.EncodeToString(bob.PublicKey().Bytes()[1:]))

	s1, err := alice.Agree(bob.PublicKey())
	require.NoError(t, err)
	s2, err := bob.Agree(alice.PublicKey())
	require.NoError(t, err)
	assert.Equal(t, exp.SharedSecret, hex.EncodeToString(s1[:]))
	assert.Equal(t, exp.SharedSecret, hex.EncodeToString(s2[:]))
}

func TestFixedPrivateKeysClamped(t *testing.T) {
	v, err := testvectors.Libsignal("x25519_public_key_of_fixed_private_keys")
	require.NoError(t, err)
	var in struct {
		Zero string `json:"private_all_zero"`
		FF   string `json:"private_all_ff"`
	}
	var exp struct {
		Zero string `json:"public_of_all_zero"`
		FF   string `json:"public_of_all_ff"`
	}
	require.NoError(t, v.Decode(&in, &exp))
	for _, c := range []struct{ priv, pub string }{{in.Zero, exp.Zero}, {in.FF, exp.FF}} {
		k, err := ParsePrivateKey(unhex(t, c.priv))
		require.NoError(t, err)
		assert.Equal(t, c.pub, k.PublicKey().String())
		// Bytes returns the clamped scalar.
		b := k.Bytes()
		assert.Zero(t, b[0]&7)
		assert.Equal(t, byte(0x40), b[31]&0xc0)
	}
}

func TestWycheproofX25519(t *testing.T) {
	cases, err := testvectors.X25519()
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	var zero [32]byte
	for _, c := range cases {
		priv, err := ParsePrivateKey(c.Private)
		require.NoError(t, err, "tcId %d", c.ID)
		pub, err := NewPublicKey(c.Public)
		require.NoError(t, err, "tcId %d", c.ID)
		got, err := priv.Agree(pub)
		if bytes.Equal(c.Shared, zero[:]) {
			// libsignal rejects the all-zero shared secret; Wycheproof marks
			// these "acceptable" (RFC 7748 §6.1 allows the check).
			assert.ErrorIs(t, err, ErrInvalidKeyAgreement, "tcId %d", c.ID)
			assert.NotEqual(t, testvectors.Valid, c.Result, "tcId %d", c.ID)
			continue
		}
		switch c.Result {
		case testvectors.Valid, testvectors.Acceptable:
			require.NoError(t, err, "tcId %d (%s)", c.ID, c.Comment)
			assert.Equal(t, c.Shared, got[:], "tcId %d (%s)", c.ID, c.Comment)
		default:
			assert.Error(t, err, "tcId %d (%s)", c.ID, c.Comment)
		}
	}
}

func TestPublicKeyDecoding(t *testing.T) {
	v, err := testvectors.Libsignal("curve25519_public_key_decoding")
	require.NoError(t, err)
	var cases []struct {
		Length    int    `json:"length"`
		FirstByte string `json:"first_byte"`
		OK        bool   `json:"ok"`
	}
	require.NoError(t, jsonUnmarshal(v.Cases, &cases))
	require.NotEmpty(t, cases)
	for _, c := range cases {
		b := make([]byte, c.Length)
		_, _ = rand.Read(b)
		if c.FirstByte != "" {
			b[0] = unhex(t, c.FirstByte)[0]
		}
		k, err := ParsePublicKey(b)
		switch {
		case c.OK && c.Length == PublicKeySize:
			require.NoError(t, err)
			assert.Equal(t, b, k.Bytes())
		case c.OK:
			// libsignal accepts trailing bytes after the key and drops them;
			// ParsePublicKey is stricter by design (documented).
			assert.ErrorIs(t, err, ErrKeyLength, "length %d", c.Length)
		default:
			assert.Error(t, err, "length %d first %q", c.Length, c.FirstByte)
		}
	}
	_, err = ParsePublicKey(nil)
	assert.ErrorIs(t, err, ErrNoKeyType)
	_, err = ParsePublicKey(append([]byte{0x01}, make([]byte, 32)...))
	assert.ErrorIs(t, err, ErrBadKeyType)
	_, err = ParsePublicKey(make([]byte, 32))
	assert.ErrorIs(t, err, ErrBadKeyType)
	_, err = ParsePublicKey([]byte{TypeDJB, 1, 2})
	assert.ErrorIs(t, err, ErrKeyLength)
	_, err = ParsePrivateKey(make([]byte, 31))
	assert.ErrorIs(t, err, ErrKeyLength)
	_, err = NewPublicKey(make([]byte, 33))
	assert.ErrorIs(t, err, ErrKeyLength)
}

func TestRangeCheck(t *testing.T) {
	v, err := testvectors.Libsignal("curve25519_public_key_range_checks")
	require.NoError(t, err)
	var cases []struct {
		Key     string `json:"key"`
		InRange bool   `json:"in_range"`
	}
	require.NoError(t, jsonUnmarshal(v.Cases, &cases))
	n := 0
	for _, c := range cases {
		if c.Key == "" {
			continue
		}
		var u [32]byte
		copy(u[:], unhex(t, c.Key))
		assert.Equal(t, c.InRange, inRange(&u), c.Key)
		n++
	}
	require.Equal(t, 4, n)
	// The family 2^255-i for i in 1..19 is out of range.
	for i := 1; i <= 19; i++ {
		var u [32]byte
		for j := range u {
			u[j] = 0xff
		}
		u[31] = 0x7f
		u[0] = byte(0xed + 19 - i)
		assert.False(t, inRange(&u), "2^255-%d", i)
		assert.False(t, PublicKey{u}.IsCanonical(), "2^255-%d", i)
	}
}

func TestIsCanonical(t *testing.T) {
	for range 20 {
		k, err := GeneratePrivateKey()
		require.NoError(t, err)
		assert.True(t, k.PublicKey().IsCanonical())
	}
	// Low-order points are not torsion-free: u = 0 (order 4 on Edwards)
	// and u = 1 (identity... y = 0, a point of order 4).
	assert.False(t, PublicKey{}.IsCanonical())
	one := PublicKey{u: [32]byte{1}}
	assert.False(t, one.IsCanonical())
	// A real key plus a low-order component is not torsion-free.
	cases, err := testvectors.X25519()
	require.NoError(t, err)
	for _, c := range cases {
		if c.HasFlag("LowOrderPublic") && c.Public[31]&0x80 == 0 {
			pub, err := NewPublicKey(c.Public)
			require.NoError(t, err)
			assert.False(t, pub.IsCanonical(), "tcId %d", c.ID)
		}
	}
}

func TestSignVerify(t *testing.T) {
	k, err := GeneratePrivateKey()
	require.NoError(t, err)
	msg := []byte("signed pre-key")
	sig, err := k.Sign(msg[:4], msg[4:])
	require.NoError(t, err)
	require.Len(t, sig, SignatureSize)
	assert.True(t, k.PublicKey().VerifySignature(sig, msg))
	assert.False(t, k.PublicKey().VerifySignature(sig, []byte("signed pre-kez")))
	other, err := GeneratePrivateKey()
	require.NoError(t, err)
	assert.False(t, other.PublicKey().VerifySignature(sig, msg))
}

func TestTranscriptSignatures(t *testing.T) {
	tr, err := testvectors.LibsignalV072Transcript()
	require.NoError(t, err)
	for _, s := range tr.Sessions {
		id, err := ParsePublicKey(s.Bundle.IdentityKey)
		require.NoError(t, err)
		assert.True(t, id.VerifySignature(s.Bundle.SignedPreKeySignature, s.Bundle.SignedPreKey), s.Name)
		if s.Bundle.KyberPreKey != nil {
			assert.True(t, id.VerifySignature(s.Bundle.KyberPreKeySignature, s.Bundle.KyberPreKey), s.Name)
		}
		// The identity private key recorded for Bob derives the same public key.
		priv, err := ParsePrivateKey(s.Bob.IdentityPriv)
		require.NoError(t, err)
		assert.Equal(t, id, priv.PublicKey(), s.Name)
	}
}

func TestPrivateKeyFormatHidesScalar(t *testing.T) {
	k, err := GeneratePrivateKey()
	require.NoError(t, err)
	secret := hex.EncodeToString(k.Bytes())
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q"} {
		out := fmt.Sprintf(verb, k)
		assert.NotContains(t, strings.ToLower(out), secret[:16], verb)
		assert.Contains(t, out, k.PublicKey().String(), verb)
	}
	type wrapper struct{ K *PrivateKey }
	out := fmt.Sprintf("%+v", wrapper{k})
	assert.NotContains(t, out, secret[:16])
}

func FuzzParsePublicKey(f *testing.F) {
	f.Add([]byte{})
	f.Add(append([]byte{TypeDJB}, make([]byte, 32)...))
	f.Add(append([]byte{TypeDJB}, make([]byte, 33)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParsePublicKey(b)
		if err != nil {
			if !k.IsZero() {
				t.Fatal("error with non-zero key")
			}
			return
		}
		if !bytes.Equal(k.Bytes(), b) {
			t.Fatal("round trip mismatch")
		}
		_ = k.IsCanonical()
	})
}

func BenchmarkAgree(b *testing.B) {
	k1, _ := GeneratePrivateKey()
	k2, _ := GeneratePrivateKey()
	pub := k2.PublicKey()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k1.Agree(pub); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGeneratePrivateKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := GeneratePrivateKey(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIsCanonical(b *testing.B) {
	k, _ := GeneratePrivateKey()
	pub := k.PublicKey()
	b.ReportAllocs()
	for b.Loop() {
		if !pub.IsCanonical() {
			b.Fatal("not canonical")
		}
	}
}
