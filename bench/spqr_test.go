package bench

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/ratchet"
	"github.com/ratchetlab/signal/session"
)

// spqrImpl is this library as current Signal runs it: PQXDH sessions (a
// Kyber-1024 pre-key in the bundle) with the post-quantum ratchet SPQR on
// both sides, so that every message carries SPQR data and derives its keys
// with SPQR's. go.mau.fi/libsignal has neither, so these rows have no mau
// column; compare them with the classical rows of the same run.
var spqrImpl = impl{
	name: "signal",
	newPeer: func(tb testing.TB, name string) peer {
		return newSigPeerWith(tb, name, 1, session.WithSPQR(true))
	},
	connect: func(tb testing.TB, a, b peer) {
		alice, bob := a.(*sigPeer), b.(*sigPeer)
		raw := bob.publish(tb, 1, 100, kem.Kyber1024)
		bundle, err := prekey.ParseBundle(raw[0])
		must(tb, err)
		must(tb, alice.m.ProcessBundle(context.Background(), bob.addr, bundle))
		pt := plaintext()
		exchange(tb, alice, bob, pt)
		exchange(tb, bob, alice, pt)
	},
	parseRecord:  signalImpl.parseRecord,
	encodeRecord: signalImpl.encodeRecord,
}

// newSigPeerWith is newSigPeer with other Manager options.
func newSigPeerWith(tb testing.TB, name string, regID uint32, opts ...session.Option) *sigPeer {
	tb.Helper()
	id, err := keys.GeneratePrivateKey()
	must(tb, err)
	st := session.NewMemoryStore(id, regID, session.TrustOnFirstUse)
	m, err := session.New(st.Stores(), opts...)
	must(tb, err)
	return &sigPeer{addr: session.Address{Name: name, DeviceID: 1}, id: id, regID: regID, store: st, sessions: st, m: m}
}

// spqrRows adds the SPQR rows to BenchmarkCompare: Encrypt100SPQR,
// Decrypt100SPQR and PingPongSPQR are Encrypt100, Decrypt100 and PingPong
// on spqrImpl.
func spqrRows(b *testing.B) {
	for _, r := range []struct {
		op string
		f  func(*testing.B, impl)
	}{{"Encrypt100SPQR", benchEncrypt}, {"Decrypt100SPQR", benchDecrypt}, {"PingPongSPQR", benchPingPong}} {
		b.Run(r.op, func(b *testing.B) {
			b.Run(spqrImpl.name, func(b *testing.B) { r.f(b, spqrImpl) })
		})
	}
}

// TestSPQRWorkloads checks that the SPQR rows time what they claim:
// version 4 Whisper messages that carry SPQR data, decrypted in order and
// out of order, and records that round-trip.
func TestSPQRWorkloads(t *testing.T) {
	alice, bob := conversation(t, spqrImpl)
	pt := plaintext()
	ws := make([]wire, 50)
	for i := range ws {
		ws[i] = alice.encrypt(t, bob, pt)
		assert.Equal(t, int(session.WhisperType), ws[i].typ)
		m, err := ratchet.ParseMessage(ws[i].bytes)
		require.NoError(t, err)
		assert.Equal(t, uint8(ratchet.VersionPQXDH), m.Version)
		assert.NotEmpty(t, m.PQRatchet, "message %d carries SPQR data", i)
	}
	for i := len(ws) - 1; i >= 0; i-- {
		assert.Equal(t, pt, bob.decrypt(t, alice, ws[i]))
	}
	for range 20 { // ping-pong
		exchange(t, alice, bob, pt)
		exchange(t, bob, alice, pt)
	}
	rec := alice.record(t, bob)
	assert.Equal(t, rec, spqrImpl.encodeRecord(t, spqrImpl.parseRecord(t, rec)))
	assert.Greater(t, len(rec), 2000, "the record holds the SPQR state")
}
