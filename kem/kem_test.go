package kem_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha3"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/kem"
)

var types = []kem.Type{kem.Kyber1024, kem.MLKEM1024}

// libsignalKeys returns the serialized key pair of libsignal's kem test data
// for type t (kem_kyber1024_test_keys holds raw keys, which libsignal's
// tests prefix with 0x08; kem_mlkem1024_test_keys holds serialized keys).
// It checks the vector's own SHA-256 digests so a damaged file cannot pass.
func libsignalKeys(t testing.TB, typ kem.Type) (pub, sec []byte) {
	t.Helper()
	switch typ {
	case kem.Kyber1024:
		v, err := testvectors.Libsignal("kem_kyber1024_test_keys")
		require.NoError(t, err)
		var in struct {
			Pub testvectors.Hex `json:"public_key_raw"`
			Sec testvectors.Hex `json:"secret_key_raw"`
		}
		var exp struct {
			PubLen int             `json:"public_key_len"`
			SecLen int             `json:"secret_key_len"`
			PubSHA testvectors.Hex `json:"public_key_sha256"`
			SecSHA testvectors.Hex `json:"secret_key_sha256"`
		}
		require.NoError(t, v.Decode(&in, &exp))
		require.Len(t, in.Pub, exp.PubLen)
		require.Len(t, in.Sec, exp.SecLen)
		ph, sh := sha256.Sum256(in.Pub), sha256.Sum256(in.Sec)
		require.Equal(t, []byte(exp.PubSHA), ph[:])
		require.Equal(t, []byte(exp.SecSHA), sh[:])
		return append([]byte{0x08}, in.Pub...), append([]byte{0x08}, in.Sec...)
	case kem.MLKEM1024:
		v, err := testvectors.Libsignal("kem_mlkem1024_test_keys")
		require.NoError(t, err)
		var in struct {
			Pub testvectors.Hex `json:"public_key_serialized"`
			Sec testvectors.Hex `json:"secret_key_serialized"`
		}
		var exp struct {
			PubLen   int             `json:"public_key_len"`
			SecLen   int             `json:"secret_key_len"`
			PubSHA   testvectors.Hex `json:"public_key_sha256"`
			SecSHA   testvectors.Hex `json:"secret_key_sha256"`
			TypeByte testvectors.Hex `json:"type_byte"`
		}
		require.NoError(t, v.Decode(&in, &exp))
		require.Len(t, in.Pub, exp.PubLen)
		require.Len(t, in.Sec, exp.SecLen)
		ph, sh := sha256.Sum256(in.Pub), sha256.Sum256(in.Sec)
		require.Equal(t, []byte(exp.PubSHA), ph[:])
		require.Equal(t, []byte(exp.SecSHA), sh[:])
		require.Equal(t, []byte(exp.TypeByte), []byte(in.Pub[:1]))
		return in.Pub, in.Sec
	}
	t.Fatalf("no libsignal keys for %v", typ)
	return nil, nil
}

// rejectionSecret computes, independently of the package, the secret that
// implicit rejection yields for ciphertext ct (serialized) under serialized
// secret key sk: J(z, c) = SHAKE256(z || c) for ML-KEM (FIPS 203 Algorithm
// 18) and KDF(z || H(c)) = SHAKE256(z || SHA3-256(c)) for Kyber round 3.
func rejectionSecret(t testing.TB, sk, ct []byte) [32]byte {
	t.Helper()
	require.Len(t, sk, kem.SecretKeySize)
	z := sk[1+3136:]
	c := ct[1:]
	h := sha3.NewSHAKE256()
	h.Write(z)
	switch kem.Type(sk[0]) {
	case kem.MLKEM1024:
		h.Write(c)
	case kem.Kyber1024:
		hc := sha3.Sum256(c)
		h.Write(hc[:])
	default:
		t.Fatalf("unknown type %#x", sk[0])
	}
	var out [32]byte
	h.Read(out[:])
	return out
}

func TestSizes(t *testing.T) {
	v, err := testvectors.Libsignal("kem_sizes")
	require.NoError(t, err)
	type sizes struct {
		TypeByte  testvectors.Hex `json:"type_byte"`
		PubRaw    int             `json:"public_key_raw"`
		PubSer    int             `json:"public_key_serialized"`
		SecRaw    int             `json:"secret_key_raw"`
		SecSer    int             `json:"secret_key_serialized"`
		CtRaw     int             `json:"ciphertext_raw"`
		CtSer     int             `json:"ciphertext_serialized"`
		SharedLen int             `json:"shared_secret"`
	}
	var exp map[string]sizes
	require.NoError(t, v.Decode(nil, &exp))
	for name, typ := range map[string]kem.Type{"kyber1024": kem.Kyber1024, "mlkem1024": kem.MLKEM1024} {
		t.Run(name, func(t *testing.T) {
			e, ok := exp[name]
			require.True(t, ok)
			assert.Equal(t, []byte{byte(typ)}, []byte(e.TypeByte))
			assert.Equal(t, e.PubSer, kem.PublicKeySize)
			assert.Equal(t, e.PubRaw+1, kem.PublicKeySize)
			assert.Equal(t, e.SecSer, kem.SecretKeySize)
			assert.Equal(t, e.SecRaw+1, kem.SecretKeySize)
			assert.Equal(t, e.CtSer, kem.CiphertextSize)
			assert.Equal(t, e.CtRaw+1, kem.CiphertextSize)
			assert.Equal(t, e.SharedLen, kem.SharedSecretSize)

			sk, err := kem.GenerateKey(typ)
			require.NoError(t, err)
			assert.Len(t, sk.Bytes(), e.SecSer)
			assert.Len(t, sk.PublicKey().Bytes(), e.PubSer)
			ct, _, err := sk.PublicKey().Encapsulate()
			require.NoError(t, err)
			assert.Len(t, ct, e.CtSer)
			assert.Equal(t, byte(typ), ct[0])
		})
	}
}

func TestLibsignalKeys(t *testing.T) {
	for _, typ := range types {
		t.Run(typ.String(), func(t *testing.T) {
			pubBytes, secBytes := libsignalKeys(t, typ)

			pk, err := kem.ParsePublicKey(pubBytes)
			require.NoError(t, err)
			sk, err := kem.ParseSecretKey(secBytes)
			require.NoError(t, err)

			assert.Equal(t, typ, pk.Type())
			assert.Equal(t, typ, sk.Type())
			assert.Equal(t, pubBytes, pk.Bytes(), "public key round trip")
			assert.Equal(t, secBytes, sk.Bytes(), "secret key round trip")
			assert.True(t, sk.PublicKey().Equal(pk), "public key from secret key")
			assert.Equal(t, pubBytes, sk.PublicKey().Bytes())

			ct, ss, err := pk.Encapsulate()
			require.NoError(t, err)
			got, err := sk.Decapsulate(ct)
			require.NoError(t, err)
			assert.Equal(t, ss, got, "decapsulated secret")
			assert.NotEqual(t, rejectionSecret(t, secBytes, ct), got, "valid ciphertext was implicitly rejected")

			// Implicit rejection: a modified ciphertext decapsulates,
			// without error, to J(z, c) (FIPS 203) or KDF(z || H(c))
			// (Kyber round 3).
			bad := bytes.Clone(ct)
			bad[100] ^= 1
			got, err = sk.Decapsulate(bad)
			require.NoError(t, err)
			assert.Equal(t, rejectionSecret(t, secBytes, bad), got, "implicit rejection secret")
		})
	}
}

func TestBytesReturnsCopy(t *testing.T) {
	pubBytes, secBytes := libsignalKeys(t, kem.Kyber1024)
	pk, err := kem.ParsePublicKey(pubBytes)
	require.NoError(t, err)
	sk, err := kem.ParseSecretKey(secBytes)
	require.NoError(t, err)

	pubBytes[5] ^= 0xff
	secBytes[5] ^= 0xff
	pk.Bytes()[6] ^= 0xff
	sk.Bytes()[6] ^= 0xff
	sk.PublicKey().Bytes()[7] ^= 0xff

	pubBytes[5] ^= 0xff
	secBytes[5] ^= 0xff
	assert.Equal(t, pubBytes, pk.Bytes())
	assert.Equal(t, secBytes, sk.Bytes())
	assert.Equal(t, pubBytes, sk.PublicKey().Bytes())
}

// firstKyberCiphertext returns field 8 (kyber_ciphertext) of a serialized
// PreKeySignalMessage: one version byte, then protobuf.
func firstKyberCiphertext(t *testing.T, msg []byte) []byte {
	t.Helper()
	require.NotEmpty(t, msg)
	require.Equal(t, byte(0x44), msg[0], "version byte of a v4 PreKeySignalMessage")
	b := msg[1:]
	var ct []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		require.GreaterOrEqual(t, n, 0, "bad protobuf tag")
		b = b[n:]
		if num == 8 {
			require.Equal(t, protowire.BytesType, typ)
			v, n := protowire.ConsumeBytes(b)
			require.GreaterOrEqual(t, n, 0, "bad field 8")
			ct = v
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		require.GreaterOrEqual(t, n, 0, "bad protobuf field %d", num)
		b = b[n:]
	}
	require.NotNil(t, ct, "no field 8 in PreKeySignalMessage")
	return ct
}

// TestLibsignalTranscript decapsulates the Kyber1024 ciphertext that
// libsignal 0.72.1 sent to Bob's Kyber pre-key. That the secret is right is
// verified by package pqxdh (it must decrypt the recorded messages); here the
// ciphertext must pass the re-encryption check, which the implicit-rejection
// comparison shows.
func TestLibsignalTranscript(t *testing.T) {
	tr, err := testvectors.LibsignalV072Transcript()
	require.NoError(t, err)
	s := tr.Session("pqxdh")
	require.NotNil(t, s)

	sk, err := kem.ParseSecretKey(s.Bob.KyberPreKeyPriv)
	require.NoError(t, err)
	assert.Equal(t, kem.Kyber1024, sk.Type())
	assert.Equal(t, []byte(s.Bob.KyberPreKeyPriv), sk.Bytes())

	pk, err := kem.ParsePublicKey(s.Bob.KyberPreKeyPub)
	require.NoError(t, err)
	assert.Equal(t, []byte(s.Bob.KyberPreKeyPub), pk.Bytes())
	assert.True(t, sk.PublicKey().Equal(pk), "Bob's public key from his secret key")
	assert.Equal(t, []byte(s.Bundle.KyberPreKey), sk.PublicKey().Bytes(), "bundle's Kyber pre-key")

	require.NotEmpty(t, s.Messages)
	first := s.Messages[0]
	require.Equal(t, 3, first.Type, "first message is a PreKeySignalMessage")
	ct := firstKyberCiphertext(t, first.Ciphertext)
	require.Len(t, ct, kem.CiphertextSize)
	assert.Equal(t, byte(kem.Kyber1024), ct[0])

	ss1, err := sk.Decapsulate(ct)
	require.NoError(t, err)
	ss2, err := sk.Decapsulate(ct)
	require.NoError(t, err)
	assert.Equal(t, ss1, ss2, "decapsulation is deterministic")
	assert.NotEqual(t, [32]byte{}, ss1)
	assert.NotEqual(t, rejectionSecret(t, sk.Bytes(), ct), ss1,
		"libsignal's ciphertext failed the re-encryption check")

	// Every PreKeySignalMessage of the unacknowledged chain repeats it.
	for _, m := range s.Messages {
		if m.Type == 3 && m.From == "alice" {
			assert.Equal(t, ct, firstKyberCiphertext(t, m.Ciphertext), "seq %d", m.Seq)
		}
	}

	// The same bytes relabelled as ML-KEM are refused, not decapsulated.
	relabelled := bytes.Clone(ct)
	relabelled[0] = byte(kem.MLKEM1024)
	_, err = sk.Decapsulate(relabelled)
	require.ErrorIs(t, err, kem.ErrWrongKEMType)
}

// TestKyberDiffersFromMLKEM checks that the two types are really different
// algorithms: from the same seed d || z and the same encapsulation
// randomness they agree only on z.
func TestKyberDiffersFromMLKEM(t *testing.T) {
	seed := bytes.Repeat([]byte{0x5a}, 64)
	m := bytes.Repeat([]byte{0xa5}, 32)

	ky, err := kem.NewKeyFromSeed(kem.Kyber1024, seed)
	require.NoError(t, err)
	ml, err := kem.NewKeyFromSeed(kem.MLKEM1024, seed)
	require.NoError(t, err)

	kyb, mlb := ky.Bytes(), ml.Bytes()
	assert.Equal(t, byte(0x08), kyb[0])
	assert.Equal(t, byte(0x0a), mlb[0])
	assert.NotEqual(t, kyb[1:1+3136], mlb[1:1+3136], "dk_pke || ek || H(ek)")
	assert.Equal(t, seed[32:], kyb[1+3136:], "z is stored verbatim")
	assert.Equal(t, seed[32:], mlb[1+3136:], "z is stored verbatim")
	assert.NotEqual(t, ky.PublicKey().Bytes()[1:], ml.PublicKey().Bytes()[1:])

	kct, kss, err := kem.EncapsulateDeterministic(ky.PublicKey(), m)
	require.NoError(t, err)
	mct, mss, err := kem.EncapsulateDeterministic(ml.PublicKey(), m)
	require.NoError(t, err)
	assert.NotEqual(t, kct[1:], mct[1:])
	assert.NotEqual(t, kss, mss)

	got, err := ky.Decapsulate(kct)
	require.NoError(t, err)
	assert.Equal(t, kss, got)
	got, err = ml.Decapsulate(mct)
	require.NoError(t, err)
	assert.Equal(t, mss, got)

	// Same seed and m again: same outputs (the seeded paths are
	// deterministic).
	ky2, err := kem.NewKeyFromSeed(kem.Kyber1024, seed)
	require.NoError(t, err)
	assert.Equal(t, kyb, ky2.Bytes())
	kct2, kss2, err := kem.EncapsulateDeterministic(ky2.PublicKey(), m)
	require.NoError(t, err)
	assert.Equal(t, kct, kct2)
	assert.Equal(t, kss, kss2)
}

func TestGenerateKey(t *testing.T) {
	for _, typ := range types {
		t.Run(typ.String(), func(t *testing.T) {
			a, err := kem.GenerateKey(typ)
			require.NoError(t, err)
			b, err := kem.GenerateKey(typ)
			require.NoError(t, err)
			assert.NotEqual(t, a.Bytes(), b.Bytes())
			assert.False(t, a.PublicKey().Equal(b.PublicKey()))

			// The generated serialization parses back to the same key.
			again, err := kem.ParseSecretKey(a.Bytes())
			require.NoError(t, err)
			assert.Equal(t, a.Bytes(), again.Bytes())
			assert.True(t, a.PublicKey().Equal(again.PublicKey()))
			pk, err := kem.ParsePublicKey(a.PublicKey().Bytes())
			require.NoError(t, err)
			assert.True(t, pk.Equal(a.PublicKey()))

			ct, ss, err := pk.Encapsulate()
			require.NoError(t, err)
			got, err := again.Decapsulate(ct)
			require.NoError(t, err)
			assert.Equal(t, ss, got)
			ct2, ss2, err := pk.Encapsulate()
			require.NoError(t, err)
			assert.NotEqual(t, ct, ct2, "encapsulation is randomized")
			assert.NotEqual(t, ss, ss2)
		})
	}
	_, err := kem.GenerateKey(0x07)
	require.ErrorIs(t, err, kem.ErrUnknownKeyType)
}

func TestEqual(t *testing.T) {
	kyPub, _ := libsignalKeys(t, kem.Kyber1024)
	a, err := kem.ParsePublicKey(kyPub)
	require.NoError(t, err)
	b, err := kem.ParsePublicKey(kyPub)
	require.NoError(t, err)
	assert.True(t, a.Equal(b))

	// Same raw bytes under the other type byte: a different key.
	other := bytes.Clone(kyPub)
	other[0] = byte(kem.MLKEM1024)
	c, err := kem.ParsePublicKey(other)
	require.NoError(t, err)
	assert.False(t, a.Equal(c))
	assert.False(t, a.Equal(nil))
	assert.False(t, a.Equal(&kem.PublicKey{}))
	assert.False(t, (*kem.PublicKey)(nil).Equal(a))
}

// mutate returns a copy of b with f applied.
func mutate(b []byte, f func([]byte) []byte) []byte { return f(bytes.Clone(b)) }

// setCoeff0 sets the first 12-bit coefficient encoded at b to 0xFFF (> q).
func setCoeff0(b []byte) {
	b[0] = 0xff
	b[1] |= 0x0f
}

func TestParsePublicKeyErrors(t *testing.T) {
	for _, typ := range types {
		pub, _ := libsignalKeys(t, typ)
		cases := []struct {
			name string
			in   []byte
			err  error
		}{
			{"nil", nil, kem.ErrKeyLength},
			{"empty", []byte{}, kem.ErrKeyLength},
			{"type only", pub[:1], kem.ErrKeyLength},
			{"short", pub[:len(pub)-1], kem.ErrKeyLength},
			{"raw without type byte", pub[1:], kem.ErrUnknownKeyType},
			{"trailing byte", append(bytes.Clone(pub), 0), kem.ErrKeyLength},
			{"trailing garbage", append(bytes.Clone(pub), pub...), kem.ErrKeyLength},
			{"type 0x05", mutate(pub, func(b []byte) []byte { b[0] = 0x05; return b }), kem.ErrUnknownKeyType},
			{"type 0x07 (Kyber768)", mutate(pub, func(b []byte) []byte { b[0] = 0x07; return b }), kem.ErrUnknownKeyType},
			{"type 0x09", mutate(pub, func(b []byte) []byte { b[0] = 0x09; return b }), kem.ErrUnknownKeyType},
			{"coefficient 4095", mutate(pub, func(b []byte) []byte { setCoeff0(b[1:]); return b }), kem.ErrInvalidPublicKey},
			{"last coefficient q", mutate(pub, func(b []byte) []byte {
				// last coefficient of t̂ = bytes 1534..1535 of ek: (b[1534]>>4) | b[1535]<<4
				b[1+1534] = b[1+1534]&0x0f | (3329&0xf)<<4
				b[1+1535] = 3329 >> 4
				return b
			}), kem.ErrInvalidPublicKey},
		}
		for _, c := range cases {
			t.Run(typ.String()+"/"+c.name, func(t *testing.T) {
				pk, err := kem.ParsePublicKey(c.in)
				require.ErrorIs(t, err, c.err)
				assert.Nil(t, pk)
			})
		}
		t.Run(typ.String()+"/last coefficient q-1", func(t *testing.T) {
			b := bytes.Clone(pub)
			b[1+1534] = b[1+1534]&0x0f | (3328&0xf)<<4
			b[1+1535] = 3328 >> 4
			_, err := kem.ParsePublicKey(b)
			assert.NoError(t, err)
		})
	}
}

func TestParseSecretKeyErrors(t *testing.T) {
	for _, typ := range types {
		_, sec := libsignalKeys(t, typ)
		// raw layout: dk_pke [0,1536) ek [1536,3104) H(ek) [3104,3136) z [3136,3168)
		const dk, ek, h = 1, 1 + 1536, 1 + 3104
		rehash := func(b []byte) []byte {
			sum := sha3.Sum256(b[ek:h])
			copy(b[h:], sum[:])
			return b
		}
		cases := []struct {
			name string
			in   []byte
			err  error
		}{
			{"nil", nil, kem.ErrKeyLength},
			{"empty", []byte{}, kem.ErrKeyLength},
			{"short", sec[:len(sec)-1], kem.ErrKeyLength},
			{"raw without type byte", sec[1:], kem.ErrUnknownKeyType},
			{"trailing byte", append(bytes.Clone(sec), 0), kem.ErrKeyLength},
			{"64-byte seed", append([]byte{byte(typ)}, make([]byte, 64)...), kem.ErrKeyLength},
			{"type 0x05", mutate(sec, func(b []byte) []byte { b[0] = 0x05; return b }), kem.ErrUnknownKeyType},
			{"type 0x07", mutate(sec, func(b []byte) []byte { b[0] = 0x07; return b }), kem.ErrUnknownKeyType},
			{"H(ek) flipped", mutate(sec, func(b []byte) []byte { b[h+3] ^= 1; return b }), kem.ErrInvalidSecretKey},
			{"ek flipped", mutate(sec, func(b []byte) []byte { b[ek+3] ^= 1; return b }), kem.ErrInvalidSecretKey},
			{"ek not reduced, hash fixed", mutate(sec, func(b []byte) []byte { setCoeff0(b[ek:]); return rehash(b) }), kem.ErrInvalidSecretKey},
			{"dk_pke not reduced", mutate(sec, func(b []byte) []byte { setCoeff0(b[dk:]); return b }), kem.ErrInvalidSecretKey},
			{"dk_pke last coefficient not reduced", mutate(sec, func(b []byte) []byte { b[ek-1] = 0xff; return b }), kem.ErrInvalidSecretKey},
		}
		for _, c := range cases {
			t.Run(typ.String()+"/"+c.name, func(t *testing.T) {
				sk, err := kem.ParseSecretKey(c.in)
				require.ErrorIs(t, err, c.err)
				assert.Nil(t, sk)
				if len(c.in) > 40 {
					assertNoKeyMaterial(t, err.Error(), c.in)
				}
			})
		}
		t.Run(typ.String()+"/ek changed, hash fixed", func(t *testing.T) {
			// A consistent but different ek is accepted (FIPS 203 checks
			// only H(ek)): the key then decapsulates with the new ek.
			b := mutate(sec, func(b []byte) []byte { b[ek+3] ^= 1; return rehash(b) })
			sk, err := kem.ParseSecretKey(b)
			require.NoError(t, err)
			assert.Equal(t, b[ek:h], sk.PublicKey().Bytes()[1:])
		})
	}
}

// assertNoKeyMaterial fails if s contains any 8-byte window of key in hex or
// as fmt's decimal byte list.
func assertNoKeyMaterial(t *testing.T, s string, key []byte) {
	t.Helper()
	lower := strings.ToLower(s)
	for i := 1; i+8 <= len(key); i += 8 {
		w := key[i : i+8]
		if strings.Contains(lower, hex.EncodeToString(w)) {
			t.Errorf("output contains key bytes %x (offset %d): %q", w, i, s)
			return
		}
		dec := strings.Trim(fmt.Sprint(w), "[]")
		if strings.Contains(s, dec) {
			t.Errorf("output contains key bytes %v (offset %d): %q", w, i, s)
			return
		}
	}
}

func TestDecapsulateErrors(t *testing.T) {
	for _, typ := range types {
		_, sec := libsignalKeys(t, typ)
		sk, err := kem.ParseSecretKey(sec)
		require.NoError(t, err)
		ct, _, err := kem.EncapsulateDeterministic(sk.PublicKey(), bytes.Repeat([]byte{1}, 32))
		require.NoError(t, err)
		raw := ct[1:] // 1568 bytes whose first byte must not look like a type
		require.NotContains(t, []byte{0x08, 0x0a}, raw[0])
		otherType := kem.MLKEM1024
		if typ == kem.MLKEM1024 {
			otherType = kem.Kyber1024
		}
		cases := []struct {
			name string
			in   []byte
			err  error
		}{
			{"nil", nil, kem.ErrCiphertextLength},
			{"empty", []byte{}, kem.ErrCiphertextLength},
			{"type only", ct[:1], kem.ErrCiphertextLength},
			{"short", ct[:len(ct)-1], kem.ErrCiphertextLength},
			{"trailing byte", append(bytes.Clone(ct), 0), kem.ErrCiphertextLength},
			{"raw without type byte", raw, kem.ErrUnknownKeyType},
			{"unknown type 0x07", mutate(ct, func(b []byte) []byte { b[0] = 0x07; return b }), kem.ErrUnknownKeyType},
			{"other KEM type", mutate(ct, func(b []byte) []byte { b[0] = byte(otherType); return b }), kem.ErrWrongKEMType},
			{"other KEM type, short", mutate(ct[:100], func(b []byte) []byte { b[0] = byte(otherType); return b }), kem.ErrWrongKEMType},
		}
		for _, c := range cases {
			t.Run(typ.String()+"/"+c.name, func(t *testing.T) {
				ss, err := sk.Decapsulate(c.in)
				require.ErrorIs(t, err, c.err)
				assert.Equal(t, [32]byte{}, ss)
			})
		}
	}
}

func TestDistinctErrors(t *testing.T) {
	errs := []error{kem.ErrUnknownKeyType, kem.ErrKeyLength, kem.ErrInvalidPublicKey,
		kem.ErrInvalidSecretKey, kem.ErrWrongKEMType, kem.ErrCiphertextLength}
	for i, a := range errs {
		for j, b := range errs {
			if i != j {
				assert.NotErrorIs(t, a, b)
			}
		}
	}
}

func TestZeroValues(t *testing.T) {
	var pk kem.PublicKey
	assert.Nil(t, pk.Bytes())
	assert.Equal(t, kem.Type(0), pk.Type())
	ct, ss, err := pk.Encapsulate()
	require.ErrorIs(t, err, kem.ErrUnknownKeyType)
	assert.Nil(t, ct)
	assert.Equal(t, [32]byte{}, ss)

	var sk kem.SecretKey
	assert.Nil(t, sk.Bytes())
	assert.Nil(t, sk.PublicKey())
	assert.Equal(t, kem.Type(0), sk.Type())
	_, err = sk.Decapsulate(make([]byte, kem.CiphertextSize))
	require.ErrorIs(t, err, kem.ErrUnknownKeyType)
	assert.Equal(t, "kem.SecretKey(zero)", sk.String())

	var nilSK *kem.SecretKey
	assert.Nil(t, nilSK.Bytes())
	assert.Equal(t, "kem.SecretKey(nil)", fmt.Sprint(nilSK))
	_, err = nilSK.Decapsulate(make([]byte, kem.CiphertextSize))
	require.ErrorIs(t, err, kem.ErrUnknownKeyType)
}

func TestTypeString(t *testing.T) {
	assert.Equal(t, "Kyber1024", kem.Kyber1024.String())
	assert.Equal(t, "ML-KEM-1024", kem.MLKEM1024.String())
	assert.Equal(t, "Type(0x07)", kem.Type(7).String())
}

func TestSecretKeyFormatHidesSecret(t *testing.T) {
	_, sec := libsignalKeys(t, kem.Kyber1024)
	sk, err := kem.ParseSecretKey(sec)
	require.NoError(t, err)

	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"} {
		out := fmt.Sprintf(verb, sk)
		if verb != "%T" {
			assert.Equal(t, "kem.SecretKey(Kyber1024)", out, verb)
		}
		assertNoKeyMaterial(t, out, sec)
	}
	assert.Equal(t, "kem.SecretKey(Kyber1024)", sk.String())

	// Held by value or pointer inside other structs, exported or not: fmt
	// either calls Format or, through reflection, reaches only pointers.
	type holder struct {
		Exported   *kem.SecretKey
		unexported *kem.SecretKey
		value      kem.SecretKey
	}
	h := holder{sk, sk, *sk}
	for _, verb := range []string{"%v", "%+v", "%#v", "%x", "%d"} {
		for _, v := range []any{h, &h, *sk, []kem.SecretKey{*sk}} {
			assertNoKeyMaterial(t, fmt.Sprintf(verb, v), sec)
		}
	}
}
