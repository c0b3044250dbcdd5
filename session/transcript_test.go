package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/ratchet"
	"github.com/ratchetlab/signal/session"
)

// The transcript tests play Bob in the conversations recorded from
// libsignal 0.72.1, through the public API only: Bob's store holds his
// recorded identity and pre-keys, and every Alice message goes through
// Manager.Decrypt.
//
// Alice's messages after the DH ratchet step (seq 7-11) are encrypted to a
// ratchet key libsignal's Bob drew at random when he decrypted seq 0. A
// Manager draws its own, so after seq 0 the test replaces the two fields of
// the stored record that depend on that draw (root_key and sender_chain of
// the SessionStructure of libsignal rust/protocol/src/proto/storage.proto) with the values libsignal's Bob had
// (bob_state_after_seq0). Everything else in the record is ours, and the
// fields that do not depend on the draw are first compared with libsignal's.

// transcriptSessions returns the recorded sessions.
func transcriptSessions(t *testing.T) []testvectors.TranscriptSession {
	t.Helper()
	tr, err := testvectors.LibsignalV072Transcript()
	require.NoError(t, err)
	require.Len(t, tr.Sessions, 2)
	return tr.Sessions
}

// newTranscriptBob returns Bob holding his recorded identity, registration
// id and pre-keys, with libsignal 0.72.1's options.
func newTranscriptBob(t *testing.T, s *testvectors.TranscriptSession) *party {
	t.Helper()
	id := parsePrivateKey(t, s.Bob.IdentityPriv)
	require.Equal(t, []byte(s.Bob.IdentityPub), id.PublicKey().Bytes())
	bob := newParty(t, "bob", s.Bob.RegistrationID, withIdentity(id), withOptions(transcriptOptions(s)...))
	created := time.UnixMilli(int64(s.Bob.SignedPreKeyTimestam))
	spk := prekey.NewSignedPreKeyRecord(s.Bob.SignedPreKeyID, parsePrivateKey(t, s.Bob.SignedPreKeyPriv), s.Bundle.SignedPreKeySignature, created)
	require.NotNil(t, s.Bob.PreKeyID)
	opk := prekey.NewPreKeyRecord(*s.Bob.PreKeyID, parsePrivateKey(t, s.Bob.PreKeyPriv))
	var kpk *prekey.KyberPreKeyRecord
	if s.Bob.KyberPreKeyID != nil {
		sk, err := kem.ParseSecretKey(s.Bob.KyberPreKeyPriv)
		require.NoError(t, err)
		kpk = prekey.NewKyberPreKeyRecord(*s.Bob.KyberPreKeyID, sk, s.Bundle.KyberPreKeySignature, created)
	}
	bob.storePreKeys(t, spk, opk, kpk)

	// The stored pre-keys announce exactly the bundle libsignal's Bob
	// published.
	b, err := prekey.NewBundle(s.Bundle.RegistrationID, s.Bundle.DeviceID, id.PublicKey(), spk, opk, kpk)
	require.NoError(t, err)
	raw := b.Raw()
	assert.Equal(t, []byte(s.Bundle.SignedPreKey), raw.SignedPreKey)
	assert.Equal(t, []byte(s.Bundle.PreKey), raw.PreKey)
	assert.Equal(t, []byte(s.Bundle.KyberPreKey), raw.KyberPreKey)
	return bob
}

// transcriptOptions are the Manager options for a Bob of session s:
// libsignal 0.72.1 is classical, and X3DH only in the x3dh session.
func transcriptOptions(s *testvectors.TranscriptSession) []session.Option {
	return []session.Option{session.WithX3DH(s.Name == "x3dh"), session.WithSPQR(false)}
}

// transcriptAlice returns Alice's recorded address.
func transcriptAlice(s *testvectors.TranscriptSession) session.Address {
	return session.Address{Name: s.Alice.Address.Name, DeviceID: s.Alice.Address.DeviceID}
}

// transcriptCiphertext returns recorded message seq and its plaintext.
func transcriptCiphertext(t *testing.T, s *testvectors.TranscriptSession, seq int) (session.Ciphertext, string) {
	t.Helper()
	m := s.Messages[seq]
	require.Equal(t, seq, m.Seq)
	return session.Ciphertext{Type: session.MessageType(m.Type), Bytes: m.Ciphertext}, string(m.Plaintext)
}

// decryptSeq makes m decrypt Alice's recorded message seq and checks the
// plaintext.
func decryptSeq(t *testing.T, m *session.Manager, s *testvectors.TranscriptSession, seq int) {
	t.Helper()
	require.Equal(t, "alice", s.Messages[seq].From)
	ct, want := transcriptCiphertext(t, s, seq)
	pt, err := m.Decrypt(context.Background(), transcriptAlice(s), ct)
	require.NoError(t, err, "seq %d", seq)
	assert.Equal(t, want, string(pt), "seq %d", seq)
}

// byNumber groups fields by number.
func byNumber(fs []protoField) map[protowire.Number][]protoField {
	m := make(map[protowire.Number][]protoField)
	for _, f := range fs {
		m[f.num] = append(m[f.num], f)
	}
	return m
}

// checkChain compares a Chain message with a recorded libsignal chain.
func checkChain(t *testing.T, b []byte, want testvectors.ChainState, what string) {
	t.Helper()
	c := byNumber(parseProtoFields(t, b))
	require.Len(t, c[1], 1, what)
	assert.Equal(t, []byte(want.RatchetKey), c[1][0].bytes(t), what+": ratchet key")
	require.Len(t, c[3], 1, what)
	ck := byNumber(parseProtoFields(t, c[3][0].bytes(t)))
	index := uint64(0) // proto3 leaves out a zero index
	if len(ck[1]) == 1 {
		index = ck[1][0].varint(t)
	}
	assert.Equal(t, uint64(want.ChainKeyIndex), index, what+": chain key index")
	require.Len(t, ck[2], 1, what)
	assert.Equal(t, []byte(want.ChainKey), ck[2][0].bytes(t), what+": chain key")
}

// withLibsignalDraw checks Bob's stored record right after seq 0 against
// libsignal's (bob_state_after_seq0) and then replaces its root key and
// sending chain, the fields that depend on Bob's random ratchet key, with
// libsignal's.
func withLibsignalDraw(t *testing.T, st *session.MemoryStore, s *testvectors.TranscriptSession) {
	t.Helper()
	addr := transcriptAlice(s)
	rec := byNumber(parseProtoFields(t, loadRecordBytes(t, st, addr)))
	require.Len(t, rec[1], 1, "a current session")
	assert.Empty(t, rec[2], "no archived session")
	fs := parseProtoFields(t, rec[1][0].bytes(t))
	ss := byNumber(fs)

	first, err := ratchet.ParsePreKeyMessage(s.Messages[0].Ciphertext)
	require.NoError(t, err)
	want := s.BobStateAfterSeq0
	assert.Equal(t, uint64(s.MessageVersion), ss[1][0].varint(t), "session_version")
	assert.Equal(t, []byte(s.Bob.IdentityPub), ss[2][0].bytes(t), "local_identity_public")
	assert.Equal(t, []byte(s.Alice.IdentityPub), ss[3][0].bytes(t), "remote_identity_public")
	assert.Equal(t, uint64(s.Alice.RegistrationID), ss[10][0].varint(t), "remote_registration_id")
	assert.Equal(t, uint64(s.Bob.RegistrationID), ss[11][0].varint(t), "local_registration_id")
	assert.Equal(t, first.BaseKey.Bytes(), ss[13][0].bytes(t), "alice_base_key")
	assert.Empty(t, ss[9], "Bob has no pending pre-key")
	require.Len(t, ss[7], 1, "one receiving chain")
	checkChain(t, ss[7][0].bytes(t), want.ReceiverChain, "receiver chain")
	require.Len(t, ss[6], 1, "a sending chain")

	require.Len(t, s.BobRatchetKeys, 1)
	require.Equal(t, s.BobRatchetKeys[0].Pub, want.SenderChain.RatchetKey)
	require.Equal(t, s.BobRatchetKeys[0].Priv, want.SenderChain.RatchetPriv)
	var ck, chain, state []byte
	if want.SenderChain.ChainKeyIndex != 0 {
		ck = protowire.AppendTag(ck, 1, protowire.VarintType)
		ck = protowire.AppendVarint(ck, uint64(want.SenderChain.ChainKeyIndex))
	}
	ck = appendBytesField(ck, 2, want.SenderChain.ChainKey)
	chain = appendBytesField(chain, 1, want.SenderChain.RatchetKey)
	chain = appendBytesField(chain, 2, want.SenderChain.RatchetPriv)
	chain = appendBytesField(chain, 3, ck)
	for _, f := range fs {
		switch f.num {
		case 4: // root_key
			require.Equal(t, protowire.BytesType, f.typ)
			state = appendBytesField(state, f.num, want.RootKey)
		case 6: // sender_chain
			require.Equal(t, protowire.BytesType, f.typ)
			state = appendBytesField(state, f.num, chain)
		default:
			state = f.appendTo(state)
		}
	}
	storeRecordBytes(t, st, addr, appendBytesField(nil, 1, state))
}

// TestTranscriptRecords plays Bob in both recorded sessions, in libsignal's
// order: Alice's five PreKey messages, Bob's two replies (which must match
// libsignal's byte for byte), Alice's five messages after the DH ratchet
// step (here out of order). It then checks what a continued session must
// do: replays are duplicates and change nothing, the record survives an
// export and a reload byte for byte, and Bob goes on sending.
func TestTranscriptRecords(t *testing.T) {
	for _, s := range transcriptSessions(t) {
		t.Run(s.Name, func(t *testing.T) {
			ctx := context.Background()
			bob := newTranscriptBob(t, &s)
			alice := transcriptAlice(&s)

			decryptSeq(t, bob.m, &s, 0)
			assert.Zero(t, bob.store.PreKeyCount(), "the one-time pre-key is removed")
			withLibsignalDraw(t, bob.store, &s)
			for seq := 1; seq <= 4; seq++ {
				decryptSeq(t, bob.m, &s, seq)
			}
			assert.Zero(t, loadRecord(t, bob.store, alice).ArchivedStates(), "later PreKey messages reuse the session")

			for _, seq := range []int{5, 6} {
				rm := s.Messages[seq]
				require.Equal(t, "bob", rm.From)
				ct, err := bob.m.Encrypt(ctx, alice, rm.Plaintext)
				require.NoError(t, err)
				assert.Equal(t, session.MessageType(rm.Type), ct.Type, "seq %d", seq)
				assert.Equal(t, []byte(rm.Ciphertext), ct.Bytes, "seq %d is libsignal's reply byte for byte", seq)
			}

			for _, seq := range []int{9, 11, 7, 10, 8} {
				decryptSeq(t, bob.m, &s, seq)
			}

			// Replays, of either type, are duplicates and change nothing.
			before := loadRecordBytes(t, bob.store, alice)
			require.NotNil(t, before)
			for _, seq := range []int{0, 3, 7, 11} {
				ct, _ := transcriptCiphertext(t, &s, seq)
				_, err := bob.m.Decrypt(ctx, alice, ct)
				require.ErrorIs(t, err, ratchet.ErrDuplicateMessage, "seq %d", seq)
			}
			assert.Equal(t, before, loadRecordBytes(t, bob.store, alice))
			assert.Zero(t, bob.store.PreKeyCount())

			// Export the record, parse it back into a new store: the bytes
			// survive, and the reloaded Bob carries on.
			exported, err := loadRecord(t, bob.store, alice).MarshalBinary()
			require.NoError(t, err)
			assert.Equal(t, before, exported)
			reloaded, err := session.ParseRecord(exported)
			require.NoError(t, err)
			again, err := reloaded.MarshalBinary()
			require.NoError(t, err)
			assert.Equal(t, exported, again, "the record round-trips byte for byte")

			bob2 := newParty(t, "bob", s.Bob.RegistrationID, withIdentity(bob.id), withOptions(transcriptOptions(&s)...))
			require.NoError(t, bob2.store.StoreSession(ctx, alice, reloaded))
			ct, _ := transcriptCiphertext(t, &s, 10)
			_, err = bob2.m.Decrypt(ctx, alice, ct)
			require.ErrorIs(t, err, ratchet.ErrDuplicateMessage, "the reloaded record remembers what was read")

			out, err := bob2.m.Encrypt(ctx, alice, []byte("Bob again, after a reload"))
			require.NoError(t, err)
			assert.Equal(t, session.WhisperType, out.Type)
			assert.Equal(t, s.Messages[5].Ciphertext[0], out.Bytes[0], "same version byte as libsignal's replies")
			msg, err := ratchet.ParseMessage(out.Bytes)
			require.NoError(t, err)
			r1, err := keys.ParsePublicKey(s.BobRatchetKeys[0].Pub)
			require.NoError(t, err)
			// Alice's seq 7-11 came on a new ratchet key, so Bob stepped
			// his ratchet: a new sending chain, started at 0, after the
			// two replies sent on R1. libsignal writes the last counter
			// of the previous chain (old sender index - 1, as libsignal
			// computes it), not the Double Ratchet spec's chain length PN.
			assert.NotEqual(t, r1, msg.RatchetKey, "a new ratchet key")
			assert.Equal(t, uint32(0), msg.Counter)
			assert.Equal(t, uint32(1), msg.PreviousCounter)
		})
	}
}

// transcriptOrders are the delivery orders that libsignal verified for each
// recorded session (its verified_with_libsignal notes): starting from Bob's
// state after seq 0, with one message dropped in three of them, and from a
// fresh Bob.
var transcriptOrders = map[string]struct{ afterSeq0, fresh [][]int }{
	"pqxdh": {
		afterSeq0: [][]int{{1, 9, 3, 8, 2, 11, 10, 4, 7}, {8, 11, 1, 2, 3, 9, 4, 7}, {9, 11, 7, 4, 3, 2, 10, 1}, {1, 8, 9, 2, 10, 3, 7, 4}},
		fresh:     [][]int{{2, 3, 1, 4, 0}, {4, 2, 1, 0, 3}},
	},
	"x3dh": {
		afterSeq0: [][]int{{1, 2, 9, 7, 11, 3, 10, 4, 8}, {3, 11, 10, 4, 2, 8, 7, 1}, {8, 2, 9, 7, 4, 10, 3, 1}, {10, 8, 3, 7, 2, 11, 4, 9}},
		fresh:     [][]int{{2, 3, 0, 4, 1}, {4, 3, 0, 1, 2}},
	},
}

// TestTranscriptOrders replays the delivery orders libsignal verified.
func TestTranscriptOrders(t *testing.T) {
	for _, s := range transcriptSessions(t) {
		orders, ok := transcriptOrders[s.Name]
		require.True(t, ok, s.Name)
		t.Run(s.Name, func(t *testing.T) {
			for _, order := range orders.afterSeq0 {
				bob := newTranscriptBob(t, &s)
				decryptSeq(t, bob.m, &s, 0)
				withLibsignalDraw(t, bob.store, &s)
				for _, seq := range order {
					decryptSeq(t, bob.m, &s, seq)
				}
			}
			for _, order := range orders.fresh {
				bob := newTranscriptBob(t, &s)
				for i, seq := range order {
					decryptSeq(t, bob.m, &s, seq)
					if i == 0 {
						assert.Zero(t, bob.store.PreKeyCount(), "the first PreKey message uses the one-time pre-key")
					}
				}
				assert.Zero(t, loadRecord(t, bob.store, transcriptAlice(&s)).ArchivedStates(), "one session for the five PreKey messages")
			}
		})
	}
}
