package pqxdh_test

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/pqxdh"
)

var kemTypes = []kem.Type{kem.Kyber1024, kem.MLKEM1024}

func genKey(t testing.TB) *keys.PrivateKey {
	t.Helper()
	k, err := keys.GeneratePrivateKey()
	require.NoError(t, err)
	return k
}

func genKEM(t testing.TB, typ kem.Type) *kem.SecretKey {
	t.Helper()
	k, err := kem.GenerateKey(typ)
	require.NoError(t, err)
	return k
}

// bobSide holds Bob's private keys for one test session.
type bobSide struct {
	ik, spk, opk *keys.PrivateKey
	kyber        *kem.SecretKey
}

func newBob(t testing.TB, typ kem.Type, withOPK bool) (bobSide, pqxdh.BobKeys) {
	t.Helper()
	b := bobSide{ik: genKey(t), spk: genKey(t), kyber: genKEM(t, typ)}
	pub := pqxdh.BobKeys{IdentityKey: b.ik.PublicKey(), SignedPreKey: b.spk.PublicKey(), KyberPreKey: b.kyber.PublicKey()}
	if withOPK {
		b.opk = genKey(t)
		pub.OneTimePreKey = b.opk.PublicKey()
	}
	return b, pub
}

func TestAliceAndBobAgree(t *testing.T) {
	for _, typ := range kemTypes {
		for _, withOPK := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/opk=%v", typ, withOPK), func(t *testing.T) {
				for range 3 {
					ikA := genKey(t)
					bob, pub := newBob(t, typ, withOPK)
					sa, msg, err := pqxdh.Initiate(ikA, nil, pub)
					require.NoError(t, err)
					assert.Equal(t, ikA.PublicKey(), msg.IdentityKey)
					require.Len(t, msg.KyberCiphertext, kem.CiphertextSize)
					assert.Equal(t, byte(typ), msg.KyberCiphertext[0])

					sb, err := pqxdh.Respond(bob.ik, bob.spk, bob.opk, bob.kyber, msg)
					require.NoError(t, err)
					assert.Equal(t, sa.RootKey(), sb.RootKey())
					assert.Equal(t, sa.ChainKey(), sb.ChainKey())
					assert.Equal(t, sa.SPQRKey(), sb.SPQRKey())
					assert.NotEqual(t, sa.RootKey(), sa.ChainKey())
					assert.NotEqual(t, sa.ChainKey(), sa.SPQRKey())

					// Another Kyber key of Bob's decapsulates to another
					// secret (implicit rejection), so the keys differ.
					sc, err := pqxdh.Respond(bob.ik, bob.spk, bob.opk, genKEM(t, typ), msg)
					require.NoError(t, err)
					assert.NotEqual(t, sa.RootKey(), sc.RootKey())
				}
			})
		}
	}
}

// TestDerivation checks Initiate and Respond against the KDF applied to the
// DH outputs in the order of PQXDH §3.3 followed by the KEM secret, written
// here with the standard library's HKDF.
func TestDerivation(t *testing.T) {
	for _, typ := range kemTypes {
		t.Run(typ.String(), func(t *testing.T) {
			ikA, ekA := genKey(t), genKey(t)
			bob, pub := newBob(t, typ, true)
			s, msg, err := pqxdh.Initiate(ikA, ekA, pub)
			require.NoError(t, err)
			assert.Equal(t, ekA.PublicKey(), msg.BaseKey)
			ss, err := bob.kyber.Decapsulate(msg.KyberCiphertext)
			require.NoError(t, err)

			ikm := []byte(strings.Repeat("\xff", 32))
			for _, p := range []struct {
				priv *keys.PrivateKey
				pub  keys.PublicKey
			}{{ikA, bob.spk.PublicKey()}, {ekA, bob.ik.PublicKey()}, {ekA, bob.spk.PublicKey()}, {ekA, bob.opk.PublicKey()}} {
				d, err := p.priv.Agree(p.pub)
				require.NoError(t, err)
				ikm = append(ikm, d[:]...)
			}
			ikm = append(ikm, ss[:]...)
			okm, err := hkdf.Key(sha256.New, ikm, nil, "WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024", 96)
			require.NoError(t, err)
			rk, ck, pq := s.RootKey(), s.ChainKey(), s.SPQRKey()
			assert.Equal(t, okm[0:32], rk[:])
			assert.Equal(t, okm[32:64], ck[:])
			assert.Equal(t, okm[64:96], pq[:])
		})
	}
}

func TestNonCanonicalBaseKeyRejected(t *testing.T) {
	ikA, ekA := genKey(t), genKey(t)
	bob, pub := newBob(t, kem.Kyber1024, false)
	_, msg, err := pqxdh.Initiate(ikA, ekA, pub)
	require.NoError(t, err)
	_, err = pqxdh.Respond(bob.ik, bob.spk, nil, bob.kyber, msg)
	require.NoError(t, err)

	u := ekA.PublicKey().U()
	highBit := u
	highBit[31] |= 0x80 // X25519 ignores bit 255, so this key agrees like u
	// The encoding of 9 + p (p = 2^255-19): out of range, same point as 9
	// (curve25519_public_key_range_checks: bytes 1..30 0xFF, byte 31 0x7F).
	var ninePlusP [32]byte
	for i := range ninePlusP {
		ninePlusP[i] = 0xff
	}
	ninePlusP[0], ninePlusP[31] = 0xed+9, 0x7f
	var zero [32]byte // in range, but a point of order 2

	for name, raw := range map[string][32]byte{"high bit": highBit, "9+p": ninePlusP, "order 2": zero} {
		t.Run(name, func(t *testing.T) {
			k, err := keys.NewPublicKey(raw[:])
			require.NoError(t, err)
			m := msg
			m.BaseKey = k
			_, err = pqxdh.Respond(bob.ik, bob.spk, nil, bob.kyber, m)
			require.ErrorIs(t, err, pqxdh.ErrInvalidBaseKey)
		})
	}
}

func TestKEMErrors(t *testing.T) {
	ikA := genKey(t)
	bob, pub := newBob(t, kem.Kyber1024, true)
	_, msg, err := pqxdh.Initiate(ikA, nil, pub)
	require.NoError(t, err)

	respond := func(ct []byte) error {
		m := msg
		m.KyberCiphertext = ct
		_, err := pqxdh.Respond(bob.ik, bob.spk, bob.opk, bob.kyber, m)
		return err
	}
	wrongType := append([]byte{byte(kem.MLKEM1024)}, msg.KyberCiphertext[1:]...)
	require.ErrorIs(t, respond(wrongType), kem.ErrWrongKEMType)
	require.ErrorIs(t, respond(msg.KyberCiphertext[:kem.CiphertextSize-1]), kem.ErrCiphertextLength)
	require.ErrorIs(t, respond(append(append([]byte(nil), msg.KyberCiphertext...), 0)), kem.ErrCiphertextLength)
	require.ErrorIs(t, respond(nil), kem.ErrCiphertextLength)
	unknown := append([]byte{0x07}, msg.KyberCiphertext[1:]...)
	require.ErrorIs(t, respond(unknown), kem.ErrUnknownKeyType)
}

func TestLowOrderKeysRejected(t *testing.T) {
	ikA := genKey(t)
	bob, pub := newBob(t, kem.Kyber1024, true)
	var zero keys.PublicKey
	for _, mutate := range []func(*pqxdh.BobKeys){
		func(k *pqxdh.BobKeys) { k.IdentityKey = zero },
		func(k *pqxdh.BobKeys) { k.SignedPreKey = zero },
		func(k *pqxdh.BobKeys) { k.OneTimePreKey, _ = keys.NewPublicKey(append([]byte{1}, make([]byte, 31)...)) }, // u = 1, order 4
	} {
		p := pub
		mutate(&p)
		_, _, err := pqxdh.Initiate(ikA, nil, p)
		require.ErrorIs(t, err, keys.ErrInvalidKeyAgreement)
	}
	_, msg, err := pqxdh.Initiate(ikA, nil, pub)
	require.NoError(t, err)
	msg.IdentityKey = zero
	_, err = pqxdh.Respond(bob.ik, bob.spk, bob.opk, bob.kyber, msg)
	require.ErrorIs(t, err, keys.ErrInvalidKeyAgreement)
}

func TestMissingKey(t *testing.T) {
	ikA := genKey(t)
	bob, pub := newBob(t, kem.Kyber1024, false)
	_, msg, err := pqxdh.Initiate(ikA, nil, pub)
	require.NoError(t, err)

	noKyber := pub
	noKyber.KyberPreKey = nil
	_, _, err = pqxdh.Initiate(ikA, nil, noKyber)
	require.ErrorIs(t, err, pqxdh.ErrMissingKey)
	_, _, err = pqxdh.Initiate(nil, nil, pub)
	require.ErrorIs(t, err, pqxdh.ErrMissingKey)
	_, err = pqxdh.Respond(bob.ik, bob.spk, nil, nil, msg)
	require.ErrorIs(t, err, pqxdh.ErrMissingKey)
	_, err = pqxdh.Respond(bob.ik, nil, nil, bob.kyber, msg)
	require.ErrorIs(t, err, pqxdh.ErrMissingKey)
	_, err = pqxdh.Respond(nil, bob.spk, nil, bob.kyber, msg)
	require.ErrorIs(t, err, pqxdh.ErrMissingKey)
}

func TestSecretsDoNotPrint(t *testing.T) {
	_, pub := newBob(t, kem.Kyber1024, false)
	s, _, err := pqxdh.Initiate(genKey(t), nil, pub)
	require.NoError(t, err)
	require.NotEqual(t, [32]byte{}, s.SPQRKey())
	for _, verb := range []string{"%v", "%+v", "%#v", "%x", "%X", "%s", "%q", "%d"} {
		for _, v := range []any{s, &s, []any{s}, struct{ S pqxdh.Secrets }{s}} {
			out := fmt.Sprintf(verb, v)
			assert.Contains(t, out, "pqxdh.Secrets{…}", verb)
			rk, ck, pq := s.RootKey(), s.ChainKey(), s.SPQRKey()
			for _, secret := range [][32]byte{rk, ck, pq} {
				assert.NotContains(t, strings.ToLower(out), hex.EncodeToString(secret[:4]), verb)
				assert.NotContains(t, out, strings.Trim(fmt.Sprint(secret[:4]), "[]"), verb)
			}
		}
	}
	s.Clear()
	assert.Equal(t, pqxdh.Secrets{}, s)
}

// preKeyMessage holds the fields of a recorded PreKeySignalMessage that the
// key agreement needs (libsignal rust/protocol/src/proto/wire.proto), parsed here with protowire so the
// test does not depend on the library's own message codec.
type preKeyMessage struct {
	version         byte
	baseKey         []byte // field 2
	identityKey     []byte // field 3
	message         []byte // field 4
	kyberCiphertext []byte // field 8
}

func parsePreKeyMessage(t *testing.T, b []byte) preKeyMessage {
	t.Helper()
	require.NotEmpty(t, b)
	m := preKeyMessage{version: b[0] >> 4}
	b = b[1:]
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		require.GreaterOrEqual(t, n, 0)
		b = b[n:]
		if typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			require.GreaterOrEqual(t, n, 0)
			switch num {
			case 2:
				m.baseKey = v
			case 3:
				m.identityKey = v
			case 4:
				m.message = v
			case 8:
				m.kyberCiphertext = v
			}
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		require.GreaterOrEqual(t, n, 0)
		b = b[n:]
	}
	return m
}

// ratchetKeyOf returns field 1 (ratchet_key) of a serialized SignalMessage:
// version byte || protobuf || 8-byte MAC.
func ratchetKeyOf(t *testing.T, sm []byte) []byte {
	t.Helper()
	require.Greater(t, len(sm), 9)
	b := sm[1 : len(sm)-8]
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		require.GreaterOrEqual(t, n, 0)
		b = b[n:]
		if num == 1 && typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(b)
			return v
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		require.GreaterOrEqual(t, n, 0)
		b = b[n:]
	}
	t.Fatal("no ratchet key")
	return nil
}

// rootKDF is the Double Ratchet root KDF (Double Ratchet spec §5.2; libsignal
// rust/protocol/src/ratchet/keys.rs), written with
// the standard library: HKDF(salt = RK, IKM = dh, "WhisperRatchet", 64).
func rootKDF(t *testing.T, rk [32]byte, dh [32]byte) (newRK, ck [32]byte) {
	t.Helper()
	okm, err := hkdf.Key(sha256.New, dh[:], rk[:], "WhisperRatchet", 64)
	require.NoError(t, err)
	copy(newRK[:], okm[:32])
	copy(ck[:], okm[32:])
	return newRK, ck
}

func chainStep(ck [32]byte) []byte {
	m := hmac.New(sha256.New, ck[:])
	m.Write([]byte{0x02})
	return m.Sum(nil)
}

func parsePriv(t *testing.T, b []byte) *keys.PrivateKey {
	t.Helper()
	k, err := keys.ParsePrivateKey(b)
	require.NoError(t, err)
	return k
}

func parsePub(t *testing.T, b []byte) keys.PublicKey {
	t.Helper()
	k, err := keys.ParsePublicKey(b)
	require.NoError(t, err)
	return k
}

// transcriptBob derives Bob's secrets for the recorded PQXDH session from
// his private keys and Alice's first message.
func transcriptBob(t *testing.T, s *testvectors.TranscriptSession, m preKeyMessage) pqxdh.Secrets {
	t.Helper()
	kyber, err := kem.ParseSecretKey(s.Bob.KyberPreKeyPriv)
	require.NoError(t, err)
	require.Equal(t, kem.Kyber1024, kyber.Type())
	require.Equal(t, []byte(s.Bob.KyberPreKeyPub), kyber.PublicKey().Bytes())
	sec, err := pqxdh.Respond(parsePriv(t, s.Bob.IdentityPriv), parsePriv(t, s.Bob.SignedPreKeyPriv),
		parsePriv(t, s.Bob.PreKeyPriv), kyber, pqxdh.Message{
			IdentityKey:     parsePub(t, m.identityKey),
			BaseKey:         parsePub(t, m.baseKey),
			KyberCiphertext: m.kyberCiphertext,
		})
	require.NoError(t, err)
	return sec
}

// TestLibsignalTranscript replays Bob's side of the PQXDH (Kyber1024)
// session recorded from libsignal 0.72.1 and checks that the derived root and
// chain keys are libsignal's. The transcript does not record them directly
// but records Bob's state after he decrypted the first message: libsignal's
// Bob starts with root RK and sending chain {SPKB, CK}, and on Alice's first
// message (ratchet key A1) performs a DH ratchet step,
//
//	(RK1, CKr) = KDF_RK(RK, DH(SPKB, A1))
//	(RK2, CKs) = KDF_RK(RK1, DH(B1, A1))      B1 = bob_ratchet_keys[0]
//
// then advances CKr once to decrypt message 0. RK2, CKs and CKr+1 must equal
// the recorded state; they depend on RK through HKDF, so any error in the
// DH order, the KEM secret or the KDF shows. CK and the SPQR key are never
// used by this (pre-SPQR) transcript; that they are OKM[32:64] and
// OKM[64:96] of the same HKDF output is checked by TestDerivation.
//
// Alice's side cannot be replayed: her base key's private half and her
// encapsulation randomness were not recorded.
func TestLibsignalTranscript(t *testing.T) {
	tr, err := testvectors.LibsignalV072Transcript()
	require.NoError(t, err)
	s := tr.Session("pqxdh")
	require.NotNil(t, s)
	alice, err := testvectors.LibsignalV072AliceRatchetKeys("pqxdh")
	require.NoError(t, err)
	require.Equal(t, 4, s.MessageVersion)

	m := parsePreKeyMessage(t, s.Messages[0].Ciphertext)
	require.Equal(t, byte(4), m.version)
	require.Len(t, m.kyberCiphertext, kem.CiphertextSize)
	assert.Equal(t, byte(kem.Kyber1024), m.kyberCiphertext[0])
	assert.Equal(t, []byte(s.Alice.IdentityPub), m.identityKey)
	require.NotNil(t, s.Bob.PreKeyID, "the recorded session uses a one-time pre-key")

	sec := transcriptBob(t, s, m)

	spkB := parsePriv(t, s.Bob.SignedPreKeyPriv)
	a1 := parsePub(t, ratchetKeyOf(t, m.message))
	require.Equal(t, []byte(alice.Chain1.Pub), a1.Bytes())
	dh1, err := spkB.Agree(a1)
	require.NoError(t, err)
	rk1, ckr := rootKDF(t, sec.RootKey(), dh1)

	require.NotEmpty(t, s.BobRatchetKeys)
	b1 := parsePriv(t, s.BobRatchetKeys[0].Priv)
	dh2, err := b1.Agree(a1)
	require.NoError(t, err)
	rk2, cks := rootKDF(t, rk1, dh2)

	want := s.BobStateAfterSeq0
	assert.Equal(t, []byte(want.RootKey), rk2[:], "root key after seq 0")
	assert.Equal(t, []byte(want.SenderChain.ChainKey), cks[:], "sender chain key")
	assert.Equal(t, []byte(want.SenderChain.RatchetKey), b1.PublicKey().Bytes())
	require.Equal(t, uint32(1), want.ReceiverChain.ChainKeyIndex)
	assert.Equal(t, []byte(want.ReceiverChain.ChainKey), chainStep(ckr), "receiver chain key, index 1")

	// Alice's view of her first sending chain gives the same chain key.
	dhA, err := parsePriv(t, alice.Chain1.Priv).Agree(spkB.PublicKey())
	require.NoError(t, err)
	_, cka := rootKDF(t, sec.RootKey(), dhA)
	assert.Equal(t, ckr, cka)

	// Every PreKeySignalMessage of the session carries the same base key
	// and ciphertext, so Bob derives the same secrets from any of them.
	for _, msg := range s.Messages {
		if msg.Type != 3 {
			continue
		}
		assert.Equal(t, sec.RootKey(), transcriptBob(t, s, parsePreKeyMessage(t, msg.Ciphertext)).RootKey(), "seq %d", msg.Seq)
	}
}

// TestLibsignalTranscriptWrongKeys checks that the transcript test can fail:
// Bob without his one-time pre-key, or with a corrupted ciphertext (which
// decapsulates to another secret), derives another root key.
func TestLibsignalTranscriptWrongKeys(t *testing.T) {
	tr, err := testvectors.LibsignalV072Transcript()
	require.NoError(t, err)
	s := tr.Session("pqxdh")
	require.NotNil(t, s)
	m := parsePreKeyMessage(t, s.Messages[0].Ciphertext)
	good := transcriptBob(t, s, m)

	bad := m
	bad.kyberCiphertext = append([]byte(nil), m.kyberCiphertext...)
	bad.kyberCiphertext[100] ^= 1
	assert.NotEqual(t, good.RootKey(), transcriptBob(t, s, bad).RootKey())

	kyber, err := kem.ParseSecretKey(s.Bob.KyberPreKeyPriv)
	require.NoError(t, err)
	noOPK, err := pqxdh.Respond(parsePriv(t, s.Bob.IdentityPriv), parsePriv(t, s.Bob.SignedPreKeyPriv), nil, kyber,
		pqxdh.Message{IdentityKey: parsePub(t, m.identityKey), BaseKey: parsePub(t, m.baseKey), KyberCiphertext: m.kyberCiphertext})
	require.NoError(t, err)
	assert.NotEqual(t, good.RootKey(), noOPK.RootKey())
}
