package session_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/ratchet"
	"github.com/ratchetlab/signal/session"
)

type party struct {
	addr  session.Address
	store *session.MemoryStore
	m     *session.Manager
	id    *keys.PrivateKey
	regID uint32
}

func newParty(t testing.TB, name string, regID uint32, trust session.TrustPolicy, opts ...session.Option) *party {
	t.Helper()
	id, err := keys.GeneratePrivateKey()
	require.NoError(t, err)
	st := session.NewMemoryStore(id, regID, trust)
	m, err := session.New(st.Stores(), opts...)
	require.NoError(t, err)
	return &party{addr: session.Address{Name: name, DeviceID: 1}, store: st, m: m, id: id, regID: regID}
}

// bundle publishes pre-keys: a signed pre-key, a one-time pre-key (if
// withOPK) and a Kyber pre-key (if kyber is not 0).
func (p *party) bundle(t testing.TB, withOPK bool, kyber kem.Type) *prekey.Bundle {
	t.Helper()
	ctx := context.Background()
	spk, err := prekey.GenerateSignedPreKey(p.id, 22, time.Now())
	require.NoError(t, err)
	require.NoError(t, p.store.StoreSignedPreKey(ctx, spk))
	var opk *prekey.PreKeyRecord
	if withOPK {
		pks, err := prekey.GeneratePreKeys(33, 1)
		require.NoError(t, err)
		opk = pks[0]
		require.NoError(t, p.store.StorePreKey(ctx, opk))
	}
	var kpk *prekey.KyberPreKeyRecord
	if kyber != 0 {
		kpk, err = prekey.GenerateKyberPreKey(p.id, 44, kyber, time.Now())
		require.NoError(t, err)
		require.NoError(t, p.store.StoreKyberPreKey(ctx, kpk))
	}
	b, err := prekey.NewBundle(p.regID, 1, p.id.PublicKey(), spk, opk, kpk)
	require.NoError(t, err)
	return b
}

func (p *party) send(t testing.TB, to *party, msg string) session.Ciphertext {
	t.Helper()
	ct, err := p.m.Encrypt(context.Background(), to.addr, []byte(msg))
	require.NoError(t, err)
	return ct
}

func (p *party) recv(t testing.TB, from *party, ct session.Ciphertext) string {
	t.Helper()
	pt, err := p.m.Decrypt(context.Background(), from.addr, ct)
	require.NoError(t, err)
	return string(pt)
}

func TestConversation(t *testing.T) {
	for _, c := range []struct {
		name  string
		opk   bool
		kyber kem.Type
	}{
		{"PQXDH-Kyber1024", true, kem.Kyber1024},
		{"PQXDH-Kyber1024-noOPK", false, kem.Kyber1024},
		{"PQXDH-MLKEM1024", true, kem.MLKEM1024},
		{"X3DH", true, 0},
		{"X3DH-noOPK", false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			alice := newParty(t, "alice", 1, session.TrustOnFirstUse, session.WithX3DH(true))
			bob := newParty(t, "bob", 2, session.TrustOnFirstUse, session.WithX3DH(true))
			require.NoError(t, alice.m.ProcessBundle(ctx, bob.addr, bob.bundle(t, c.opk, c.kyber)))

			c1 := alice.send(t, bob, "one")
			c2 := alice.send(t, bob, "two")
			assert.Equal(t, session.PreKeyType, c1.Type)
			assert.Equal(t, session.PreKeyType, c2.Type)
			wantVersion := byte(4)
			if c.kyber == 0 {
				wantVersion = 3
			}
			assert.Equal(t, wantVersion, c1.Bytes[0]>>4)

			// Out of order: the second PreKey message first.
			assert.Equal(t, "two", bob.recv(t, alice, c2))
			if c.opk {
				assert.Zero(t, bob.store.PreKeyCount(), "the one-time pre-key is used up")
			}
			assert.Equal(t, "one", bob.recv(t, alice, c1))
			// A replayed PreKey message is a duplicate and consumes nothing.
			_, err := bob.m.Decrypt(ctx, alice.addr, c1)
			require.ErrorIs(t, err, ratchet.ErrDuplicateMessage)

			r1 := bob.send(t, alice, "reply")
			assert.Equal(t, session.WhisperType, r1.Type)
			assert.Equal(t, "reply", alice.recv(t, bob, r1))
			c3 := alice.send(t, bob, "three")
			assert.Equal(t, session.WhisperType, c3.Type, "an answer ends the PreKey stage")
			assert.Equal(t, "three", bob.recv(t, alice, c3))
		})
	}
}

func TestX3DHPolicy(t *testing.T) {
	ctx := context.Background()
	alice := newParty(t, "alice", 1, session.TrustOnFirstUse)
	bob := newParty(t, "bob", 2, session.TrustOnFirstUse, session.WithX3DH(true))
	err := alice.m.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, 0))
	require.ErrorIs(t, err, session.ErrX3DHDisabled)

	// Bob refuses incoming v3 sessions unless enabled.
	alice3 := newParty(t, "alice", 1, session.TrustOnFirstUse, session.WithX3DH(true))
	bob3 := newParty(t, "bob", 2, session.TrustOnFirstUse)
	require.NoError(t, alice3.m.ProcessBundle(ctx, bob3.addr, bob3.bundle(t, true, 0)))
	_, err = bob3.m.Decrypt(ctx, alice3.addr, alice3.send(t, bob3, "hi"))
	require.ErrorIs(t, err, session.ErrX3DHDisabled)
	assert.Equal(t, 1, bob3.store.PreKeyCount(), "nothing consumed")
}

func TestChangedIdentityRejected(t *testing.T) {
	ctx := context.Background()
	alice := newParty(t, "alice", 1, session.TrustOnFirstUse)
	bob := newParty(t, "bob", 2, session.TrustOnFirstUse)
	require.NoError(t, alice.m.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, kem.Kyber1024)))
	assert.Equal(t, "hi", bob.recv(t, alice, alice.send(t, bob, "hi")))

	// Alice reinstalls: new identity, same address.
	alice2 := newParty(t, "alice", 1, session.TrustOnFirstUse)
	require.NoError(t, alice2.m.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, kem.Kyber1024)))
	before, err := bob.store.LoadSession(ctx, alice.addr)
	require.NoError(t, err)
	_, err = bob.m.Decrypt(ctx, alice.addr, alice2.send(t, bob, "it's me"))
	var ue *session.UntrustedIdentityError
	require.ErrorAs(t, err, &ue)
	require.ErrorIs(t, err, session.ErrUntrustedIdentity)
	assert.Equal(t, alice.addr, ue.Address)
	after, err := bob.store.LoadSession(ctx, alice.addr)
	require.NoError(t, err)
	b1, _ := before.MarshalBinary()
	b2, _ := after.MarshalBinary()
	assert.Equal(t, b1, b2)
	assert.Equal(t, 1, bob.store.PreKeyCount())

	// Sending to a peer whose bundle carries a changed identity fails too.
	bob2 := newParty(t, "bob", 2, session.TrustOnFirstUse)
	err = alice.m.ProcessBundle(ctx, bob.addr, bob2.bundle(t, true, kem.Kyber1024))
	require.ErrorIs(t, err, session.ErrUntrustedIdentity)
}

func TestArchivedStatesAndTrialDecryption(t *testing.T) {
	ctx := context.Background()
	alice := newParty(t, "alice", 1, session.TrustOnFirstUse)
	bob := newParty(t, "bob", 2, session.TrustOnFirstUse)
	require.NoError(t, alice.m.ProcessBundle(ctx, bob.addr, bob.bundle(t, false, kem.Kyber1024)))
	assert.Equal(t, "a", bob.recv(t, alice, alice.send(t, bob, "a")))
	assert.Equal(t, "b", alice.recv(t, bob, bob.send(t, alice, "b")))
	old := bob.send(t, alice, "late, old session") // in flight

	// Alice starts a new session (e.g. after a reinstall of the same identity).
	require.NoError(t, alice.m.ProcessBundle(ctx, bob.addr, bob.bundle(t, false, kem.Kyber1024)))
	rec, err := alice.store.LoadSession(ctx, bob.addr)
	require.NoError(t, err)
	assert.Equal(t, 1, rec.ArchivedStates())
	assert.Equal(t, "new", bob.recv(t, alice, alice.send(t, bob, "new")))

	// The late message decrypts on Alice's archived state, which is promoted.
	assert.Equal(t, "late, old session", alice.recv(t, bob, old))
	rec, err = alice.store.LoadSession(ctx, bob.addr)
	require.NoError(t, err)
	assert.Equal(t, 1, rec.ArchivedStates())
	// Bob still has the new session current; Alice now answers from the old
	// one, which Bob holds archived: trial decryption finds it.
	assert.Equal(t, "x", bob.recv(t, alice, alice.send(t, bob, "x")))
}

func TestRecordRoundTripAndLimit(t *testing.T) {
	ctx := context.Background()
	alice := newParty(t, "alice", 1, session.TrustOnFirstUse)
	bob := newParty(t, "bob", 2, session.TrustOnFirstUse)
	for range session.MaxArchivedStates + 5 {
		require.NoError(t, alice.m.ProcessBundle(ctx, bob.addr, bob.bundle(t, false, kem.Kyber1024)))
	}
	rec, err := alice.store.LoadSession(ctx, bob.addr)
	require.NoError(t, err)
	assert.Equal(t, session.MaxArchivedStates, rec.ArchivedStates())
	b, err := rec.MarshalBinary()
	require.NoError(t, err)
	rec2, err := session.ParseRecord(b)
	require.NoError(t, err)
	b2, err := rec2.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, b, b2, "a record round-trips byte for byte")

	_, err = session.ParseRecord([]byte{0x0a, 0x05, 1, 2})
	assert.ErrorIs(t, err, session.ErrInvalidRecord)
}

func TestUnacknowledgedSessionExpires(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	alice := newParty(t, "alice", 1, session.TrustOnFirstUse, session.WithClock(clock))
	bob := newParty(t, "bob", 2, session.TrustOnFirstUse)
	require.NoError(t, alice.m.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, kem.Kyber1024)))
	now = now.Add(session.MaxUnacknowledgedSessionAge - time.Hour)
	alice.send(t, bob, "still fine")
	now = now.Add(2 * time.Hour)
	_, err := alice.m.Encrypt(ctx, bob.addr, []byte("too late"))
	require.ErrorIs(t, err, session.ErrNoSession)
}

func TestReusedBaseKeyRejected(t *testing.T) {
	ctx := context.Background()
	alice := newParty(t, "alice", 1, session.TrustOnFirstUse)
	bob := newParty(t, "bob", 2, session.TrustOnFirstUse)
	require.NoError(t, alice.m.ProcessBundle(ctx, bob.addr, bob.bundle(t, false, kem.Kyber1024)))
	ct := alice.send(t, bob, "hi")
	assert.Equal(t, "hi", bob.recv(t, alice, ct))
	// Bob loses the session (e.g. deleted it); the same PreKey message
	// replayed must not start a second session on the same base key.
	bob.store.DeleteSession(alice.addr)
	_, err := bob.m.Decrypt(ctx, alice.addr, ct)
	require.ErrorIs(t, err, session.ErrReusedBaseKey)
	rec, err := bob.store.LoadSession(ctx, alice.addr)
	require.NoError(t, err)
	assert.Nil(t, rec, "nothing stored")
}

func TestNoSession(t *testing.T) {
	ctx := context.Background()
	alice := newParty(t, "alice", 1, session.TrustOnFirstUse)
	bob := newParty(t, "bob", 2, session.TrustOnFirstUse)
	_, err := alice.m.Encrypt(ctx, bob.addr, []byte("x"))
	require.ErrorIs(t, err, session.ErrNoSession)
	_, err = alice.m.Decrypt(ctx, bob.addr, session.Ciphertext{Type: session.WhisperType, Bytes: []byte{0x44, 1, 2, 3, 4, 5, 6, 7, 8, 9}})
	require.Error(t, err)
	_, err = alice.m.Decrypt(ctx, bob.addr, session.Ciphertext{Type: 9, Bytes: []byte{0x44}})
	require.ErrorIs(t, err, session.ErrUnknownMessageType)
}

func TestConcurrentPeers(t *testing.T) {
	ctx := context.Background()
	bob := newParty(t, "bob", 2, session.TrustOnFirstUse)
	const peers, msgs = 8, 20
	var wg sync.WaitGroup
	b := bob.bundle(t, false, kem.Kyber1024)
	for i := range peers {
		alice := newParty(t, fmt.Sprintf("alice%d", i), uint32(10+i), session.TrustOnFirstUse)
		require.NoError(t, alice.m.ProcessBundle(ctx, bob.addr, b))
		cts := make([]session.Ciphertext, msgs)
		for j := range cts {
			cts[j] = alice.send(t, bob, fmt.Sprint(j))
		}
		// Several goroutines decrypt this peer's messages concurrently:
		// without per-peer serialization updates would be lost.
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := g; j < msgs; j += 4 {
					pt, err := bob.m.Decrypt(ctx, alice.addr, cts[j])
					if assert.NoError(t, err) {
						assert.Equal(t, fmt.Sprint(j), string(pt))
					}
				}
			}()
		}
	}
	wg.Wait()
}

func TestLegacyVersion3Byte(t *testing.T) {
	ctx := context.Background()
	alice := newParty(t, "alice", 1, session.TrustOnFirstUse, session.WithX3DH(true), session.WithLegacyVersion3Byte(true))
	bob := newParty(t, "bob", 2, session.TrustOnFirstUse, session.WithX3DH(true))
	require.NoError(t, alice.m.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, 0)))
	ct := alice.send(t, bob, "hi")
	assert.Equal(t, byte(0x33), ct.Bytes[0])
	assert.Equal(t, "hi", bob.recv(t, alice, ct))
	r := bob.send(t, alice, "default byte")
	assert.Equal(t, byte(0x34), r.Bytes[0])
	assert.Equal(t, "default byte", alice.recv(t, bob, r))
	ct = alice.send(t, bob, "whisper")
	assert.Equal(t, byte(0x33), ct.Bytes[0])
	assert.Equal(t, "whisper", bob.recv(t, alice, ct))
}

func TestSPQRSessions(t *testing.T) {
	ctx := context.Background()
	aliceAddr := session.Address{Name: "a11ce000-0000-4000-8000-00000000a11c", DeviceID: 1}
	bobAddr := session.Address{Name: "b0b00000-0000-4000-8000-000000000b0b", DeviceID: 2}
	for _, c := range []struct {
		name               string
		aliceSPQR, bobSPQR bool
		ok                 bool
	}{
		{"both", true, true, true},
		{"initiator only: the responder follows", true, false, true},
		{"neither: classical", false, false, true},
		{"responder requires SPQR, initiator classical", false, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			alice := newParty(t, aliceAddr.Name, 1, session.TrustOnFirstUse, session.WithSPQR(c.aliceSPQR), session.WithLocalAddress(aliceAddr))
			bob := newParty(t, bobAddr.Name, 2, session.TrustOnFirstUse, session.WithSPQR(c.bobSPQR), session.WithLocalAddress(bobAddr))
			alice.addr, bob.addr = aliceAddr, bobAddr
			require.NoError(t, alice.m.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, kem.Kyber1024)))
			ct := alice.send(t, bob, "first")
			pm, err := ratchet.ParsePreKeyMessage(ct.Bytes)
			require.NoError(t, err)
			assert.Len(t, pm.Message.Addresses, 36, "both names are service ids")
			assert.Equal(t, c.aliceSPQR, len(pm.Message.PQRatchet) > 0)
			pt, err := bob.m.Decrypt(ctx, alice.addr, ct)
			if !c.ok {
				// Not a bad MAC: the sender must start an SPQR session.
				require.ErrorIs(t, err, session.ErrModeMismatch)
				require.NotErrorIs(t, err, session.ErrDecryption)
				assert.Equal(t, 1, bob.store.PreKeyCount(), "nothing consumed")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "first", string(pt))
			for i := range 60 {
				from, to := alice, bob
				if i%2 == 1 {
					from, to = bob, alice
				}
				msg := fmt.Sprint("m", i)
				ct := from.send(t, to, msg)
				if ct.Type == session.WhisperType {
					m, err := ratchet.ParseMessage(ct.Bytes)
					require.NoError(t, err)
					assert.Equal(t, c.aliceSPQR, len(m.PQRatchet) > 0)
					assert.Nil(t, m.Addresses, "only PreKey messages carry addresses")
				}
				assert.Equal(t, msg, to.recv(t, from, ct))
			}
			rec, err := bob.store.LoadSession(ctx, alice.addr)
			require.NoError(t, err)
			assert.Equal(t, c.aliceSPQR, mustInfo(t, rec).SPQR)
		})
	}
}

func TestAddressesChecked(t *testing.T) {
	ctx := context.Background()
	aliceAddr := session.Address{Name: "a11ce000-0000-4000-8000-00000000a11c", DeviceID: 1}
	bobAddr := session.Address{Name: "b0b00000-0000-4000-8000-000000000b0b", DeviceID: 2}
	alice := newParty(t, aliceAddr.Name, 1, session.TrustOnFirstUse, session.WithLocalAddress(aliceAddr))
	alice.addr = aliceAddr
	// Bob believes he is another device: the addresses do not name him.
	wrongBob := newParty(t, bobAddr.Name, 2, session.TrustOnFirstUse, session.WithLocalAddress(session.Address{Name: bobAddr.Name, DeviceID: 3}))
	wrongBob.addr = bobAddr
	require.NoError(t, alice.m.ProcessBundle(ctx, bobAddr, wrongBob.bundle(t, true, kem.Kyber1024)))
	ct := alice.send(t, wrongBob, "hi")
	_, err := wrongBob.m.Decrypt(ctx, aliceAddr, ct)
	require.ErrorIs(t, err, session.ErrDecryption)
	assert.Equal(t, 1, wrongBob.store.PreKeyCount(), "nothing consumed")
	// Without a local address, a message carrying addresses is refused.
	alice2 := newParty(t, aliceAddr.Name, 1, session.TrustOnFirstUse, session.WithLocalAddress(aliceAddr))
	alice2.addr = aliceAddr
	noAddr := newParty(t, bobAddr.Name, 2, session.TrustOnFirstUse)
	noAddr.addr = bobAddr
	require.NoError(t, alice2.m.ProcessBundle(ctx, bobAddr, noAddr.bundle(t, true, kem.Kyber1024)))
	_, err = noAddr.m.Decrypt(ctx, aliceAddr, alice2.send(t, noAddr, "hi"))
	require.ErrorIs(t, err, session.ErrDecryption)
}

func TestNoAddressesInVersion3(t *testing.T) {
	ctx := context.Background()
	aliceAddr := session.Address{Name: "a11ce000-0000-4000-8000-00000000a11c", DeviceID: 1}
	bobAddr := session.Address{Name: "b0b00000-0000-4000-8000-000000000b0b", DeviceID: 1}
	alice := newParty(t, aliceAddr.Name, 1, session.TrustOnFirstUse, session.WithX3DH(true), session.WithLocalAddress(aliceAddr))
	bob := newParty(t, bobAddr.Name, 2, session.TrustOnFirstUse, session.WithX3DH(true), session.WithLocalAddress(bobAddr))
	alice.addr, bob.addr = aliceAddr, bobAddr
	require.NoError(t, alice.m.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, 0)))
	ct := alice.send(t, bob, "v3")
	pm, err := ratchet.ParsePreKeyMessage(ct.Bytes)
	require.NoError(t, err)
	assert.Nil(t, pm.Message.Addresses)
	assert.Equal(t, "v3", bob.recv(t, alice, ct))
}
