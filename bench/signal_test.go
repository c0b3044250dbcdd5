package bench

import (
	"context"
	"testing"
	"time"

	"github.com/ratchetlab/signal/fingerprint"
	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/session"
)

// sigPeer is a party on this library: a Manager over a MemoryStore, which
// keeps session records decoded (a transaction works on a copy) and
// pre-keys encoded; or, for the Encoded rows, over the same store with its
// sessions in an encodedSessions store.
type sigPeer struct {
	addr     session.Address
	id       *keys.PrivateKey
	regID    uint32
	store    *session.MemoryStore
	sessions session.SessionStore
	m        *session.Manager
}

var signalImpl = impl{
	name: "signal",
	newPeer: func(tb testing.TB, name string) peer {
		return newSigPeer(tb, name, 1)
	},
	connect: func(tb testing.TB, a, b peer) {
		alice, bob := a.(*sigPeer), b.(*sigPeer)
		raw := bob.publish(tb, 1, 100, 0)
		bundle, err := prekey.ParseBundle(raw[0])
		must(tb, err)
		must(tb, alice.m.ProcessBundle(context.Background(), bob.addr, bundle))
		pt := plaintext()
		exchange(tb, alice, bob, pt)
		exchange(tb, bob, alice, pt)
	},
	parseRecord: func(tb testing.TB, b []byte) any {
		r, err := session.ParseRecord(b)
		must(tb, err)
		return r
	},
	encodeRecord: func(tb testing.TB, r any) []byte {
		b, err := r.(*session.Record).MarshalBinary()
		must(tb, err)
		return b
	},
}

func newSigPeer(tb testing.TB, name string, regID uint32) *sigPeer {
	tb.Helper()
	id, err := keys.GeneratePrivateKey()
	must(tb, err)
	st := session.NewMemoryStore(id, regID, session.TrustOnFirstUse)
	// Classical sessions, as go.mau.fi/libsignal runs them; the SPQR rows
	// turn SPQR on explicitly.
	m, err := session.New(st.Stores(), session.WithX3DH(true), session.WithSPQR(false))
	must(tb, err)
	return &sigPeer{addr: session.Address{Name: name, DeviceID: 1}, id: id, regID: regID, store: st, sessions: st, m: m}
}

// publish stores a signed pre-key (id 1), a Kyber-1024 pre-key (id 1) if
// kyber, and n one-time pre-keys from id firstOPK, and returns one bundle
// per one-time pre-key as it arrives from the server (unparsed fields).
// The signed and Kyber pre-keys are generated once per peer.
func (p *sigPeer) publish(tb testing.TB, n int, firstOPK uint32, kyber kem.Type) []prekey.RawBundle {
	tb.Helper()
	ctx := context.Background()
	spk, err := p.store.LoadSignedPreKey(ctx, 1)
	if err != nil {
		spk, err = prekey.GenerateSignedPreKey(p.id, 1, time.Now())
		must(tb, err)
		must(tb, p.store.StoreSignedPreKey(ctx, spk))
	}
	var kpk *prekey.KyberPreKeyRecord
	if kyber != 0 {
		kpk, err = p.store.LoadKyberPreKey(ctx, 1)
		if err != nil {
			kpk, err = prekey.GenerateKyberPreKey(p.id, 1, kyber, time.Now())
			must(tb, err)
			must(tb, p.store.StoreKyberPreKey(ctx, kpk))
		}
	}
	opks, err := prekey.GeneratePreKeys(firstOPK, n)
	must(tb, err)
	out := make([]prekey.RawBundle, n)
	for i, opk := range opks {
		must(tb, p.store.StorePreKey(ctx, opk))
		b, err := prekey.NewBundle(p.regID, p.addr.DeviceID, p.id.PublicKey(), spk, opk, kpk)
		must(tb, err)
		out[i] = b.Raw()
	}
	return out
}

func (p *sigPeer) encrypt(tb testing.TB, to peer, pt []byte) wire {
	ct, err := p.m.Encrypt(context.Background(), to.(*sigPeer).addr, pt)
	must(tb, err)
	return wire{typ: int(ct.Type), bytes: ct.Bytes}
}

func (p *sigPeer) decrypt(tb testing.TB, from peer, w wire) []byte {
	pt, err := p.m.Decrypt(context.Background(), from.(*sigPeer).addr,
		session.Ciphertext{Type: session.MessageType(w.typ), Bytes: w.bytes})
	must(tb, err)
	return pt
}

func (p *sigPeer) record(tb testing.TB, to peer) []byte {
	tb.Helper()
	r, err := p.sessions.LoadSession(context.Background(), to.(*sigPeer).addr)
	must(tb, err)
	if r == nil {
		tb.Fatal("no session")
	}
	b, err := r.MarshalBinary()
	must(tb, err)
	return b
}

// benchSetupSignal measures one session setup, both sides: Alice parses
// Bob's bundle (verifying its signatures), processes it and encrypts a
// 100-byte message; Bob decrypts the PreKey message. Bob's one-time
// pre-keys are generated in batches outside the timer. Both sides then
// delete the session so that records do not grow.
func benchSetupSignal(b *testing.B, kyber kem.Type) {
	ctx := context.Background()
	alice, bob := newSigPeer(b, "alice", 1), newSigPeer(b, "bob", 2)
	pt := plaintext()
	var bundles []prekey.RawBundle
	next := uint32(1)
	m := meter(b)
	defer m.done()
	for b.Loop() {
		if len(bundles) == 0 {
			m.stop()
			bundles = bob.publish(b, 256, next, kyber)
			next += 256
			m.resume()
		}
		setupSignal(ctx, b, alice, bob, bundles[0], pt)
		bundles = bundles[1:]
	}
}

// setupSignal is one session setup: it returns the PreKey message and
// what Bob decrypted.
func setupSignal(ctx context.Context, tb testing.TB, alice, bob *sigPeer, raw prekey.RawBundle, pt []byte) (wire, []byte) {
	bundle, err := prekey.ParseBundle(raw)
	must(tb, err)
	must(tb, alice.m.ProcessBundle(ctx, bob.addr, bundle))
	w := alice.encrypt(tb, bob, pt)
	got := bob.decrypt(tb, alice, w)
	alice.store.DeleteSession(bob.addr)
	bob.store.DeleteSession(alice.addr)
	return w, got
}

// safetyNumberSignal computes the safety number between two identities.
func safetyNumberSignal(tb testing.TB, localID []byte, local keys.PublicKey, remoteID []byte, remote keys.PublicKey) string {
	f, err := fingerprint.New(5200, 2, localID, local, remoteID, remote)
	must(tb, err)
	return f.Displayable()
}
