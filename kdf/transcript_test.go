package kdf_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hmac"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/kdf"
)

// protoFields returns the last value of each length-delimited or varint
// field of a protobuf message (enough for the Signal wire messages).
func protoFields(t *testing.T, b []byte) (bytesFields map[protowire.Number][]byte, varints map[protowire.Number]uint64) {
	t.Helper()
	bytesFields = map[protowire.Number][]byte{}
	varints = map[protowire.Number]uint64{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		require.GreaterOrEqual(t, n, 0, "bad tag")
		b = b[n:]
		switch typ {
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			require.GreaterOrEqual(t, n, 0, "bad bytes field %d", num)
			bytesFields[num] = v
			b = b[n:]
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			require.GreaterOrEqual(t, n, 0, "bad varint field %d", num)
			varints[num] = v
			b = b[n:]
		default:
			t.Fatalf("unexpected wire type %d for field %d", typ, num)
		}
	}
	return bytesFields, varints
}

func x25519(t *testing.T, priv, pub []byte) []byte {
	t.Helper()
	require.Len(t, pub, 33)
	require.Equal(t, byte(0x05), pub[0])
	sk, err := ecdh.X25519().NewPrivateKey(priv)
	require.NoError(t, err)
	pk, err := ecdh.X25519().NewPublicKey(pub[1:])
	require.NoError(t, err)
	ss, err := sk.ECDH(pk)
	require.NoError(t, err)
	return ss
}

// TestLibsignalTranscript replays, as Bob, the key schedule of a
// conversation recorded from libsignal 0.72.1 (before SPQR): X3DH,
// both root-KDF steps of Bob's first DH ratchet step, the chain steps and
// message keys of Alice's five PreKeySignalMessages. It checks the root and
// chain keys libsignal recorded in Bob's session state, each message's
// 8-byte MAC, and each decrypted body against the recorded plaintext. The
// body is decrypted with the standard library, independently of
// internal/cbc.
func TestLibsignalTranscript(t *testing.T) {
	tr, err := testvectors.LibsignalV072Transcript()
	require.NoError(t, err)
	// Only the X3DH session: the PQXDH one needs Kyber1024 (round 3)
	// decapsulation, which this module cannot build yet (circl's kyber1024
	// needs golang.org/x/sys, absent from go.sum).
	for _, name := range []string{"x3dh"} {
		t.Run(name, func(t *testing.T) {
			s := tr.Session(name)
			require.NotNil(t, s)
			bob, alice := s.Bob, s.Alice
			var aliceRatchet []byte
			var chainR [32]byte // Bob's receiving chain for Alice's first chain
			for _, m := range s.Messages {
				if m.From != "alice" || m.Type != 3 {
					continue
				}
				require.Equal(t, byte(s.MessageVersion<<4|4), m.Ciphertext[0])
				pre, preV := protoFields(t, m.Ciphertext[1:])
				baseKey := pre[2]
				assert.Equal(t, []byte(alice.IdentityPub), pre[3], "sender identity")
				inner := pre[4]
				require.Greater(t, len(inner), 9)
				sig, sigV := protoFields(t, inner[1:len(inner)-8])

				if aliceRatchet == nil {
					// Bob's side of X3DH / PQXDH (PQXDH spec; libsignal rust/protocol/src/ratchet.rs).
					secrets := [][]byte{
						x25519(t, bob.SignedPreKeyPriv, alice.IdentityPub),
						x25519(t, bob.IdentityPriv, baseKey),
						x25519(t, bob.SignedPreKeyPriv, baseKey),
					}
					if _, ok := preV[1]; ok {
						secrets = append(secrets, x25519(t, bob.PreKeyPriv, baseKey))
					}
					rk, _ := kdf.X3DH(secrets...) // Bob's initial sending chain is replaced below.

					// Bob's DH ratchet step on Alice's first ratchet key
					// (Double Ratchet spec, DHRatchet).
					aliceRatchet = sig[1]
					dh1 := [32]byte(x25519(t, bob.SignedPreKeyPriv, aliceRatchet))
					rk1, ckr := kdf.RootStep(&rk, &dh1)
					require.Len(t, s.BobRatchetKeys, 1)
					dh2 := [32]byte(x25519(t, s.BobRatchetKeys[0].Priv, aliceRatchet))
					rk2, cks := kdf.RootStep(&rk1, &dh2)

					st := s.BobStateAfterSeq0
					assert.Equal(t, []byte(st.RootKey), rk2[:], "root key after seq 0")
					assert.Equal(t, []byte(st.SenderChain.ChainKey), cks[:], "sender chain key")
					assert.Equal(t, []byte(s.BobRatchetKeys[0].Pub), []byte(st.SenderChain.RatchetKey))
					require.Equal(t, uint32(1), st.ReceiverChain.ChainKeyIndex)
					_, next := kdf.ChainStep(&ckr)
					assert.Equal(t, []byte(st.ReceiverChain.ChainKey), next[:], "receiver chain key at index 1")
					chainR = ckr
				}
				require.Equal(t, aliceRatchet, sig[1], "seq %d: same sending chain", m.Seq)

				// Walk the receiving chain to the message's counter.
				ck := chainR
				var seed [32]byte
				for range sigV[2] + 1 {
					seed, ck = kdf.ChainStep(&ck)
				}
				mk := kdf.DeriveMessageKeys(&seed, nil)

				macInput := concat(alice.IdentityPub, bob.IdentityPub, inner[:len(inner)-8])
				tag := kdf.HMAC(mk.MACKey[:], macInput)
				assert.True(t, hmac.Equal(tag[:8], inner[len(inner)-8:]), "seq %d: MAC", m.Seq)

				body := sig[4]
				require.NotEmpty(t, body)
				require.Zero(t, len(body)%aes.BlockSize)
				block, err := aes.NewCipher(mk.CipherKey[:])
				require.NoError(t, err)
				pt := make([]byte, len(body))
				cipher.NewCBCDecrypter(block, mk.IV[:]).CryptBlocks(pt, body)
				pad := int(pt[len(pt)-1])
				require.True(t, pad >= 1 && pad <= 16, "seq %d: padding", m.Seq)
				assert.Equal(t, []byte(m.Plaintext), pt[:len(pt)-pad], "seq %d: plaintext", m.Seq)
			}
			require.NotNil(t, aliceRatchet, "no PreKeySignalMessage in transcript")
		})
	}
}
