package ratchet_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/internal/spqrreplay"
	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/kdf"
	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/ratchet"
)

// transcript103 holds what the replay of the libsignal 0.103.0 transcript
// needs: Bob's keys, the messages, and every random value Bob drew.
type transcript103 struct {
	Sessions []struct {
		Name string `json:"name"`
		Bob  struct {
			RegistrationID   uint32          `json:"registration_id"`
			IdentityPriv     testvectors.Hex `json:"identity_priv"`
			SignedPreKeyPriv testvectors.Hex `json:"signed_prekey_priv"`
			PreKeyPriv       testvectors.Hex `json:"prekey_priv"`
			KyberPreKeyPriv  testvectors.Hex `json:"kyber_prekey_priv"`
		} `json:"bob"`
		Secrets struct {
			DR []struct {
				Priv testvectors.Hex `json:"priv"`
				At   int             `json:"made_when_bob_decrypts_seq"`
			} `json:"dr_ratchet_keys"`
			SPQR []struct {
				Event string          `json:"event"`
				AtSeq int             `json:"at_seq"`
				DK    testvectors.Hex `json:"dk"`
				M     testvectors.Hex `json:"m"`
			} `json:"spqr"`
		} `json:"bob_generated_secrets"`
		Messages []struct {
			Seq        int             `json:"seq"`
			From       string          `json:"from"`
			Type       int             `json:"type"`
			Ciphertext testvectors.Hex `json:"ciphertext"`
			Plaintext  testvectors.Hex `json:"plaintext"`
			BobRecord  testvectors.Hex `json:"bob_record_sha256"`
		} `json:"messages"`
	} `json:"sessions"`
}

// TestLibsignal0103TranscriptAsBob replays both recorded SPQR sessions as
// Bob: every Alice message decrypts, every Bob message is reproduced byte
// for byte, and after every event Bob's session record hashes to what
// libsignal's Bob stored.
func TestLibsignal0103TranscriptAsBob(t *testing.T) {
	raw, err := testvectors.ReadFile("libsignal/libsignal_v0.103_transcript.json")
	require.NoError(t, err)
	var tr transcript103
	require.NoError(t, json.Unmarshal(raw, &tr))
	require.Len(t, tr.Sessions, 2)
	for _, s := range tr.Sessions {
		t.Run(s.Name, func(t *testing.T) {
			priv := func(b []byte) *keys.PrivateKey {
				k, err := keys.ParsePrivateKey(b)
				require.NoError(t, err)
				return k
			}
			first, err := ratchet.ParsePreKeyMessage(s.Messages[0].Ciphertext)
			require.NoError(t, err)
			ik, spk := priv(s.Bob.IdentityPriv), priv(s.Bob.SignedPreKeyPriv)
			dh := func(k *keys.PrivateKey, p keys.PublicKey) []byte {
				out, err := k.Agree(p)
				require.NoError(t, err)
				return out[:]
			}
			secrets := [][]byte{dh(spk, first.IdentityKey), dh(ik, first.BaseKey), dh(spk, first.BaseKey)}
			if first.HasPreKeyID {
				secrets = append(secrets, dh(priv(s.Bob.PreKeyPriv), first.BaseKey))
			}
			ksk, err := kem.ParseSecretKey(s.Bob.KyberPreKeyPriv)
			require.NoError(t, err)
			ss, err := ksk.Decapsulate(first.KyberCiphertext)
			require.NoError(t, err)
			root, chain, pqr := kdf.PQXDH(append(secrets, ss[:])...)
			bob, err := ratchet.NewBob(&ratchet.BobParams{
				Version: ratchet.VersionPQXDH, LocalIdentity: ik.PublicKey(), RemoteIdentity: first.IdentityKey,
				RootKey: root, ChainKey: chain, OurRatchetKey: spk, TheirBaseKey: first.BaseKey,
				LocalRegistrationID: s.Bob.RegistrationID, RemoteRegistrationID: first.RegistrationID,
				SPQRKey: &pqr,
			})
			require.NoError(t, err)

			// Inject Bob's recorded randomness: DR ratchet keys in order,
			// and the SPQR draws (key generation dk, encapsulation m).
			var seq, nextDR int
			ratchet.SetKeyGenerator(bob, func() (*keys.PrivateKey, error) {
				if nextDR >= len(s.Secrets.DR) {
					return nil, fmt.Errorf("test: no recorded DR key left at seq %d", seq)
				}
				k := s.Secrets.DR[nextDR]
				nextDR++
				if k.At != seq {
					return nil, fmt.Errorf("test: DR key %d drawn at seq %d, recorded at %d", nextDR-1, seq, k.At)
				}
				return keys.ParsePrivateKey(k.Priv)
			})
			ratchet.SetPQSend(bob, func(st []byte) ([]byte, *[32]byte, []byte, error) {
				var dk, m []byte
				for _, e := range s.Secrets.SPQR {
					if e.AtSeq == seq {
						dk, m = e.DK, e.M
					}
				}
				return spqrreplay.Send(st, dk, m)
			})

			var decrypted, reproduced, records int
			for _, msg := range s.Messages {
				seq = msg.Seq
				if msg.From == "alice" {
					m, err := parseAny(t, ratchet.MessageType(msg.Type), msg.Ciphertext)
					require.NoError(t, err, "seq %d", seq)
					pt, err := bob.Decrypt(nil, &m)
					require.NoError(t, err, "seq %d", seq)
					require.Equal(t, []byte(msg.Plaintext), pt, "seq %d", seq)
					decrypted++
				} else {
					ct, typ, err := bob.Encrypt(nil, msg.Plaintext)
					require.NoError(t, err, "seq %d", seq)
					require.Equal(t, ratchet.MessageType(msg.Type), typ)
					require.Equal(t, []byte(msg.Ciphertext), ct, "Bob's seq %d byte for byte", seq)
					reproduced++
				}
				if msg.BobRecord != nil {
					// libsignal's Bob stores a RecordStructure holding only
					// this state.
					st := encode(t, bob)
					rec := protowire.AppendTag(nil, 1, protowire.BytesType)
					rec = protowire.AppendBytes(rec, st)
					sum := sha256.Sum256(rec)
					assert.Equal(t, []byte(msg.BobRecord), sum[:], "Bob's record after seq %d", seq)
					records++
				}
			}
			assert.Equal(t, len(s.Secrets.DR), nextDR, "every recorded DR key used")
			assert.Equal(t, len(s.Messages), records, "a record hash after every event")
			t.Logf("%s: %d Alice messages decrypted, %d Bob messages reproduced byte for byte, %d records equal to libsignal's",
				s.Name, decrypted, reproduced, records)
		})
	}
}
