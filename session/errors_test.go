package session_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/ratchet"
	"github.com/ratchetlab/signal/session"
)

// A message too far ahead of its chain is ErrTooFarInFuture, for PreKey
// and Whisper messages alike, not ErrDecryption (which a Whisper message
// used to get) and nothing is stored; one step less decrypts.
func TestTooFarInFutureBothTypes(t *testing.T) {
	ctx := context.Background()
	for _, typ := range []session.MessageType{session.PreKeyType, session.WhisperType} {
		t.Run(typ.String(), func(t *testing.T) {
			alice, bob := newPair(t, withOptions(session.WithSPQR(false)))
			alice.startSession(t, bob, pqxdh)
			assert.Equal(t, "one", bob.recv(t, alice, alice.send(t, bob, "one")))
			if typ == session.WhisperType {
				// Alice's next message starts a new chain, at 0.
				assert.Equal(t, "ack", alice.recv(t, bob, bob.send(t, alice, "ack")))
			}
			alice.skipAhead(t, bob, ratchet.MaxForwardJumps)
			ok := alice.send(t, bob, "just within") // counter next+MaxForwardJumps
			far := alice.send(t, bob, "too far")
			require.Equal(t, typ, far.Type)
			before := loadRecordBytes(t, bob.store, alice.addr)
			_, err := bob.m.Decrypt(ctx, alice.addr, far)
			require.ErrorIs(t, err, session.ErrTooFarInFuture)
			require.NotErrorIs(t, err, session.ErrDecryption)
			assert.Equal(t, before, loadRecordBytes(t, bob.store, alice.addr))
			assert.Equal(t, "just within", bob.recv(t, alice, ok))
		})
	}
}

// editState rewrites the current state of an encoded record: fields for
// which edit returns false are dropped, others are kept or replaced.
func editState(t *testing.T, rec []byte, edit func(num protowire.Number, v []byte) ([]byte, bool)) []byte {
	t.Helper()
	var out []byte
	for _, f := range parseProtoFields(t, rec) {
		if f.num != 1 {
			out = f.appendTo(out)
			continue
		}
		var state []byte
		for _, sf := range parseProtoFields(t, f.bytes(t)) {
			if sf.typ != protowire.BytesType {
				state = sf.appendTo(state)
				continue
			}
			if v, keep := edit(sf.num, sf.bytes(t)); keep {
				state = appendBytesField(state, sf.num, v)
			}
		}
		out = appendBytesField(out, 1, state)
	}
	return out
}

// An SPQR state of ours that does not parse is ErrCorruptState (retrying
// cannot help), not ErrDecryption as it used to be. The SPQR state is
// decoded when the record is parsed, so the corruption shows at load.
func TestCorruptSPQRState(t *testing.T) {
	ctx := context.Background()
	alice, bob := newEstablishedPair(t, pqxdh, withOptions(session.WithSPQR(true)))
	b := loadRecordBytes(t, bob.store, alice.addr)
	found := false
	corrupt := editState(t, b, func(num protowire.Number, v []byte) ([]byte, bool) {
		if num == 15 { // pq_ratchet_state
			found = true
			return []byte{0xff, 0xff, 0xff}, true
		}
		return v, true
	})
	require.True(t, found, "the state runs SPQR")
	_, err := session.ParseRecord(corrupt)
	require.ErrorIs(t, err, session.ErrInvalidRecord)
	require.ErrorIs(t, err, ratchet.ErrInvalidState)

	st := bob.store.Stores()
	st.Atomic = nil
	st.Sessions = rawSessions{st.Sessions, corrupt}
	m, err := session.New(st, session.WithSPQR(true))
	require.NoError(t, err)
	ct := alice.send(t, bob, "three")
	_, err = m.Decrypt(ctx, alice.addr, ct)
	require.ErrorIs(t, err, session.ErrCorruptState)
	require.ErrorIs(t, err, ratchet.ErrInvalidState)
	require.NotErrorIs(t, err, session.ErrDecryption)
}

// rawSessions loads every session from the encoding b, as a store keeping
// serialized records does.
type rawSessions struct {
	session.SessionStore
	b []byte
}

func (s rawSessions) LoadSession(context.Context, session.Address) (*session.Record, error) {
	return session.ParseRecord(s.b)
}

// A current state without a sending chain is not a session: Encrypt says
// ErrNoSession (it used to fail inside the ratchet instead).
func TestNoSenderChainIsNoSession(t *testing.T) {
	ctx := context.Background()
	alice, bob := newPair(t)
	alice.startSession(t, bob, pqxdh)
	b := loadRecordBytes(t, alice.store, bob.addr)
	storeRecordBytes(t, alice.store, bob.addr, editState(t, b, func(num protowire.Number, v []byte) ([]byte, bool) {
		return v, num != 6 // drop sender_chain
	}))
	rec := loadRecord(t, alice.store, bob.addr)
	require.True(t, rec.HasCurrentState())
	require.False(t, mustInfo(t, rec).HasSenderChain)
	_, err := alice.m.Encrypt(ctx, bob.addr, []byte("x"))
	require.ErrorIs(t, err, session.ErrNoSession)
}

// An empty record, as libsignal-java writes a fresh one (0a 00: an empty
// current session), or zero bytes, means no session: Encrypt says
// ErrNoSession and a PreKey message starts a session. 0a 00 used to be
// rejected, which blocked the peer for good.
func TestEmptyRecordIsNoSession(t *testing.T) {
	ctx := context.Background()
	for _, raw := range [][]byte{{0x0a, 0x00}, {}} {
		t.Run(hex.EncodeToString(raw), func(t *testing.T) {
			rec, err := session.ParseRecord(raw)
			require.NoError(t, err)
			assert.False(t, rec.HasCurrentState())
			alice, bob := newPair(t)
			storeRecordBytes(t, bob.store, alice.addr, raw)
			_, err = bob.m.Encrypt(ctx, alice.addr, []byte("x"))
			require.ErrorIs(t, err, session.ErrNoSession)
			alice.startSession(t, bob, pqxdh)
			roundTrips(t, alice, bob, 1)
		})
	}
}

// A PreKey message naming a one-time pre-key that is gone says which one.
func TestStalePreKeyID(t *testing.T) {
	ctx := context.Background()
	bob := newParty(t, "bob", 2)
	bundle := bob.bundle(t, pqxdh)
	alice := newParty(t, "alice", 1)
	carol := newParty(t, "carol", 3)
	require.NoError(t, alice.m.ProcessBundle(ctx, bob.addr, bundle))
	require.NoError(t, carol.m.ProcessBundle(ctx, bob.addr, bundle))
	assert.Equal(t, "first", bob.recv(t, alice, alice.send(t, bob, "first")))
	_, err := bob.m.Decrypt(ctx, carol.addr, carol.send(t, bob, "stale"))
	require.ErrorIs(t, err, session.ErrInvalidPreKeyID)
	var pe *session.PreKeyIDError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "one-time", pe.Kind)
	id, _, _ := bundle.PreKey()
	assert.Equal(t, id, pe.ID)
}

// A PreKey message naming a signed or Kyber pre-key we no longer have says
// which one, too.
func TestStaleSignedAndKyberPreKeyID(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []string{"signed", "kyber"} {
		t.Run(kind, func(t *testing.T) {
			bob := newParty(t, "bob", 2)
			bundle := bob.bundle(t, pqxdhNoOPK)
			alice := newParty(t, "alice", 1)
			require.NoError(t, alice.m.ProcessBundle(ctx, bob.addr, bundle))
			// Bob's device after rotating away the named pre-key.
			rotated := newParty(t, "bob", 2, withIdentity(bob.id))
			if kind != "signed" {
				spk, err := bob.store.LoadSignedPreKey(ctx, bundle.SignedPreKeyID())
				require.NoError(t, err)
				rotated.storePreKeys(t, spk, nil, nil)
			}
			kid, _, _ := bundle.KyberPreKey()
			if kind != "kyber" {
				kpk, err := bob.store.LoadKyberPreKey(ctx, kid)
				require.NoError(t, err)
				rotated.storePreKeys(t, nil, nil, kpk)
			}
			_, err := rotated.m.Decrypt(ctx, alice.addr, alice.send(t, bob, "stale"))
			require.ErrorIs(t, err, session.ErrInvalidPreKeyID)
			var pe *session.PreKeyIDError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, kind, pe.Kind)
			want := bundle.SignedPreKeyID()
			if kind == "kyber" {
				want = kid
			}
			assert.Equal(t, want, pe.ID)
		})
	}
}

// An untrusted identity error carries the refused key.
func TestUntrustedIdentityCarriesKey(t *testing.T) {
	ctx := context.Background()
	alice, bob := newPair(t)
	alice.startSession(t, bob, pqxdh)
	assert.Equal(t, "hi", bob.recv(t, alice, alice.send(t, bob, "hi")))
	alice2 := newParty(t, "alice", 1)
	alice2.startSession(t, bob, pqxdh)
	_, err := bob.m.Decrypt(ctx, alice.addr, alice2.send(t, bob, "new phone"))
	var ue *session.UntrustedIdentityError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, alice2.id.PublicKey(), ue.Key)
	// The application accepts the new key and the redelivery decrypts.
	_, err = bob.store.SaveIdentity(ctx, alice.addr, ue.Key)
	require.NoError(t, err)
	assert.Equal(t, "new phone", bob.recv(t, alice2, alice2.send(t, bob, "new phone, again"))[:9])
}

// Every key-agreement failure of a PreKey message matches ErrKeyAgreement
// and its own sentinel.
func TestKeyAgreementErrors(t *testing.T) {
	ctx := context.Background()
	lowOrder := append([]byte{keys.TypeDJB}, make([]byte, 32)...) // u = 0
	for _, c := range []struct {
		name  string
		kyber kem.Type
		field protowire.Number
		value []byte
		want  error
	}{
		{"kyber ciphertext length", kem.Kyber1024, 8, []byte{0x08, 1, 2, 3}, kem.ErrCiphertextLength},
		{"kyber ciphertext type", kem.Kyber1024, 8, append([]byte{0x0a}, make([]byte, kem.CiphertextSize-1)...), kem.ErrWrongKEMType},
		{"pqxdh low-order base key", kem.Kyber1024, 2, lowOrder, nil},
		{"x3dh low-order base key", 0, 2, lowOrder, keys.ErrInvalidKeyAgreement},
	} {
		t.Run(c.name, func(t *testing.T) {
			alice, bob := newPair(t, withOptions(session.WithX3DH(true)))
			alice.startSession(t, bob, bundleKind{opk: true, kyber: c.kyber})
			ct := alice.send(t, bob, "x")
			ct.Bytes = replaceField(t, ct.Bytes, c.field, c.value)
			_, err := bob.m.Decrypt(ctx, alice.addr, ct)
			require.ErrorIs(t, err, session.ErrKeyAgreement)
			if c.want != nil {
				require.ErrorIs(t, err, c.want)
			}
			assert.Equal(t, 1, bob.store.PreKeyCount())
		})
	}
}

// Printing a record or a store with any verb shows no key material.
func TestFormatHidesKeys(t *testing.T) {
	alice, bob := newPair(t)
	alice.startSession(t, bob, pqxdh)
	assert.Equal(t, "hi", bob.recv(t, alice, alice.send(t, bob, "hi")))
	alice.startSession(t, bob, pqxdh)
	rec := loadRecord(t, alice.store, bob.addr)
	require.NotNil(t, rec)
	priv := alice.id.Bytes()
	secrets := []string{
		hex.EncodeToString(priv), fmt.Sprint(priv), fmt.Sprintf("%#v", priv),
		hex.EncodeToString(priv[:8]), strings.Trim(fmt.Sprint(priv[:8]), "[]"),
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{rec, *rec, alice.store, bob.store, alice.store.Stores(), alice.m} {
			out := fmt.Sprintf(verb, v)
			for _, s := range secrets {
				assert.NotContains(t, out, s, verb)
			}
			assert.NotContains(t, out, "[", "%s of %T prints no byte slices: %s", verb, v, out)
		}
		assert.Equal(t, "session.Record(current=true, archived=1)", fmt.Sprintf(verb, rec))
	}
}

// corruptSessions returns a record that does not parse, as a store whose
// data went bad would.
type corruptSessions struct{ session.SessionStore }

func (corruptSessions) LoadSession(context.Context, session.Address) (*session.Record, error) {
	return session.ParseRecord([]byte{0x0a, 0x05, 1, 2})
}

// A stored record that does not parse is our own state gone bad:
// ErrCorruptState, for both message types and for Encrypt.
func TestCorruptStoredRecord(t *testing.T) {
	ctx := context.Background()
	alice, bob := newPair(t)
	alice.startSession(t, bob, pqxdh)
	st := bob.store.Stores()
	st.Atomic = nil
	st.Sessions = corruptSessions{st.Sessions}
	m, err := session.New(st)
	require.NoError(t, err)
	ct := alice.send(t, bob, "x")
	_, err = m.Decrypt(ctx, alice.addr, ct)
	require.ErrorIs(t, err, session.ErrCorruptState)
	require.ErrorIs(t, err, session.ErrInvalidRecord)
	_, err = m.Encrypt(ctx, alice.addr, []byte("y"))
	require.ErrorIs(t, err, session.ErrCorruptState)
	assert.Equal(t, "x", bob.recv(t, alice, ct), "nothing was used up")
}
