package ratchet_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/kdf"
	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/ratchet"
)

// bobFromTranscript builds Bob's state from the first PreKeySignalMessage
// of a recorded libsignal session, with Bob's recorded private keys. The
// key agreement is written out here (not taken from package x3dh/pqxdh) so
// that this test checks the ratchet against libsignal on its own.
func bobFromTranscript(t *testing.T, s *testvectors.TranscriptSession, first []byte) *ratchet.State {
	t.Helper()
	pm, err := ratchet.ParsePreKeyMessage(first)
	require.NoError(t, err)
	priv := func(b []byte) *keys.PrivateKey {
		k, err := keys.ParsePrivateKey(b)
		require.NoError(t, err)
		return k
	}
	ik, spk, opk := priv(s.Bob.IdentityPriv), priv(s.Bob.SignedPreKeyPriv), priv(s.Bob.PreKeyPriv)
	dh := func(k *keys.PrivateKey, p keys.PublicKey) []byte {
		out, err := k.Agree(p)
		require.NoError(t, err)
		return out[:]
	}
	require.True(t, pm.HasPreKeyID)
	require.Equal(t, *s.Bob.PreKeyID, pm.PreKeyID)
	require.Equal(t, s.Bob.SignedPreKeyID, pm.SignedPreKeyID)
	secrets := [][]byte{
		dh(spk, pm.IdentityKey), // DH1 = DH(IK_A, SPK_B)
		dh(ik, pm.BaseKey),      // DH2 = DH(EK_A, IK_B)
		dh(spk, pm.BaseKey),     // DH3 = DH(EK_A, SPK_B)
		dh(opk, pm.BaseKey),     // DH4 = DH(EK_A, OPK_B)
	}
	var root, chain [32]byte
	if pm.Version == ratchet.VersionPQXDH {
		require.True(t, pm.HasKyber())
		sk, err := kem.ParseSecretKey(s.Bob.KyberPreKeyPriv)
		require.NoError(t, err)
		ss, err := sk.Decapsulate(pm.KyberCiphertext)
		require.NoError(t, err)
		root, chain, _ = kdf.PQXDH(append(secrets, ss[:])...)
	} else {
		require.False(t, pm.HasKyber())
		root, chain = kdf.X3DH(secrets...)
	}
	bob, err := ratchet.NewBob(&ratchet.BobParams{
		Version: pm.Version, LocalIdentity: ik.PublicKey(), RemoteIdentity: pm.IdentityKey,
		RootKey: root, ChainKey: chain, OurRatchetKey: spk, TheirBaseKey: pm.BaseKey,
		LocalRegistrationID: s.Bob.RegistrationID, RemoteRegistrationID: pm.RegistrationID,
	})
	require.NoError(t, err)
	require.Len(t, s.BobRatchetKeys, 1)
	next := priv(s.BobRatchetKeys[0].Priv)
	// libsignal's Bob drew this key at his first DH ratchet step; later
	// steps (on seq 7-11) draw keys that no recorded message depends on.
	used := false
	ratchet.SetKeyGenerator(bob, func() (*keys.PrivateKey, error) {
		if used {
			return keys.GeneratePrivateKey()
		}
		used = true
		return next, nil
	})
	return bob
}

func decryptRecorded(t *testing.T, bob *ratchet.State, m testvectors.TranscriptMessage) {
	t.Helper()
	msg, err := parseAny(t, ratchet.MessageType(m.Type), m.Ciphertext)
	require.NoError(t, err, "seq %d", m.Seq)
	pt, err := bob.Decrypt(nil, &msg)
	require.NoError(t, err, "seq %d", m.Seq)
	assert.Equal(t, m.Plaintext, testvectors.Hex(pt), "seq %d", m.Seq)
}

func TestLibsignalTranscriptInOrder(t *testing.T) {
	tr, err := testvectors.LibsignalV072Transcript()
	require.NoError(t, err)
	for _, name := range []string{"pqxdh", "x3dh"} {
		t.Run(name, func(t *testing.T) {
			s := tr.Session(name)
			require.NotNil(t, s)
			bob := bobFromTranscript(t, s, s.Messages[0].Ciphertext)
			var replies int
			for _, m := range s.Messages {
				if m.From == "alice" {
					decryptRecorded(t, bob, m)
					if m.Seq == 0 {
						// libsignal's Bob state after seq 0, recorded.
						st := s.BobStateAfterSeq0
						assert.Equal(t, st.SenderChain.RatchetKey, testvectors.Hex(bob.SenderRatchetKey().Bytes()))
					}
					continue
				}
				// Bob's replies are deterministic given his ratchet key.
				ct, typ, err := bob.Encrypt(nil, m.Plaintext)
				require.NoError(t, err)
				assert.Equal(t, ratchet.MessageType(m.Type), typ)
				assert.Equal(t, m.Ciphertext, testvectors.Hex(ct), "Bob's reply seq %d byte for byte", m.Seq)
				replies++
			}
			assert.Equal(t, 2, replies)
		})
	}
}

func TestLibsignalTranscriptRandomOrders(t *testing.T) {
	tr, err := testvectors.LibsignalV072Transcript()
	require.NoError(t, err)
	orders := 100
	if testing.Short() || raceEnabled {
		orders = 20
	}
	for _, name := range []string{"pqxdh", "x3dh"} {
		s := tr.Session(name)
		require.NotNil(t, s)
		var fromAlice []testvectors.TranscriptMessage
		for _, m := range s.Messages {
			if m.From == "alice" {
				fromAlice = append(fromAlice, m)
			}
		}
		for seed := range uint64(orders) {
			r := rand.New(rand.NewPCG(seed, 72))
			// A PreKey message (seq 0-4) must come first.
			firstIdx := r.IntN(5)
			rest := make([]testvectors.TranscriptMessage, 0, len(fromAlice)-1)
			for i, m := range fromAlice {
				if i != firstIdx {
					rest = append(rest, m)
				}
			}
			r.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
			first := fromAlice[firstIdx]
			bob := bobFromTranscript(t, s, first.Ciphertext)
			decryptRecorded(t, bob, first)
			for _, m := range rest {
				decryptRecorded(t, bob, m)
			}
			// Every message again: all duplicates now.
			for _, m := range fromAlice {
				msg, err := parseAny(t, ratchet.MessageType(m.Type), m.Ciphertext)
				require.NoError(t, err)
				_, err = bob.Decrypt(nil, &msg)
				require.ErrorIs(t, err, ratchet.ErrDuplicateMessage, "%s seed %d seq %d", name, seed, m.Seq)
			}
		}
	}
}
