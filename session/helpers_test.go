package session_test

// The fixtures the session tests share: parties (a device's identity,
// MemoryStore and Manager), the bundles they publish, sessions between them,
// message exchanges, and a stored record's bytes. Records are read and
// written through the public API only (LoadSession and MarshalBinary,
// ParseRecord and StoreSession), never through MemoryStore's internals.
// Helpers that only one file needs stay in that file; the examples keep
// their own (example_test.go) so that they read as documentation.

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/senderkey"
	"github.com/ratchetlab/signal/session"
)

// Service ids for Alice and Bob, for tests that need real ones (version 4
// messages carry both addresses only for service ids; sealed sender).
const (
	aliceACI = "a11ce000-0000-4000-8000-00000000a11c"
	bobACI   = "b0b00000-0000-4000-8000-000000000b0b"
)

// party is one device: its address, identity key and registration id, its
// MemoryStore, a Manager over the store and, if the Manager was told its
// own address (withOwnAddress), the Manager's GroupCipher.
type party struct {
	addr   session.Address
	id     *keys.PrivateKey
	regID  uint32
	store  *session.MemoryStore
	m      *session.Manager
	groups *session.GroupCipher
}

type partyConfig struct {
	device     uint32
	trust      session.TrustPolicy
	id         *keys.PrivateKey
	atomic     bool
	ownAddress bool
	opts       []session.Option
}

// partyOption configures newParty.
type partyOption func(*partyConfig)

// withTrust sets the store's trust policy (default TrustOnFirstUse).
func withTrust(policy session.TrustPolicy) partyOption {
	return func(c *partyConfig) { c.trust = policy }
}

// withDevice sets the party's device id (default 1).
func withDevice(id uint32) partyOption { return func(c *partyConfig) { c.device = id } }

// withIdentity gives the party an existing identity key (default: a new
// one): another device, or a new store, of the same identity.
func withIdentity(k *keys.PrivateKey) partyOption { return func(c *partyConfig) { c.id = k } }

// withAtomic says whether the Manager gets the store's Atomic (default
// true); without it the Manager orders the store writes itself.
func withAtomic(atomic bool) partyOption { return func(c *partyConfig) { c.atomic = atomic } }

// withOwnAddress tells the Manager the party's address
// (session.WithLocalAddress, before any withOptions) and gives the party
// its GroupCipher.
func withOwnAddress() partyOption { return func(c *partyConfig) { c.ownAddress = true } }

// withOptions adds Manager options.
func withOptions(opts ...session.Option) partyOption {
	return func(c *partyConfig) { c.opts = append(c.opts, opts...) }
}

// newParty returns device 1 (see withDevice) of name, with a new identity
// (see withIdentity), a MemoryStore trusting on first use (see withTrust)
// and a Manager with the store's Atomic (see withAtomic) and no options
// (see withOptions, withOwnAddress).
func newParty(t testing.TB, name string, regID uint32, opts ...partyOption) *party {
	t.Helper()
	c := partyConfig{device: 1, trust: session.TrustOnFirstUse, atomic: true}
	for _, o := range opts {
		o(&c)
	}
	if c.id == nil {
		c.id = generateKey(t)
	}
	p := &party{addr: session.Address{Name: name, DeviceID: c.device}, id: c.id, regID: regID}
	p.store = session.NewMemoryStore(c.id, regID, c.trust)
	stores := p.store.Stores()
	if !c.atomic {
		stores.Atomic = nil
	}
	mopts := c.opts
	if c.ownAddress {
		mopts = append([]session.Option{session.WithLocalAddress(p.addr)}, c.opts...)
	}
	var err error
	p.m, err = session.New(stores, mopts...)
	require.NoError(t, err)
	if c.ownAddress {
		p.groups, err = p.m.Groups()
		require.NoError(t, err)
	}
	return p
}

// newPair returns Alice (registration id 1) and Bob (2), both made with
// opts.
func newPair(t testing.TB, opts ...partyOption) (alice, bob *party) {
	t.Helper()
	return newParty(t, "alice", 1, opts...), newParty(t, "bob", 2, opts...)
}

// newEstablishedPair returns newPair's Alice and Bob with a session Alice
// started from Bob's bundle of kind k and both have used (one round trip):
// Alice's next message is a Whisper message.
func newEstablishedPair(t testing.TB, k bundleKind, opts ...partyOption) (alice, bob *party) {
	t.Helper()
	alice, bob = newPair(t, opts...)
	alice.startSession(t, bob, k)
	roundTrips(t, alice, bob, 1)
	return alice, bob
}

// bundleKind is what a published bundle holds besides the signed pre-key.
type bundleKind struct {
	opk   bool     // a one-time pre-key
	kyber kem.Type // a Kyber pre-key of this type; 0: none, an X3DH bundle
}

// The bundles most tests use. An X3DH bundle needs session.WithX3DH(true)
// at both ends.
var (
	pqxdh      = bundleKind{opk: true, kyber: kem.Kyber1024}
	pqxdhNoOPK = bundleKind{kyber: kem.Kyber1024}
	x3dh       = bundleKind{opk: true}
)

// bundle stores new pre-keys of kind k and returns the bundle announcing
// them. The ids are always 22 (signed), 33 (one-time) and 44 (Kyber), so a
// new bundle replaces the pre-keys of the previous one.
func (p *party) bundle(t testing.TB, k bundleKind) *prekey.Bundle {
	t.Helper()
	spk, err := prekey.GenerateSignedPreKey(p.id, 22, time.Now())
	require.NoError(t, err)
	var opk *prekey.PreKeyRecord
	if k.opk {
		pks, err := prekey.GeneratePreKeys(33, 1)
		require.NoError(t, err)
		opk = pks[0]
	}
	var kpk *prekey.KyberPreKeyRecord
	if k.kyber != 0 {
		kpk, err = prekey.GenerateKyberPreKey(p.id, 44, k.kyber, time.Now())
		require.NoError(t, err)
	}
	p.storePreKeys(t, spk, opk, kpk)
	b, err := prekey.NewBundle(p.regID, p.addr.DeviceID, p.id.PublicKey(), spk, opk, kpk)
	require.NoError(t, err)
	return b
}

// storePreKeys stores the pre-keys that are not nil.
func (p *party) storePreKeys(t testing.TB, spk *prekey.SignedPreKeyRecord, opk *prekey.PreKeyRecord, kpk *prekey.KyberPreKeyRecord) {
	t.Helper()
	ctx := context.Background()
	if spk != nil {
		require.NoError(t, p.store.StoreSignedPreKey(ctx, spk))
	}
	if opk != nil {
		require.NoError(t, p.store.StorePreKey(ctx, opk))
	}
	if kpk != nil {
		require.NoError(t, p.store.StoreKyberPreKey(ctx, kpk))
	}
}

// startSession makes p start a session with to from a new bundle of to's
// of kind k; it must succeed.
func (p *party) startSession(t testing.TB, to *party, k bundleKind) {
	t.Helper()
	require.NoError(t, p.m.ProcessBundle(context.Background(), to.addr, to.bundle(t, k)))
}

// send encrypts msg to to; it must succeed.
func (p *party) send(t testing.TB, to *party, msg string) session.Ciphertext {
	t.Helper()
	ct, err := p.m.Encrypt(context.Background(), to.addr, []byte(msg))
	require.NoError(t, err)
	return ct
}

// recv decrypts ct from from; it must succeed.
func (p *party) recv(t testing.TB, from *party, ct session.Ciphertext) string {
	t.Helper()
	pt, err := p.m.Decrypt(context.Background(), from.addr, ct)
	require.NoError(t, err)
	return string(pt)
}

// roundTrips sends n messages each way, a first, each read by the other
// side at once and checked.
func roundTrips(t testing.TB, a, b *party, n int) {
	t.Helper()
	for i := range n {
		msg := fmt.Sprintf("%s %d", a.addr.Name, i)
		require.Equal(t, msg, b.recv(t, a, a.send(t, b, msg)))
		msg = fmt.Sprintf("%s %d", b.addr.Name, i)
		require.Equal(t, msg, a.recv(t, b, b.send(t, a, msg)))
	}
}

// skipAhead moves p's sending chain for to n messages ahead, as if p had
// sent n messages that were lost, so that its next message is n further
// ahead. It works on the stored record's current state, not through the
// Manager, so that MaxForwardJumps messages take little time.
func (p *party) skipAhead(t testing.TB, to *party, n int) {
	t.Helper()
	rec := loadRecord(t, p.store, to.addr)
	require.NotNil(t, rec)
	s := session.CurrentStateForTest(rec)
	for range n {
		_, _, err := s.Encrypt(nil, []byte{0})
		require.NoError(t, err)
	}
	require.NoError(t, p.store.StoreSession(context.Background(), to.addr, rec))
}

// loadRecord returns the record st holds for addr, or nil.
func loadRecord(t testing.TB, st session.SessionStore, addr session.Address) *session.Record {
	t.Helper()
	rec, err := st.LoadSession(context.Background(), addr)
	require.NoError(t, err)
	return rec
}

// loadRecordBytes returns the encoding of the record st holds for addr, or
// nil if it holds none.
func loadRecordBytes(t testing.TB, st session.SessionStore, addr session.Address) []byte {
	t.Helper()
	rec := loadRecord(t, st, addr)
	if rec == nil {
		return nil
	}
	b, err := rec.MarshalBinary()
	require.NoError(t, err)
	return b
}

// storeRecordBytes parses b and stores it as the record for addr.
func storeRecordBytes(t testing.TB, st session.SessionStore, addr session.Address, b []byte) {
	t.Helper()
	rec, err := session.ParseRecord(b)
	require.NoError(t, err)
	require.NoError(t, st.StoreSession(context.Background(), addr, rec))
}

// mustInfo returns rec's SessionInfo; rec must have a current state.
func mustInfo(t testing.TB, rec *session.Record) session.SessionInfo {
	t.Helper()
	require.NotNil(t, rec, "a record")
	info, ok := rec.Info()
	require.True(t, ok, "the record has a current state")
	return info
}

// newDistributionID returns a new random distribution id.
func newDistributionID(t testing.TB) senderkey.DistributionID {
	t.Helper()
	id, err := senderkey.NewDistributionID()
	require.NoError(t, err)
	return id
}

// distributeSenderKey hands p's sender key for dist (created if p has
// none) to to, as a distribution message to must accept, and returns the
// message. p and to need GroupCiphers (withOwnAddress).
func (p *party) distributeSenderKey(t testing.TB, to *party, dist senderkey.DistributionID) *senderkey.DistributionMessage {
	t.Helper()
	ctx := context.Background()
	d, err := p.groups.CreateDistributionMessage(ctx, dist)
	require.NoError(t, err)
	skdm, err := d.MarshalBinary()
	require.NoError(t, err)
	_, err = to.groups.ProcessDistributionMessage(ctx, p.addr, skdm)
	require.NoError(t, err)
	return d
}

// loadSenderKeyBytes returns the encoding of the sender key record st
// holds for (sender, dist), or nil if it holds none.
func loadSenderKeyBytes(t testing.TB, st session.SenderKeyStore, sender session.Address, dist senderkey.DistributionID) []byte {
	t.Helper()
	rec, err := st.LoadSenderKey(context.Background(), sender, dist)
	require.NoError(t, err)
	if rec == nil {
		return nil
	}
	b, err := rec.MarshalBinary()
	require.NoError(t, err)
	return b
}

// forgedWhisper returns a version 4 SignalMessage with a fresh ratchet key,
// the given counter and a random MAC: it costs a receiver everything up to
// the MAC check on every state it tries.
func forgedWhisper(tb testing.TB, counter uint32) session.Ciphertext {
	tb.Helper()
	priv := generateKey(tb)
	// ratchet_key, counter, previous_counter, ciphertext
	b := appendBytesField([]byte{0x44}, 1, priv.PublicKey().Bytes())
	b = protowire.AppendVarint(protowire.AppendTag(b, 2, protowire.VarintType), uint64(counter))
	b = protowire.AppendVarint(protowire.AppendTag(b, 3, protowire.VarintType), 0)
	b = appendBytesField(b, 4, make([]byte, 32))
	mac := make([]byte, 8)
	_, _ = rand.Read(mac)
	return session.Ciphertext{Type: session.WhisperType, Bytes: append(b, mac...)}
}

// protoField is one protobuf field: its number, wire type and encoded
// value.
type protoField struct {
	num protowire.Number
	typ protowire.Type
	val []byte // the value's encoding, without tag (a bytes field: with its length)
}

// parseProtoFields splits an encoded protobuf message into its fields.
func parseProtoFields(t testing.TB, b []byte) []protoField {
	t.Helper()
	var out []protoField
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		require.GreaterOrEqual(t, n, 0)
		b = b[n:]
		n = protowire.ConsumeFieldValue(num, typ, b)
		require.GreaterOrEqual(t, n, 0)
		out = append(out, protoField{num, typ, b[:n]})
		b = b[n:]
	}
	return out
}

// bytes returns the value of a bytes field.
func (f protoField) bytes(t testing.TB) []byte {
	t.Helper()
	require.Equal(t, protowire.BytesType, f.typ)
	v, n := protowire.ConsumeBytes(f.val)
	require.Equal(t, len(f.val), n)
	return v
}

// varint returns the value of a varint field.
func (f protoField) varint(t testing.TB) uint64 {
	t.Helper()
	require.Equal(t, protowire.VarintType, f.typ)
	v, n := protowire.ConsumeVarint(f.val)
	require.Equal(t, len(f.val), n)
	return v
}

// appendTo appends f, tag and value, to b.
func (f protoField) appendTo(b []byte) []byte {
	return append(protowire.AppendTag(b, f.num, f.typ), f.val...)
}

// appendBytesField appends a bytes field.
func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
}

// replaceField returns a PreKeySignalMessage with field num replaced by a
// bytes field holding v.
func replaceField(t testing.TB, msg []byte, num protowire.Number, v []byte) []byte {
	t.Helper()
	out := []byte{msg[0]}
	for _, f := range parseProtoFields(t, msg[1:]) {
		if f.num == num {
			out = appendBytesField(out, num, v)
		} else {
			out = f.appendTo(out)
		}
	}
	return out
}

// generateKey returns a new identity key pair.
func generateKey(t testing.TB) *keys.PrivateKey {
	t.Helper()
	k, err := keys.GeneratePrivateKey()
	require.NoError(t, err)
	return k
}

// parsePrivateKey parses a recorded private key.
func parsePrivateKey(t testing.TB, b []byte) *keys.PrivateKey {
	t.Helper()
	k, err := keys.ParsePrivateKey(b)
	require.NoError(t, err)
	return k
}
