package xeddsa_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"testing"

	"filippo.io/edwards25519"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/internal/xeddsa"
)

// publicKey derives the X25519 public key of priv with crypto/ecdh, which
// clamps the scalar itself: an implementation independent of this package.
func publicKey(t testing.TB, priv []byte) [32]byte {
	t.Helper()
	k, err := ecdh.X25519().NewPrivateKey(priv)
	require.NoError(t, err)
	return [32]byte(k.PublicKey().Bytes())
}

func randomKey(t testing.TB) (priv, pub [32]byte) {
	t.Helper()
	_, err := rand.Read(priv[:])
	require.NoError(t, err)
	// libsignal stores clamped keys.
	priv[0] &= 248
	priv[31] &= 127
	priv[31] |= 64
	return priv, publicKey(t, priv[:])
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

func random64(t testing.TB) *[64]byte {
	t.Helper()
	return (*[64]byte)(randomBytes(t, 64))
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

// flipBit returns a copy of b with bit i (little-endian within each byte)
// inverted.
func flipBit(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i/8] ^= 1 << (i % 8)
	return c
}

// libsignalSig is a signature produced by libsignal, with the signer's
// private key when the vectors record it.
type libsignalSig struct {
	name string
	u    [32]byte
	msg  []byte
	sig  []byte
	priv []byte // nil if unknown
}

// libsignalSignatures gathers every XEdDSA signature made by libsignal that
// the vector corpus holds.
func libsignalSignatures(t *testing.T) []libsignalSig {
	t.Helper()
	var out []libsignalSig

	v, err := testvectors.Libsignal("xeddsa_verify_identity_signature")
	require.NoError(t, err)
	var id struct {
		Priv testvectors.Hex `json:"identity_private"`
		Pub  testvectors.Hex `json:"identity_public_raw"`
		Msg  testvectors.Hex `json:"message"`
		Sig  testvectors.Hex `json:"signature"`
	}
	require.NoError(t, v.Decode(&id, nil))
	require.Len(t, id.Pub, 32)
	out = append(out, libsignalSig{v.ID, [32]byte(id.Pub), id.Msg, id.Sig, id.Priv})

	v, err = testvectors.Libsignal("x25519_public_key_of_fixed_private_keys")
	require.NoError(t, err)
	var fixed struct {
		Zero testvectors.Hex `json:"private_all_zero"`
	}
	var fixedPub struct {
		Zero testvectors.Hex `json:"public_of_all_zero"`
	}
	require.NoError(t, v.Decode(&fixed, &fixedPub))

	for _, id := range []string{
		"xeddsa_verify_known_server_certificate_2",
		"xeddsa_verify_known_server_certificate_3",
		"xeddsa_verify_known_server_certificate_7357c357",
	} {
		v, err := testvectors.Libsignal(id)
		require.NoError(t, err)
		var in struct {
			Root testvectors.Hex `json:"trust_root_serialized"`
			Cert testvectors.Hex `json:"certificate"`
			Sig  testvectors.Hex `json:"signature"`
		}
		require.NoError(t, v.Decode(&in, nil))
		require.Len(t, in.Root, 33)
		require.Equal(t, byte(0x05), in.Root[0])
		s := libsignalSig{name: id, u: [32]byte(in.Root[1:]), msg: in.Cert, sig: in.Sig}
		// The test trust root is the public key of the all-zero private
		// key (sealed_sender.rs), so libsignal signed this one with it.
		if bytes.Equal(in.Root, fixedPub.Zero) {
			s.priv = fixed.Zero
		}
		out = append(out, s)
	}
	require.NotNil(t, out[len(out)-1].priv, "7357c357 trust root should be the all-zero key's public key")

	addBundle := func(prefix string, b testvectors.Bundle, identityPriv []byte) {
		require.Len(t, b.IdentityKey, 33)
		u := [32]byte(b.IdentityKey[1:])
		require.Len(t, b.SignedPreKey, 33)
		out = append(out, libsignalSig{prefix + "/signed_prekey", u, b.SignedPreKey, b.SignedPreKeySignature, identityPriv})
		if b.KyberPreKey != nil {
			require.Len(t, b.KyberPreKey, 1569)
			out = append(out, libsignalSig{prefix + "/kyber_prekey", u, b.KyberPreKey, b.KyberPreKeySignature, identityPriv})
		}
	}

	tr, err := testvectors.LibsignalV072Transcript()
	require.NoError(t, err)
	for _, name := range []string{"pqxdh", "x3dh"} {
		s := tr.Session(name)
		require.NotNil(t, s, name)
		require.Equal(t, s.Bundle.IdentityKey, s.Bob.IdentityPub)
		addBundle("v0.72/"+name, s.Bundle, s.Bob.IdentityPriv)
	}
	require.NotNil(t, tr.Session("pqxdh").Bundle.KyberPreKey)

	// The 0.103.0 recording has no loader of its own; only its bundles are
	// needed here.
	raw, err := testvectors.ReadFile("libsignal/libsignal_v0.103_transcript.json")
	require.NoError(t, err)
	var tr103 struct {
		Sessions []struct {
			Name   string             `json:"name"`
			Bob    testvectors.Party  `json:"bob"`
			Bundle testvectors.Bundle `json:"bundle"`
		} `json:"sessions"`
	}
	require.NoError(t, json.Unmarshal(raw, &tr103))
	require.NotEmpty(t, tr103.Sessions)
	for _, s := range tr103.Sessions {
		require.NotNil(t, s.Bundle.KyberPreKey, s.Name)
		addBundle("v0.103/"+s.Name, s.Bundle, s.Bob.IdentityPriv)
	}
	return out
}

func TestLibsignalSignaturesVerify(t *testing.T) {
	for _, v := range libsignalSignatures(t) {
		t.Run(v.name, func(t *testing.T) {
			require.Len(t, v.sig, xeddsa.SignatureSize)
			assert.True(t, xeddsa.Verify(&v.u, v.sig, v.msg))
			// Any split of the message verifies the same.
			for _, i := range []int{0, 1, len(v.msg) / 2, len(v.msg)} {
				assert.True(t, xeddsa.Verify(&v.u, v.sig, v.msg[:i], v.msg[i:]), "split at %d", i)
			}
			if v.priv != nil {
				assert.Equal(t, v.u, publicKey(t, v.priv), "recorded private key does not match")
			}
		})
	}
}

func TestLibsignalSignBitVectors(t *testing.T) {
	for _, tc := range []struct {
		id   string
		sign byte
	}{
		{"xeddsa_verify_known_server_certificate_2", 0},
		{"xeddsa_verify_known_server_certificate_3", 1},
		{"xeddsa_verify_known_server_certificate_7357c357", 1},
	} {
		t.Run(tc.id, func(t *testing.T) {
			v, err := testvectors.Libsignal(tc.id)
			require.NoError(t, err)
			var in struct {
				Root testvectors.Hex `json:"trust_root_serialized"`
				Cert testvectors.Hex `json:"certificate"`
				Sig  testvectors.Hex `json:"signature"`
			}
			var exp struct {
				Valid bool `json:"valid"`
				Sign  byte `json:"signature_sign_bit"`
			}
			require.NoError(t, v.Decode(&in, &exp))
			require.Equal(t, tc.sign, exp.Sign)
			assert.Equal(t, exp.Sign, in.Sig[63]>>7)
			assert.Equal(t, exp.Valid, xeddsa.Verify((*[32]byte)(in.Root[1:]), in.Sig, in.Cert))
			// The other sign picks −A, which must fail.
			assert.False(t, xeddsa.Verify((*[32]byte)(in.Root[1:]), flipBit(in.Sig, 511), in.Cert))
		})
	}
}

func TestLibsignalIdentitySignature(t *testing.T) {
	v, err := testvectors.Libsignal("xeddsa_verify_identity_signature")
	require.NoError(t, err)
	var in struct {
		Priv testvectors.Hex `json:"identity_private"`
		Pub  testvectors.Hex `json:"identity_public_raw"`
		Msg  testvectors.Hex `json:"message"`
		Sig  testvectors.Hex `json:"signature"`
	}
	var exp struct {
		PublicFromPrivate testvectors.Hex `json:"public_from_private"`
		Valid             bool            `json:"valid"`
		AnyBit0FlipValid  bool            `json:"any_single_bit0_flip_valid"`
	}
	require.NoError(t, v.Decode(&in, &exp))
	require.Len(t, in.Pub, 32)
	u := [32]byte(in.Pub)
	assert.Equal(t, [32]byte(exp.PublicFromPrivate), publicKey(t, in.Priv))
	assert.Equal(t, exp.Valid, xeddsa.Verify(&u, in.Sig, in.Msg))
	assert.Equal(t, byte(1), in.Sig[63]>>7, "this vector has sign bit 1")

	// libsignal's test flips bit 0 of each byte; flip every bit.
	for i := range 8 * len(in.Sig) {
		if !assert.Equal(t, exp.AnyBit0FlipValid, xeddsa.Verify(&u, flipBit(in.Sig, i), in.Msg), "signature bit %d", i) {
			break
		}
	}
	for i := range 8 * len(in.Msg) {
		if !assert.False(t, xeddsa.Verify(&u, in.Sig, flipBit(in.Msg, i)), "message bit %d", i) {
			break
		}
	}
	for i := range 256 {
		if !assert.False(t, xeddsa.Verify((*[32]byte)(flipBit(u[:], i)), in.Sig, in.Msg), "key bit %d", i) {
			break
		}
	}
}

var scalarL, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)

func leBytesToInt(b []byte) *big.Int {
	be := bytes.Clone(b)
	for i, j := 0, len(be)-1; i < j; i, j = i+1, j-1 {
		be[i], be[j] = be[j], be[i]
	}
	return new(big.Int).SetBytes(be)
}

// edwardsA computes libsignal's signing point A = (clamp(k) mod L)·B, with
// the reduction done by math/big rather than by the package.
func edwardsA(t *testing.T, priv []byte) (*edwards25519.Scalar, *edwards25519.Point) {
	t.Helper()
	k := bytes.Clone(priv)
	k[0] &= 248
	k[31] &= 127
	k[31] |= 64
	a := new(big.Int).Mod(leBytesToInt(k), scalarL)
	var buf [32]byte
	a.FillBytes(buf[:])
	for i, j := 0, 31; i < j; i, j = i+1, j-1 {
		buf[i], buf[j] = buf[j], buf[i]
	}
	s, err := edwards25519.NewScalar().SetCanonicalBytes(buf[:])
	require.NoError(t, err)
	return s, new(edwards25519.Point).ScalarBaseMult(s)
}

// TestSignMatchesLibsignalKeyUse checks, on signatures libsignal made with
// known private keys, the parts of Sign that do not depend on the random
// bytes: the Edwards scalar is clamp(k) mod L without negation, its point's
// sign bit is the one in sig[63], and s = h·a + r with h over R || A || M.
// (r itself is a hash of libsignal's secret randomness, so a libsignal
// signature cannot be reproduced byte for byte.)
func TestSignMatchesLibsignalKeyUse(t *testing.T) {
	signs := map[byte]int{}
	for _, v := range libsignalSignatures(t) {
		if v.priv == nil {
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			a, A := edwardsA(t, v.priv)
			aBytes := A.Bytes()
			assert.Equal(t, v.u[:], A.BytesMontgomery(), "A is not the Edwards form of u")
			assert.Equal(t, aBytes[31]>>7, v.sig[63]>>7, "sign bit")
			signs[v.sig[63]>>7]++

			// r = s − h·a must satisfy r·B = R.
			s := bytes.Clone(v.sig[32:])
			s[31] &= 0x7f
			sc, err := edwards25519.NewScalar().SetCanonicalBytes(s)
			require.NoError(t, err)
			hh := sha512.New()
			hh.Write(v.sig[:32])
			hh.Write(aBytes)
			hh.Write(v.msg)
			h, err := edwards25519.NewScalar().SetUniformBytes(hh.Sum(nil))
			require.NoError(t, err)
			r := edwards25519.NewScalar().Subtract(sc, edwards25519.NewScalar().Multiply(h, a))
			assert.Equal(t, v.sig[:32], new(edwards25519.Point).ScalarBaseMult(r).Bytes())

			// Our signatures with libsignal's key carry the same sign bit
			// and verify with libsignal's public key.
			ours := xeddsa.Sign((*[32]byte)(v.priv), random64(t), v.msg)
			assert.Equal(t, v.sig[63]>>7, ours[63]>>7)
			assert.True(t, xeddsa.Verify(&v.u, ours[:], v.msg))
		})
	}
	assert.NotZero(t, signs[1], "no libsignal signature with sign bit 1 and known key")
}

func TestWycheproofEd25519(t *testing.T) {
	cases, err := testvectors.Ed25519()
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	for _, c := range cases {
		t.Run(fmt.Sprintf("tc%d", c.ID), func(t *testing.T) {
			got := xeddsa.VerifyEdwards(c.PublicKey, c.Sig, c.Msg)
			switch c.Result {
			case testvectors.Valid:
				assert.True(t, got, "%s %v", c.Comment, c.Flags)
			case testvectors.Invalid:
				assert.False(t, got, "%s %v", c.Comment, c.Flags)
			default:
				// The file has no "acceptable" cases; fail if one appears
				// so that a choice is made deliberately.
				t.Errorf("unexpected result %q", c.Result)
			}
		})
	}
}

// TestVerifyEdwardsStdlib checks VerifyEdwards against Go's crypto/ed25519
// signer, with every single-bit flip of the signature.
func TestVerifyEdwardsStdlib(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	msg := []byte("checked against crypto/ed25519")
	sig := ed25519.Sign(priv, msg)
	assert.True(t, xeddsa.VerifyEdwards(pub, sig, msg))
	assert.True(t, xeddsa.VerifyEdwards(pub, sig, msg[:3], msg[3:]))
	for i := range 8 * len(sig) {
		assert.False(t, xeddsa.VerifyEdwards(pub, flipBit(sig, i), msg), "signature bit %d", i)
	}
	assert.False(t, xeddsa.VerifyEdwards(pub[:31], sig, msg))
	assert.False(t, xeddsa.VerifyEdwards(nil, sig, msg))
	assert.False(t, xeddsa.VerifyEdwards(pub, sig[:63], msg))
}

func TestSignVerifyRoundTrip(t *testing.T) {
	signs := map[byte]int{}
	for i := range 64 {
		priv, pub := randomKey(t)
		msg := randomBytes(t, i*7)
		sig := xeddsa.Sign(&priv, random64(t), msg)
		assert.True(t, xeddsa.Verify(&pub, sig[:], msg), "message length %d", len(msg))
		assert.False(t, xeddsa.Verify(&pub, sig[:], append(bytes.Clone(msg), 0)))
		signs[sig[63]>>7]++

		// The sign bit is that of A = (k mod L)·B, which Sign does not
		// negate.
		_, A := edwardsA(t, priv[:])
		assert.Equal(t, A.Bytes()[31]>>7, sig[63]>>7)
		assert.Zero(t, sig[63]&0x60, "s must be reduced")
	}
	// With 64 keys both signs occur except with probability 2^-63.
	assert.NotZero(t, signs[0])
	assert.NotZero(t, signs[1])
}

func TestSignMultiPart(t *testing.T) {
	priv, pub := randomKey(t)
	random := random64(t)
	msg := randomBytes(t, 100)
	whole := xeddsa.Sign(&priv, random, msg)
	assert.Equal(t, whole, xeddsa.Sign(&priv, random, msg[:10], nil, msg[10:60], []byte{}, msg[60:]))
	assert.Equal(t, whole, xeddsa.Sign(&priv, random, msg[:0], msg))
	assert.True(t, xeddsa.Verify(&pub, whole[:], msg[:33], msg[33:]))
	assert.True(t, xeddsa.Verify(&pub, whole[:], msg[:99], msg[99:], nil))

	empty := xeddsa.Sign(&priv, random)
	assert.Equal(t, empty, xeddsa.Sign(&priv, random, nil))
	assert.True(t, xeddsa.Verify(&pub, empty[:]))
	assert.True(t, xeddsa.Verify(&pub, empty[:], []byte{}))
	assert.False(t, xeddsa.Verify(&pub, empty[:], []byte{0}))
}

func TestSignDeterministic(t *testing.T) {
	priv, pub := randomKey(t)
	random := random64(t)
	msg := []byte("same inputs, same signature")
	privCopy, randomCopy := priv, *random

	sig := xeddsa.Sign(&priv, random, msg)
	assert.Equal(t, sig, xeddsa.Sign(&priv, random, msg))
	assert.Equal(t, privCopy, priv, "Sign modified the key")
	assert.Equal(t, randomCopy, *random, "Sign modified the randomness")

	// Other randomness gives another R (and s) but the same sign bit.
	other := xeddsa.Sign(&priv, random64(t), msg)
	assert.NotEqual(t, sig[:32], other[:32])
	assert.Equal(t, sig[63]>>7, other[63]>>7)
	assert.True(t, xeddsa.Verify(&pub, other[:], msg))

	// The randomness and the key enter the nonce: changing one bit of
	// either changes R.
	r2 := *random
	r2[63] ^= 0x80
	sig2 := xeddsa.Sign(&priv, &r2, msg)
	assert.NotEqual(t, sig[:32], sig2[:32])

	// Sign clamps: an unclamped key signs as its clamped form.
	unclamped := priv
	unclamped[0] |= 7
	unclamped[31] |= 0x80
	unclamped[31] &^= 0x40
	assert.Equal(t, sig, xeddsa.Sign(&unclamped, random, msg))
}

// TestBitFlips flips every bit of the key, the message and the signature of
// a signature made by Sign.
func TestBitFlips(t *testing.T) {
	priv, pub := randomKey(t)
	msg := randomBytes(t, 16)
	sig := xeddsa.Sign(&priv, random64(t), msg)
	require.True(t, xeddsa.Verify(&pub, sig[:], msg))
	for i := range 8 * len(sig) {
		assert.False(t, xeddsa.Verify(&pub, flipBit(sig[:], i), msg), "signature bit %d", i)
	}
	for i := range 8 * len(msg) {
		assert.False(t, xeddsa.Verify(&pub, sig[:], flipBit(msg, i)), "message bit %d", i)
	}
	for i := range 256 {
		assert.False(t, xeddsa.Verify((*[32]byte)(flipBit(pub[:], i)), sig[:], msg), "key bit %d", i)
	}
}

func leInt(n *big.Int) []byte {
	var buf [32]byte
	n.FillBytes(buf[:])
	for i, j := 0, 31; i < j; i, j = i+1, j-1 {
		buf[i], buf[j] = buf[j], buf[i]
	}
	return buf[:]
}

// TestVerifyStrictness covers each documented input rule of Verify, in
// particular those where it is stricter than libsignal.
func TestVerifyStrictness(t *testing.T) {
	priv, pub := randomKey(t)
	msg := []byte("strictness")
	var sig [64]byte
	var sInt *big.Int
	// Pick a signature whose s + L still fits below 2^253, so that
	// libsignal's top-bits check alone would not catch it.
	limit := new(big.Int).Lsh(big.NewInt(1), 253)
	for {
		sig = xeddsa.Sign(&priv, random64(t), msg)
		s := bytes.Clone(sig[32:])
		s[31] &= 0x7f
		sInt = leBytesToInt(s)
		if new(big.Int).Add(sInt, scalarL).Cmp(limit) < 0 {
			break
		}
	}
	require.True(t, xeddsa.Verify(&pub, sig[:], msg))

	t.Run("length", func(t *testing.T) {
		for _, n := range []int{0, 32, 63, 65, 128} {
			s := make([]byte, n)
			copy(s, sig[:])
			assert.False(t, xeddsa.Verify(&pub, s, msg), "length %d", n)
		}
		assert.False(t, xeddsa.Verify(&pub, nil, msg))
		assert.False(t, xeddsa.Verify(&pub, append(sig[:], 0), msg))
	})

	t.Run("non-canonical s", func(t *testing.T) {
		// s + L ≡ s (mod L): libsignal reduces and accepts it; we reject.
		bad := bytes.Clone(sig[:])
		copy(bad[32:], leInt(new(big.Int).Add(sInt, scalarL)))
		require.Zero(t, bad[63]&0xe0, "libsignal's top-bits check would pass")
		bad[63] |= sig[63] & 0x80
		assert.False(t, xeddsa.Verify(&pub, bad, msg))
	})

	t.Run("top bits of s", func(t *testing.T) {
		for _, bit := range []byte{0x20, 0x40, 0x60} {
			bad := bytes.Clone(sig[:])
			bad[63] |= bit
			assert.False(t, xeddsa.Verify(&pub, bad, msg), "bits %#x", bit)
		}
	})

	t.Run("non-canonical R", func(t *testing.T) {
		// Add p to R's y: the same point, another encoding.
		p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
		r := bytes.Clone(sig[:32])
		rSign := r[31] & 0x80
		r[31] &= 0x7f
		y := new(big.Int).Add(leBytesToInt(r), p)
		if y.BitLen() <= 255 {
			bad := bytes.Clone(sig[:])
			copy(bad[:32], leInt(y))
			bad[31] |= rSign
			assert.False(t, xeddsa.Verify(&pub, bad, msg))
		}
	})

	t.Run("non-canonical u", func(t *testing.T) {
		// Bit 255 set: libsignal ignores the bit, we reject the key.
		u := pub
		u[31] |= 0x80
		assert.False(t, xeddsa.Verify(&u, sig[:], msg))
		// u + p where it still fits in 255 bits.
		p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
		if up := new(big.Int).Add(leBytesToInt(pub[:]), p); up.BitLen() <= 255 {
			assert.False(t, xeddsa.Verify((*[32]byte)(leInt(up)), sig[:], msg))
		}
	})

	t.Run("special u", func(t *testing.T) {
		for _, h := range []string{
			// −1 (mod p): no Edwards point; rejected by libsignal too.
			"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
			// 0 and 1: points of order 2 and 4.
			"0000000000000000000000000000000000000000000000000000000000000000",
			"0100000000000000000000000000000000000000000000000000000000000000",
			// Points of order 8 (RFC 7748 / Wycheproof x25519 low-order
			// public keys).
			"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
			"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
			// p and p+1: non-canonical 0 and 1.
			"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
			"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		} {
			u := [32]byte(mustHex(t, h))
			for _, bit := range []byte{0, 0x80} {
				s := bytes.Clone(sig[:])
				s[63] = s[63]&0x7f | bit
				assert.False(t, xeddsa.Verify(&u, s, msg), "u %s sign %#x", h, bit)
			}
		}
	})
}

// TestSmallOrderForgery shows why small-order keys are rejected: for u = 0
// (the Edwards point (0, −1) of order 2) a signature that libsignal's
// equation accepts can be made without any private key.
func TestSmallOrderForgery(t *testing.T) {
	var u [32]byte // u = 0 ↦ y = −1
	msg := []byte("forged")
	minusOne, err := new(edwards25519.Point).SetBytes(mustHex(t, "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"))
	require.NoError(t, err)
	aBytes := minusOne.Bytes()
	var found bool
	for i := range 64 {
		s, err := edwards25519.NewScalar().SetUniformBytes(randomBytes(t, 64))
		require.NoError(t, err)
		R := new(edwards25519.Point).ScalarBaseMult(s)
		if i%2 == 1 {
			R.Add(R, minusOne)
		}
		hh := sha512.New()
		hh.Write(R.Bytes())
		hh.Write(aBytes)
		hh.Write(msg)
		h, err := edwards25519.NewScalar().SetUniformBytes(hh.Sum(nil))
		require.NoError(t, err)
		// R' = s·B − h·A; it equals R when it satisfies the equation.
		check := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(h, new(edwards25519.Point).Negate(minusOne), s)
		if check.Equal(R) != 1 {
			continue
		}
		found = true
		sig := append(R.Bytes(), s.Bytes()...)
		assert.False(t, xeddsa.Verify(&u, sig, msg))
		break
	}
	require.True(t, found, "no forgery found in 64 tries")
}

func TestSignAllocations(t *testing.T) {
	priv, pub := randomKey(t)
	random := random64(t)
	msg := randomBytes(t, 33)
	sig := xeddsa.Sign(&priv, random, msg)
	assert.Zero(t, testing.AllocsPerRun(10, func() { sig = xeddsa.Sign(&priv, random, msg) }))
	assert.Zero(t, testing.AllocsPerRun(10, func() { xeddsa.Verify(&pub, sig[:], msg) }))
}

func FuzzVerify(f *testing.F) {
	cases, err := testvectors.Ed25519()
	require.NoError(f, err)
	for _, c := range cases[:20] {
		f.Add(c.PublicKey, c.Sig, c.Msg, uint(0))
	}
	for _, id := range []string{
		"xeddsa_verify_identity_signature",
		"xeddsa_verify_known_server_certificate_2",
		"xeddsa_verify_known_server_certificate_3",
		"xeddsa_verify_known_server_certificate_7357c357",
	} {
		v, err := testvectors.Libsignal(id)
		require.NoError(f, err)
		var in struct {
			Pub  testvectors.Hex `json:"identity_public_raw"`
			Root testvectors.Hex `json:"trust_root_serialized"`
			Msg  testvectors.Hex `json:"message"`
			Cert testvectors.Hex `json:"certificate"`
			Sig  testvectors.Hex `json:"signature"`
		}
		require.NoError(f, v.Decode(&in, nil))
		if in.Root != nil {
			f.Add([]byte(in.Root[1:]), []byte(in.Sig), []byte(in.Cert), uint(3))
		} else {
			f.Add([]byte(in.Pub), []byte(in.Sig), []byte(in.Msg), uint(5))
		}
	}
	f.Fuzz(func(t *testing.T, key, sig, msg []byte, split uint) {
		var u [32]byte
		copy(u[:], key)
		ok := xeddsa.Verify(&u, sig, msg)
		i := int(split % uint(len(msg)+1))
		if ok != xeddsa.Verify(&u, sig, msg[:i], msg[i:]) {
			t.Fatalf("split at %d changed the result", i)
		}
		if ok && (len(sig) != 64 || sig[63]&0x60 != 0 || u[31]&0x80 != 0) {
			t.Fatalf("accepted an input Verify must reject")
		}
		okEd := xeddsa.VerifyEdwards(key, sig, msg)
		if okEd && (len(key) != 32 || len(sig) != 64 || sig[63]&0xe0 != 0) {
			t.Fatalf("VerifyEdwards accepted an input it must reject")
		}
	})
}

func FuzzSign(f *testing.F) {
	f.Add(make([]byte, 32), make([]byte, 64), []byte{}, uint(0))
	f.Add(bytes.Repeat([]byte{0xff}, 32), bytes.Repeat([]byte{0xff}, 64), []byte("message"), uint(3))
	f.Fuzz(func(t *testing.T, key, random, msg []byte, split uint) {
		var priv [32]byte
		var z [64]byte
		copy(priv[:], key)
		copy(z[:], random)
		pub := publicKey(t, priv[:])
		i := int(split % uint(len(msg)+1))
		sig := xeddsa.Sign(&priv, &z, msg)
		if sig != xeddsa.Sign(&priv, &z, msg[:i], msg[i:]) {
			t.Fatalf("split at %d changed the signature", i)
		}
		if !xeddsa.Verify(&pub, sig[:], msg) {
			t.Fatalf("signature does not verify")
		}
	})
}

func BenchmarkXEdDSASign(b *testing.B) {
	priv, _ := randomKey(b)
	random := random64(b)
	msg := randomBytes(b, 33) // a serialized signed pre-key
	b.ReportAllocs()
	for b.Loop() {
		xeddsa.Sign(&priv, random, msg)
	}
}

func BenchmarkXEdDSAVerify(b *testing.B) {
	priv, pub := randomKey(b)
	msg := randomBytes(b, 33)
	sig := xeddsa.Sign(&priv, random64(b), msg)
	b.ReportAllocs()
	for b.Loop() {
		if !xeddsa.Verify(&pub, sig[:], msg) {
			b.Fatal("verification failed")
		}
	}
}

// TestSignFollowsProtocolFormula recomputes whole signatures from the
// formulas of the XEdDSA spec as libsignal's signer computes them
// (rust/core/src/curve/curve25519.rs), with the reductions
// modulo L done by math/big. No libsignal vector pins the randomness, so this
// is the only byte-exact check of r = SHA-512(0xFE || 0xFF×31 || k || M || Z).
func TestSignFollowsProtocolFormula(t *testing.T) {
	modL := func(b []byte) *edwards25519.Scalar {
		s, err := edwards25519.NewScalar().SetCanonicalBytes(leInt(new(big.Int).Mod(leBytesToInt(b), scalarL)))
		require.NoError(t, err)
		return s
	}
	for i := range 8 {
		priv, _ := randomKey(t)
		z := random64(t)
		msg := randomBytes(t, 40*i)

		a := modL(priv[:])
		A := new(edwards25519.Point).ScalarBaseMult(a).Bytes()
		prefix := append([]byte{0xfe}, bytes.Repeat([]byte{0xff}, 31)...)
		rh := sha512.Sum512(bytes.Join([][]byte{prefix, priv[:], msg, z[:]}, nil))
		r := modL(rh[:])
		R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()
		hh := sha512.Sum512(bytes.Join([][]byte{R, A, msg}, nil))
		h := modL(hh[:])
		sBig := new(big.Int).Mul(leBytesToInt(h.Bytes()), leBytesToInt(a.Bytes()))
		sBig.Add(sBig, leBytesToInt(r.Bytes()))
		sBig.Mod(sBig, scalarL)
		want := append(R, leInt(sBig)...)
		want[63] |= A[31] & 0x80

		got := xeddsa.Sign(&priv, z, msg)
		assert.Equal(t, want, got[:], "message length %d", len(msg))
	}
}
