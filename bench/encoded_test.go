package bench

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/session"
)

// The Encoded rows run Encrypt100 and Decrypt100 with both libraries'
// session records kept ENCODED in the store, as a database-backed
// application keeps them: every message decodes the record, uses it and
// encodes it again. The plain rows keep records decoded in memory (each
// library's natural in-memory store). The difference between the two is
// what the record encoding costs per message.

// signalEncodedImpl is this library over an encodedSessions store (no
// transactions, as a simple database store).
var signalEncodedImpl = impl{
	name: "signal",
	newPeer: func(tb testing.TB, name string) peer {
		tb.Helper()
		id, err := keys.GeneratePrivateKey()
		must(tb, err)
		st := session.NewMemoryStore(id, 1, session.TrustOnFirstUse)
		enc := &encodedSessions{m: map[session.Address][]byte{}}
		stores := st.Stores()
		stores.Sessions, stores.Atomic = enc, nil
		m, err := session.New(stores, session.WithX3DH(true), session.WithSPQR(false))
		must(tb, err)
		return &sigPeer{addr: session.Address{Name: name, DeviceID: 1}, id: id, regID: 1, store: st, sessions: enc, m: m}
	},
	connect:      func(tb testing.TB, a, b peer) { signalImpl.connect(tb, a, b) },
	parseRecord:  func(tb testing.TB, b []byte) any { return signalImpl.parseRecord(tb, b) },
	encodeRecord: func(tb testing.TB, r any) []byte { return signalImpl.encodeRecord(tb, r) },
}

// mauEncodedImpl is go.mau.fi/libsignal over a mauStore that keeps records
// as its serializer's bytes.
var mauEncodedImpl = impl{
	name: "mau",
	newPeer: func(tb testing.TB, name string) peer {
		p := newMauPeer(tb, name, 1)
		p.st.encoded = true
		return p
	},
	connect:      func(tb testing.TB, a, b peer) { mauImpl.connect(tb, a, b) },
	parseRecord:  func(tb testing.TB, b []byte) any { return mauImpl.parseRecord(tb, b) },
	encodeRecord: func(tb testing.TB, r any) []byte { return mauImpl.encodeRecord(tb, r) },
}

// encodedSessions is a session store that keeps records as
// Record.MarshalBinary bytes (libsignal's RecordStructure).
type encodedSessions struct {
	mu sync.Mutex
	m  map[session.Address][]byte
}

func (s *encodedSessions) LoadSession(_ context.Context, addr session.Address) (*session.Record, error) {
	s.mu.Lock()
	b, ok := s.m[addr]
	s.mu.Unlock()
	if !ok {
		return nil, nil
	}
	return session.ParseRecord(b)
}

func (s *encodedSessions) StoreSession(_ context.Context, addr session.Address, r *session.Record) error {
	b, err := r.MarshalBinary()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.m[addr] = b
	s.mu.Unlock()
	return nil
}

// encodedRows adds Encrypt100Encoded and Decrypt100Encoded to
// BenchmarkCompare.
func encodedRows(b *testing.B) {
	for _, r := range []struct {
		op string
		f  func(*testing.B, impl)
	}{{"Encrypt100Encoded", benchEncrypt}, {"Decrypt100Encoded", benchDecrypt}} {
		b.Run(r.op, func(b *testing.B) {
			for _, im := range []impl{signalEncodedImpl, mauEncodedImpl} {
				b.Run(im.name, func(b *testing.B) { r.f(b, im) })
			}
		})
	}
}

// TestStoreModes checks that the plain rows keep records decoded and the
// Encoded rows keep bytes: for mau, the plain store hands out the stored
// object itself and the encoded one a fresh decode; for this library, the
// encoded store holds exactly the record's encoding, and conversations
// work in both modes.
func TestStoreModes(t *testing.T) {
	ctx := context.Background()
	pt := plaintext()

	a, b := conversation(t, mauImpl)
	ma, mb := a.(*mauPeer), b.(*mauPeer)
	r1, err := ma.st.LoadSession(ctx, mb.addr)
	require.NoError(t, err)
	r2, err := ma.st.LoadSession(ctx, mb.addr)
	require.NoError(t, err)
	assert.Same(t, r1, r2, "decoded mau store shares the record")
	assert.Empty(t, ma.st.sessions)

	a, b = conversation(t, mauEncodedImpl)
	ma, mb = a.(*mauPeer), b.(*mauPeer)
	r1, err = ma.st.LoadSession(ctx, mb.addr)
	require.NoError(t, err)
	r2, err = ma.st.LoadSession(ctx, mb.addr)
	require.NoError(t, err)
	assert.NotSame(t, r1, r2, "encoded mau store decodes on every load")
	assert.Empty(t, ma.st.decoded)

	a, b = conversation(t, signalEncodedImpl)
	sa, sb := a.(*sigPeer), b.(*sigPeer)
	enc := sa.sessions.(*encodedSessions)
	exchange(t, sa, sb, pt)
	stored := bytes.Clone(enc.m[sb.addr])
	assert.Equal(t, stored, sa.record(t, sb))
	r, err := session.ParseRecord(stored)
	require.NoError(t, err)
	again, err := r.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, stored, again)
	rec, err := sa.store.LoadSession(ctx, sb.addr)
	require.NoError(t, err)
	assert.Nil(t, rec, "the MemoryStore's own sessions are unused in encoded mode")
}

// encodedStore reports whether p keeps its session records encoded.
func (p *sigPeer) encodedStore() bool {
	_, ok := p.sessions.(*encodedSessions)
	return ok
}

// encodedStore reports whether p keeps its session records encoded.
func (p *mauPeer) encodedStore() bool { return p.st.encoded }
