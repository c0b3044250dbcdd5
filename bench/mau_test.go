package bench

import (
	"bytes"
	"context"
	"crypto/sha512"
	"testing"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/fingerprint"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/logger"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/serialize"
	"go.mau.fi/libsignal/session"
	"go.mau.fi/libsignal/state/record"
	"go.mau.fi/libsignal/util/optional"
)

// quietLogger discards go.mau.fi/libsignal's log output, which by default
// goes to stdout.
type quietLogger struct{}

func (quietLogger) Debug(string, string)   {}
func (quietLogger) Info(string, string)    {}
func (quietLogger) Warning(string, string) {}
func (quietLogger) Error(string, string)   {}
func (quietLogger) Configure(string)       {}

func init() {
	var l logger.Loggable = quietLogger{}
	logger.Setup(&l)
}

type mauAddr struct {
	name   string
	device uint32
}

// mauStore implements go.mau.fi/libsignal's stores in memory. Pre-keys are
// kept encoded with the library's own serializers. Session records are
// kept either decoded (the *record.Session itself, handed out and changed
// in place, as the library's own in-memory test store does; the default)
// or, with encoded set, as the serializer's bytes (JSON), encoded on store
// and decoded on load as a database-backed store does.
type mauStore struct {
	ser        *serialize.Serializer
	identity   *identity.KeyPair
	regID      uint32
	encoded    bool
	sessions   map[mauAddr][]byte
	decoded    map[mauAddr]*record.Session
	identities map[mauAddr]*identity.Key
	preKeys    map[uint32][]byte
	signed     map[uint32][]byte
}

func mauKey(a *protocol.SignalAddress) mauAddr { return mauAddr{a.Name(), a.DeviceID()} }

func (s *mauStore) GetIdentityKeyPair() *identity.KeyPair { return s.identity }
func (s *mauStore) GetLocalRegistrationID() uint32        { return s.regID }

func (s *mauStore) SaveIdentity(_ context.Context, a *protocol.SignalAddress, k *identity.Key) error {
	s.identities[mauKey(a)] = k
	return nil
}

func (s *mauStore) IsTrustedIdentity(_ context.Context, a *protocol.SignalAddress, k *identity.Key) (bool, error) {
	old, ok := s.identities[mauKey(a)]
	return !ok || bytes.Equal(old.Serialize(), k.Serialize()), nil
}

func (s *mauStore) LoadPreKey(_ context.Context, id uint32) (*record.PreKey, error) {
	b, ok := s.preKeys[id]
	if !ok {
		return nil, nil
	}
	return record.NewPreKeyFromBytes(b, s.ser.PreKeyRecord)
}

func (s *mauStore) StorePreKey(_ context.Context, id uint32, r *record.PreKey) error {
	s.preKeys[id] = r.Serialize()
	return nil
}

func (s *mauStore) ContainsPreKey(_ context.Context, id uint32) (bool, error) {
	_, ok := s.preKeys[id]
	return ok, nil
}

func (s *mauStore) RemovePreKey(_ context.Context, id uint32) error {
	delete(s.preKeys, id)
	return nil
}

func (s *mauStore) LoadSignedPreKey(_ context.Context, id uint32) (*record.SignedPreKey, error) {
	b, ok := s.signed[id]
	if !ok {
		return nil, nil
	}
	return record.NewSignedPreKeyFromBytes(b, s.ser.SignedPreKeyRecord)
}

func (s *mauStore) LoadSignedPreKeys(ctx context.Context) ([]*record.SignedPreKey, error) {
	var out []*record.SignedPreKey
	for id := range s.signed {
		r, err := s.LoadSignedPreKey(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (s *mauStore) StoreSignedPreKey(_ context.Context, id uint32, r *record.SignedPreKey) error {
	s.signed[id] = r.Serialize()
	return nil
}

func (s *mauStore) ContainsSignedPreKey(_ context.Context, id uint32) (bool, error) {
	_, ok := s.signed[id]
	return ok, nil
}

func (s *mauStore) RemoveSignedPreKey(_ context.Context, id uint32) error {
	delete(s.signed, id)
	return nil
}

func (s *mauStore) LoadSession(_ context.Context, a *protocol.SignalAddress) (*record.Session, error) {
	if !s.encoded {
		if r, ok := s.decoded[mauKey(a)]; ok {
			return r, nil
		}
		return record.NewSession(s.ser.Session, s.ser.State), nil
	}
	b, ok := s.sessions[mauKey(a)]
	if !ok {
		return record.NewSession(s.ser.Session, s.ser.State), nil
	}
	return record.NewSessionFromBytes(b, s.ser.Session, s.ser.State)
}

func (s *mauStore) GetSubDeviceSessions(_ context.Context, name string) ([]uint32, error) {
	var ids []uint32
	for k := range s.sessions {
		if k.name == name && k.device != 1 {
			ids = append(ids, k.device)
		}
	}
	for k := range s.decoded {
		if k.name == name && k.device != 1 {
			ids = append(ids, k.device)
		}
	}
	return ids, nil
}

func (s *mauStore) StoreSession(_ context.Context, a *protocol.SignalAddress, r *record.Session) error {
	if !s.encoded {
		s.decoded[mauKey(a)] = r
		return nil
	}
	s.sessions[mauKey(a)] = r.Serialize()
	return nil
}

func (s *mauStore) ContainsSession(_ context.Context, a *protocol.SignalAddress) (bool, error) {
	_, ok := s.sessions[mauKey(a)]
	_, okDecoded := s.decoded[mauKey(a)]
	return ok || okDecoded, nil
}

func (s *mauStore) DeleteSession(_ context.Context, a *protocol.SignalAddress) error {
	delete(s.sessions, mauKey(a))
	delete(s.decoded, mauKey(a))
	return nil
}

func (s *mauStore) DeleteAllSessions(context.Context) error {
	clear(s.sessions)
	clear(s.decoded)
	return nil
}

// mauPeer is a party on go.mau.fi/libsignal. As in applications built on
// it, a Builder and Cipher are made for each message.
type mauPeer struct {
	addr *protocol.SignalAddress
	st   *mauStore
	// spk is the signed pre-key as published. It is kept here because a
	// go.mau.fi/libsignal v0.2.1 signed pre-key record does not survive
	// its own serializer intact: the record stores the 33-byte public key
	// encoding and reads back its first 32 bytes, so a public key taken
	// from a reloaded record is wrong (the private key, all the library
	// itself uses, is intact).
	spk    *ecc.ECKeyPair
	spkSig [64]byte
}

// mauBundle is a pre-key bundle as it arrives from the server: encoded
// keys and signature.
type mauBundle struct {
	regID, deviceID, preKeyID, signedID uint32
	identity, signed, preKey            []byte
	signature                           [64]byte
}

var mauImpl = impl{
	name: "mau",
	newPeer: func(tb testing.TB, name string) peer {
		return newMauPeer(tb, name, 1)
	},
	connect: func(tb testing.TB, a, b peer) {
		alice, bob := a.(*mauPeer), b.(*mauPeer)
		raw := bob.publish(tb, 1, 100)
		must(tb, alice.builder(bob).ProcessBundle(context.Background(), raw[0].parse(tb)))
		pt := plaintext()
		exchange(tb, alice, bob, pt)
		exchange(tb, bob, alice, pt)
	},
	parseRecord: func(tb testing.TB, b []byte) any {
		ser := mauSerializer
		r, err := record.NewSessionFromBytes(b, ser.Session, ser.State)
		must(tb, err)
		return r
	},
	encodeRecord: func(tb testing.TB, r any) []byte {
		return r.(*record.Session).Serialize()
	},
}

// mauSerializer is the serializer applications use with the library
// (protobuf messages, JSON records).
var mauSerializer = serialize.NewProtoBufSerializer()

func newMauPeer(tb testing.TB, name string, regID uint32) *mauPeer {
	tb.Helper()
	kp, err := ecc.GenerateKeyPair()
	must(tb, err)
	return &mauPeer{
		addr: protocol.NewSignalAddress(name, 1),
		st: &mauStore{
			ser:        mauSerializer,
			identity:   identity.NewKeyPair(identity.NewKey(kp.PublicKey()), kp.PrivateKey()),
			regID:      regID,
			sessions:   map[mauAddr][]byte{},
			decoded:    map[mauAddr]*record.Session{},
			identities: map[mauAddr]*identity.Key{},
			preKeys:    map[uint32][]byte{},
			signed:     map[uint32][]byte{},
		},
	}
}

func (p *mauPeer) builder(to *mauPeer) *session.Builder {
	return session.NewBuilder(p.st, p.st, p.st, p.st, to.addr, p.st.ser)
}

// publish stores a signed pre-key (id 1, generated once) and n one-time
// pre-keys from id firstOPK, and returns one bundle per one-time pre-key.
func (p *mauPeer) publish(tb testing.TB, n int, firstOPK uint32) []mauBundle {
	tb.Helper()
	ctx := context.Background()
	if p.spk == nil {
		kp, err := ecc.GenerateKeyPair()
		must(tb, err)
		p.spk = kp
		p.spkSig = ecc.CalculateSignature(p.st.identity.PrivateKey(), kp.PublicKey().Serialize())
		must(tb, p.st.StoreSignedPreKey(ctx, 1,
			record.NewSignedPreKey(1, time.Now().UnixMilli(), kp, p.spkSig, p.st.ser.SignedPreKeyRecord)))
	}
	out := make([]mauBundle, n)
	for i := range out {
		id := firstOPK + uint32(i)
		kp, err := ecc.GenerateKeyPair()
		must(tb, err)
		must(tb, p.st.StorePreKey(ctx, id, record.NewPreKey(id, kp, p.st.ser.PreKeyRecord)))
		out[i] = mauBundle{
			regID: p.st.regID, deviceID: p.addr.DeviceID(), preKeyID: id, signedID: 1,
			identity: p.st.identity.PublicKey().Serialize(), signed: p.spk.PublicKey().Serialize(),
			preKey: kp.PublicKey().Serialize(), signature: p.spkSig,
		}
	}
	return out
}

// parse decodes the bundle's keys; ProcessBundle verifies the signature.
func (m *mauBundle) parse(tb testing.TB) *prekey.Bundle {
	ik, err := ecc.DecodePoint(m.identity, 0)
	must(tb, err)
	spk, err := ecc.DecodePoint(m.signed, 0)
	must(tb, err)
	opk, err := ecc.DecodePoint(m.preKey, 0)
	must(tb, err)
	return prekey.NewBundle(m.regID, m.deviceID, optional.NewOptionalUint32(m.preKeyID), m.signedID,
		opk, spk, m.signature, identity.NewKey(ik))
}

func (p *mauPeer) encrypt(tb testing.TB, to peer, pt []byte) wire {
	c := session.NewCipher(p.builder(to.(*mauPeer)), to.(*mauPeer).addr)
	msg, err := c.Encrypt(context.Background(), pt)
	must(tb, err)
	return wire{typ: int(msg.Type()), bytes: msg.Serialize()}
}

func (p *mauPeer) decrypt(tb testing.TB, from peer, w wire) []byte {
	f := from.(*mauPeer)
	c := session.NewCipher(p.builder(f), f.addr)
	ser := p.st.ser
	var pt []byte
	switch w.typ {
	case protocol.PREKEY_TYPE:
		m, err := protocol.NewPreKeySignalMessageFromBytes(w.bytes, ser.PreKeySignalMessage, ser.SignalMessage)
		must(tb, err)
		pt, err = c.DecryptMessage(context.Background(), m)
		must(tb, err)
	case protocol.WHISPER_TYPE:
		m, err := protocol.NewSignalMessageFromBytes(w.bytes, ser.SignalMessage)
		must(tb, err)
		pt, err = c.Decrypt(context.Background(), m)
		must(tb, err)
	default:
		tb.Fatalf("message type %d", w.typ)
	}
	return pt
}

func (p *mauPeer) record(tb testing.TB, to peer) []byte {
	tb.Helper()
	k := mauKey(to.(*mauPeer).addr)
	if r, ok := p.st.decoded[k]; ok {
		return r.Serialize()
	}
	b, ok := p.st.sessions[k]
	if !ok {
		tb.Fatal("no session")
	}
	return b
}

// benchSetupMau measures one X3DH session setup, both sides, as
// benchSetupSignal does.
func benchSetupMau(b *testing.B) {
	ctx := context.Background()
	alice, bob := newMauPeer(b, "alice", 1), newMauPeer(b, "bob", 2)
	pt := plaintext()
	var bundles []mauBundle
	next := uint32(1)
	m := meter(b)
	defer m.done()
	for b.Loop() {
		if len(bundles) == 0 {
			m.stop()
			bundles = bob.publish(b, 256, next)
			next += 256
			m.resume()
		}
		setupMau(ctx, b, alice, bob, &bundles[0], pt)
		bundles = bundles[1:]
	}
}

// setupMau is one session setup: it returns the PreKey message and what
// Bob decrypted.
func setupMau(ctx context.Context, tb testing.TB, alice, bob *mauPeer, raw *mauBundle, pt []byte) (wire, []byte) {
	must(tb, alice.builder(bob).ProcessBundle(ctx, raw.parse(tb)))
	w := alice.encrypt(tb, bob, pt)
	got := bob.decrypt(tb, alice, w)
	must(tb, alice.st.DeleteSession(ctx, bob.addr))
	must(tb, bob.st.DeleteSession(ctx, alice.addr))
	return w, got
}

// safetyNumberMau computes the safety number with go.mau.fi/libsignal's
// display formatting. The library has no generator for the iterated hash
// (its fingerprint package only formats digits), so the hash is a direct
// sequential implementation of libsignal's NumericFingerprintGenerator:
// d = SHA-512(0x0000 || key || id || key), then d = SHA-512(d || key)
// 5199 more times, over the library's key encoding.
func safetyNumberMau(localID string, local *identity.Key, remoteID string, remote *identity.Key) string {
	l := mauDigest(localID, local.Serialize())
	r := mauDigest(remoteID, remote.Serialize())
	return fingerprint.NewFingerprint(fingerprint.NewDisplay(l[:], r[:])).Display().DisplayText()
}

func mauDigest(id string, key []byte) [sha512.Size]byte {
	buf := make([]byte, 0, 2+2*len(key)+len(id))
	buf = append(buf, 0, 0)
	buf = append(buf, key...)
	buf = append(buf, id...)
	buf = append(buf, key...)
	d := sha512.Sum512(buf)
	buf = append(buf[:0], d[:]...)
	buf = append(buf, key...)
	for i := 1; i < 5200; i++ {
		d = sha512.Sum512(buf)
		copy(buf, d[:])
	}
	return d
}
