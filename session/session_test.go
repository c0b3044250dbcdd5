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
	"github.com/ratchetlab/signal/ratchet"
	"github.com/ratchetlab/signal/session"
)

func TestConversation(t *testing.T) {
	for _, c := range []struct {
		name   string
		bundle bundleKind
	}{
		{"PQXDH-Kyber1024", pqxdh},
		{"PQXDH-Kyber1024-noOPK", pqxdhNoOPK},
		{"PQXDH-MLKEM1024", bundleKind{opk: true, kyber: kem.MLKEM1024}},
		{"X3DH", x3dh},
		{"X3DH-noOPK", bundleKind{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			alice, bob := newPair(t, withOptions(session.WithX3DH(true)))
			alice.startSession(t, bob, c.bundle)

			c1 := alice.send(t, bob, "one")
			c2 := alice.send(t, bob, "two")
			assert.Equal(t, session.PreKeyType, c1.Type)
			assert.Equal(t, session.PreKeyType, c2.Type)
			wantVersion := byte(4)
			if c.bundle.kyber == 0 {
				wantVersion = 3
			}
			assert.Equal(t, wantVersion, c1.Bytes[0]>>4)

			// Out of order: the second PreKey message first.
			assert.Equal(t, "two", bob.recv(t, alice, c2))
			if c.bundle.opk {
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
	alice := newParty(t, "alice", 1)
	bob := newParty(t, "bob", 2, withOptions(session.WithX3DH(true)))
	err := alice.m.ProcessBundle(ctx, bob.addr, bob.bundle(t, x3dh))
	require.ErrorIs(t, err, session.ErrX3DHDisabled)

	// Bob refuses incoming v3 sessions unless enabled.
	alice3 := newParty(t, "alice", 1, withOptions(session.WithX3DH(true)))
	bob3 := newParty(t, "bob", 2)
	alice3.startSession(t, bob3, x3dh)
	_, err = bob3.m.Decrypt(ctx, alice3.addr, alice3.send(t, bob3, "hi"))
	require.ErrorIs(t, err, session.ErrX3DHDisabled)
	assert.Equal(t, 1, bob3.store.PreKeyCount(), "nothing consumed")
}

func TestChangedIdentityRejected(t *testing.T) {
	ctx := context.Background()
	alice, bob := newPair(t)
	alice.startSession(t, bob, pqxdh)
	assert.Equal(t, "hi", bob.recv(t, alice, alice.send(t, bob, "hi")))

	// Alice reinstalls: new identity, same address.
	alice2 := newParty(t, "alice", 1)
	alice2.startSession(t, bob, pqxdh)
	before := loadRecordBytes(t, bob.store, alice.addr)
	_, err := bob.m.Decrypt(ctx, alice.addr, alice2.send(t, bob, "it's me"))
	var ue *session.UntrustedIdentityError
	require.ErrorAs(t, err, &ue)
	require.ErrorIs(t, err, session.ErrUntrustedIdentity)
	assert.Equal(t, alice.addr, ue.Address)
	assert.Equal(t, before, loadRecordBytes(t, bob.store, alice.addr))
	assert.Equal(t, 1, bob.store.PreKeyCount())

	// Sending to a peer whose bundle carries a changed identity fails too.
	bob2 := newParty(t, "bob", 2)
	err = alice.m.ProcessBundle(ctx, bob.addr, bob2.bundle(t, pqxdh))
	require.ErrorIs(t, err, session.ErrUntrustedIdentity)
}

func TestArchivedStatesAndTrialDecryption(t *testing.T) {
	alice, bob := newEstablishedPair(t, pqxdhNoOPK)
	old := bob.send(t, alice, "late, old session") // in flight

	// Alice starts a new session (e.g. after a reinstall of the same identity).
	alice.startSession(t, bob, pqxdhNoOPK)
	assert.Equal(t, 1, loadRecord(t, alice.store, bob.addr).ArchivedStates())
	assert.Equal(t, "new", bob.recv(t, alice, alice.send(t, bob, "new")))

	// The late message decrypts on Alice's archived state, which is promoted.
	assert.Equal(t, "late, old session", alice.recv(t, bob, old))
	assert.Equal(t, 1, loadRecord(t, alice.store, bob.addr).ArchivedStates())
	// Bob still has the new session current; Alice now answers from the old
	// one, which Bob holds archived: trial decryption finds it.
	assert.Equal(t, "x", bob.recv(t, alice, alice.send(t, bob, "x")))
}

func TestRecordRoundTripAndLimit(t *testing.T) {
	alice, bob := newPair(t)
	for range session.MaxArchivedStates + 5 {
		alice.startSession(t, bob, pqxdhNoOPK)
	}
	rec := loadRecord(t, alice.store, bob.addr)
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
	alice := newParty(t, "alice", 1, withOptions(session.WithClock(clock)))
	bob := newParty(t, "bob", 2)
	alice.startSession(t, bob, pqxdh)
	now = now.Add(session.MaxUnacknowledgedSessionAge - time.Hour)
	alice.send(t, bob, "still fine")
	now = now.Add(2 * time.Hour)
	_, err := alice.m.Encrypt(ctx, bob.addr, []byte("too late"))
	require.ErrorIs(t, err, session.ErrNoSession)
}

func TestReusedBaseKeyRejected(t *testing.T) {
	ctx := context.Background()
	alice, bob := newPair(t)
	alice.startSession(t, bob, pqxdhNoOPK)
	ct := alice.send(t, bob, "hi")
	assert.Equal(t, "hi", bob.recv(t, alice, ct))
	// Bob loses the session (e.g. deleted it); the same PreKey message
	// replayed must not start a second session on the same base key.
	bob.store.DeleteSession(alice.addr)
	_, err := bob.m.Decrypt(ctx, alice.addr, ct)
	require.ErrorIs(t, err, session.ErrReusedBaseKey)
	assert.Nil(t, loadRecord(t, bob.store, alice.addr), "nothing stored")
}

func TestNoSession(t *testing.T) {
	ctx := context.Background()
	alice, bob := newPair(t)
	_, err := alice.m.Encrypt(ctx, bob.addr, []byte("x"))
	require.ErrorIs(t, err, session.ErrNoSession)
	_, err = alice.m.Decrypt(ctx, bob.addr, forgedWhisper(t, 0))
	require.ErrorIs(t, err, session.ErrNoSession)
	_, err = alice.m.Decrypt(ctx, bob.addr, session.Ciphertext{Type: session.WhisperType, Bytes: []byte{0x44, 1, 2, 3, 4, 5, 6, 7, 8, 9}})
	require.ErrorIs(t, err, session.ErrMalformedMessage)
	_, err = alice.m.Decrypt(ctx, bob.addr, session.Ciphertext{Type: 9, Bytes: []byte{0x44}})
	require.ErrorIs(t, err, session.ErrUnknownMessageType)
}

func TestConcurrentPeers(t *testing.T) {
	ctx := context.Background()
	bob := newParty(t, "bob", 2)
	const peers, msgs = 8, 20
	var wg sync.WaitGroup
	b := bob.bundle(t, pqxdhNoOPK)
	for i := range peers {
		alice := newParty(t, fmt.Sprintf("alice%d", i), uint32(10+i))
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
	alice := newParty(t, "alice", 1, withOptions(session.WithX3DH(true), session.WithLegacyVersion3Byte(true)))
	bob := newParty(t, "bob", 2, withOptions(session.WithX3DH(true)))
	alice.startSession(t, bob, x3dh)
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
			alice := newParty(t, aliceACI, 1, withOwnAddress(), withOptions(session.WithSPQR(c.aliceSPQR)))
			bob := newParty(t, bobACI, 2, withDevice(2), withOwnAddress(), withOptions(session.WithSPQR(c.bobSPQR)))
			alice.startSession(t, bob, pqxdh)
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
			assert.Equal(t, c.aliceSPQR, mustInfo(t, loadRecord(t, bob.store, alice.addr)).SPQR)
		})
	}
}

func TestAddressesChecked(t *testing.T) {
	ctx := context.Background()
	alice := newParty(t, aliceACI, 1, withOwnAddress())
	// Bob believes he is another device: the addresses do not name him.
	wrongBob := newParty(t, bobACI, 2, withDevice(2), withOptions(session.WithLocalAddress(session.Address{Name: bobACI, DeviceID: 3})))
	alice.startSession(t, wrongBob, pqxdh)
	ct := alice.send(t, wrongBob, "hi")
	_, err := wrongBob.m.Decrypt(ctx, alice.addr, ct)
	require.ErrorIs(t, err, session.ErrDecryption)
	assert.Equal(t, 1, wrongBob.store.PreKeyCount(), "nothing consumed")
	// Without a local address, a message carrying addresses is refused.
	alice2 := newParty(t, aliceACI, 1, withOwnAddress())
	noAddr := newParty(t, bobACI, 2, withDevice(2))
	alice2.startSession(t, noAddr, pqxdh)
	_, err = noAddr.m.Decrypt(ctx, alice2.addr, alice2.send(t, noAddr, "hi"))
	require.ErrorIs(t, err, session.ErrDecryption)
}

func TestNoAddressesInVersion3(t *testing.T) {
	alice := newParty(t, aliceACI, 1, withOwnAddress(), withOptions(session.WithX3DH(true)))
	bob := newParty(t, bobACI, 2, withOwnAddress(), withOptions(session.WithX3DH(true)))
	alice.startSession(t, bob, x3dh)
	ct := alice.send(t, bob, "v3")
	pm, err := ratchet.ParsePreKeyMessage(ct.Bytes)
	require.NoError(t, err)
	assert.Nil(t, pm.Message.Addresses)
	assert.Equal(t, "v3", bob.recv(t, alice, ct))
}
