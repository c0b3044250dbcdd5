package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/pqxdh"
	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/ratchet"
	"github.com/ratchetlab/signal/x3dh"
)

// MaxUnacknowledgedSessionAge is how long a session whose first message
// was never answered may still send, as in libsignal; after that Encrypt
// returns ErrNoSession and the caller must fetch a new bundle.
const MaxUnacknowledgedSessionAge = 30 * 24 * time.Hour

// MessageType is the type of a ciphertext.
type MessageType = ratchet.MessageType

// Message types, as libsignal numbers them.
const (
	// WhisperType is a SignalMessage.
	WhisperType = ratchet.WhisperType
	// PreKeyType is a PreKeySignalMessage.
	PreKeyType = ratchet.PreKeyType
)

// Ciphertext is an encrypted message and its type, which travels beside it
// (Signal's envelope carries it).
type Ciphertext struct {
	Type MessageType
	// Bytes is the serialized message.
	Bytes []byte
}

// Option configures a Manager.
type Option func(*Manager)

// WithX3DH enables X3DH (version 3) sessions: processing bundles without a
// Kyber pre-key and accepting version 3 PreKey messages. Off by default,
// as in current libsignal.
func WithX3DH(enabled bool) Option { return func(m *Manager) { m.allowX3DH = enabled } }

// WithLegacyVersion3Byte makes version 3 (X3DH) messages start with 0x33,
// as libsignal-protocol-java and WhatsApp-style stacks write them, rather
// than libsignal's 0x34. go.mau.fi/libsignal v0.2.1 verifies MACs only over
// 0x33; libsignal and this package accept both.
func WithLegacyVersion3Byte(enabled bool) Option {
	return func(m *Manager) { m.legacyV3Byte = enabled }
}

// WithSPQR makes the Manager run the post-quantum triple ratchet (SPQR v1)
// as libsignal ≥ 0.92 does: the PQXDH sessions it starts run SPQR, and it
// requires SPQR of every PQXDH session a peer starts. Such sessions need
// SPQR data on every message. Without it (the default) the Manager starts
// classical PQXDH sessions, which libsignal < 0.74 (such as 0.72) needs,
// and as responder follows the initiator: a first message that carries
// SPQR data starts an SPQR session, one without starts a classical one.
// X3DH (version 3) sessions are always classical.
func WithSPQR(enabled bool) Option { return func(m *Manager) { m.spqr = enabled } }

// WithLocalAddress tells the Manager its own address. When both it and a
// peer's address are Signal service ids (a UUID, or "PNI:" and a UUID),
// PreKey messages carry both addresses (SignalMessage field 6, covered by
// the MAC) as libsignal ≥ 0.91 writes them, and received messages that
// carry addresses must name this pair. Without a local address, a
// received message that carries addresses is rejected, as libsignal does
// when its own address is not a service id.
func WithLocalAddress(addr Address) Option {
	return func(m *Manager) { m.local, m.hasLocal = addr, true }
}

// WithClock sets the clock used for session timestamps and the
// unacknowledged-session limit.
func WithClock(now func() time.Time) Option { return func(m *Manager) { m.now = now } }

// Manager encrypts and decrypts for one local identity with any number of
// peers, keeping its state in the given stores.
type Manager struct {
	stores    Stores
	allowX3DH bool
	// legacyV3Byte selects 0x33 for version 3 messages.
	legacyV3Byte bool
	// spqr starts and requires SPQR sessions.
	spqr bool
	// local is our own address, if hasLocal.
	local    Address
	hasLocal bool
	now      func() time.Time
	locks    sync.Map // Address -> *sync.Mutex
	// preKeyMu serializes PreKey message processing across peers, so that
	// a one-time pre-key handed out twice is consumed at most once.
	preKeyMu sync.Mutex
}

// New returns a Manager over the given stores. Every store must be set.
func New(stores Stores, opts ...Option) (*Manager, error) {
	if stores.Identity == nil || stores.PreKeys == nil || stores.SignedPreKeys == nil ||
		stores.KyberPreKeys == nil || stores.Sessions == nil {
		return nil, errors.New("session: New needs every store")
	}
	m := &Manager{stores: stores, now: time.Now}
	for _, o := range opts {
		o(m)
	}
	return m, nil
}

func (m *Manager) lock(addr Address) *sync.Mutex {
	l, ok := m.locks.Load(addr)
	if !ok {
		l, _ = m.locks.LoadOrStore(addr, new(sync.Mutex))
	}
	mu := l.(*sync.Mutex)
	mu.Lock()
	return mu
}

// checkTrusted returns an *UntrustedIdentityError unless the identity
// store trusts key for addr in the given direction.
func (m *Manager) checkTrusted(ctx context.Context, addr Address, key keys.PublicKey, dir Direction) error {
	ok, err := m.stores.Identity.IsTrustedIdentity(ctx, addr, key, dir)
	if err != nil {
		return err
	}
	if !ok {
		return &UntrustedIdentityError{Address: addr}
	}
	return nil
}

// ProcessBundle starts a session with a peer from its pre-key bundle
// (Alice's side of PQXDH, or of X3DH if enabled). The bundle's signatures
// were checked when it was parsed (prekey.ParseBundle). The peer's identity
// must be trusted for sending. The new state becomes current; a previous
// one is archived.
func (m *Manager) ProcessBundle(ctx context.Context, addr Address, b *prekey.Bundle) error {
	defer m.lock(addr).Unlock()
	ids := m.stores.Identity
	theirID := b.IdentityKey()
	if err := m.checkTrusted(ctx, addr, theirID, Sending); err != nil {
		return err
	}
	ours, err := ids.IdentityKeyPair(ctx)
	if err != nil {
		return err
	}
	regID, err := ids.LocalRegistrationID(ctx)
	if err != nil {
		return err
	}
	base, err := keys.GeneratePrivateKey()
	if err != nil {
		return err
	}
	opkID, opk, hasOPK := b.PreKey()
	p := &ratchet.AliceParams{
		LocalIdentity:  ours.PublicKey(),
		RemoteIdentity: theirID,
		BaseKey:        base.PublicKey(),
		PendingPreKey: ratchet.PendingPreKey{
			PreKeyID: opkID, HasPreKeyID: hasOPK, SignedPreKeyID: b.SignedPreKeyID(),
			Timestamp: uint64(m.now().Unix()),
		},
		TheirRatchetKey:      b.SignedPreKey(),
		LocalRegistrationID:  regID,
		RemoteRegistrationID: b.RegistrationID(),
	}
	if kyberID, kyberKey, ok := b.KyberPreKey(); ok {
		sec, msg, err := pqxdh.Initiate(ours, base, pqxdh.BobKeys{
			IdentityKey: theirID, SignedPreKey: b.SignedPreKey(), OneTimePreKey: opk, KyberPreKey: kyberKey,
		})
		if err != nil {
			return err
		}
		p.Version = ratchet.VersionPQXDH
		p.RootKey, p.ChainKey = sec.RootKey(), sec.ChainKey()
		if m.spqr {
			k := sec.SPQRKey()
			p.SPQRKey = &k
		}
		sec.Clear()
		p.PendingKyberPreKey = &ratchet.PendingKyberPreKey{PreKeyID: kyberID, Ciphertext: msg.KyberCiphertext}
	} else {
		if !m.allowX3DH {
			return ErrX3DHDisabled
		}
		sec, _, err := x3dh.Initiate(ours, base, x3dh.BobKeys{
			IdentityKey: theirID, SignedPreKey: b.SignedPreKey(), OneTimePreKey: opk,
		})
		if err != nil {
			return err
		}
		p.Version = ratchet.VersionX3DH
		p.RootKey, p.ChainKey = sec.RootKey(), sec.ChainKey()
		sec.Clear()
	}
	state, err := ratchet.NewAlice(p)
	clear(p.RootKey[:])
	clear(p.ChainKey[:])
	if p.SPQRKey != nil {
		clear(p.SPQRKey[:])
	}
	if err != nil {
		return err
	}
	rec, err := m.stores.Sessions.LoadSession(ctx, addr)
	if err != nil {
		return err
	}
	if rec == nil {
		rec = NewRecord()
	}
	if err := rec.promote(state); err != nil {
		return err
	}
	if _, err := ids.SaveIdentity(ctx, addr, theirID); err != nil {
		return err
	}
	return m.stores.Sessions.StoreSession(ctx, addr, rec)
}

// Encrypt encrypts plaintext for a peer with the current session state:
// a PreKey message until the peer has answered, then Whisper messages.
func (m *Manager) Encrypt(ctx context.Context, addr Address, plaintext []byte) (Ciphertext, error) {
	defer m.lock(addr).Unlock()
	rec, err := m.stores.Sessions.LoadSession(ctx, addr)
	if err != nil {
		return Ciphertext{}, err
	}
	if rec == nil || rec.current == nil {
		return Ciphertext{}, ErrNoSession
	}
	s := rec.current
	if p := s.PendingPreKey(); p != nil {
		created := time.Unix(int64(p.Timestamp), 0)
		if m.now().Sub(created) > MaxUnacknowledgedSessionAge {
			return Ciphertext{}, ErrNoSession
		}
	}
	theirID := s.RemoteIdentity()
	if err := m.checkTrusted(ctx, addr, theirID, Sending); err != nil {
		return Ciphertext{}, err
	}
	s.SetLegacyVersionByte(m.legacyV3Byte)
	var addresses []byte
	// libsignal (≥ 0.91) adds addresses only to version 4 PreKey messages;
	// version 3 stacks such as go.mau.fi/libsignal do not know the field.
	if s.PendingPreKey() != nil && m.hasLocal && s.Version() == ratchet.VersionPQXDH {
		addresses, _ = addressesField(m.local, addr)
	}
	out, typ, err := s.EncryptWithAddresses(nil, plaintext, addresses)
	if err != nil {
		return Ciphertext{}, err
	}
	if _, err := m.stores.Identity.SaveIdentity(ctx, addr, theirID); err != nil {
		return Ciphertext{}, err
	}
	if err := m.stores.Sessions.StoreSession(ctx, addr, rec); err != nil {
		return Ciphertext{}, err
	}
	return Ciphertext{Type: typ, Bytes: out}, nil
}

// Decrypt decrypts a message from a peer. Nothing is stored unless it
// succeeds.
func (m *Manager) Decrypt(ctx context.Context, addr Address, ct Ciphertext) ([]byte, error) {
	switch ct.Type {
	case PreKeyType:
		pm, err := ratchet.ParsePreKeyMessage(ct.Bytes)
		if err != nil {
			return nil, err
		}
		return m.decryptPreKey(ctx, addr, &pm)
	case WhisperType:
		msg, err := ratchet.ParseMessage(ct.Bytes)
		if err != nil {
			return nil, err
		}
		return m.decryptWhisper(ctx, addr, &msg)
	default:
		return nil, ErrUnknownMessageType
	}
}

// checkAddresses applies libsignal's rule to a received message's
// addresses field: absent is fine (older senders); present, it must name
// the sender and us, or the message is rejected like a bad MAC.
func (m *Manager) checkAddresses(from Address, msg *ratchet.Message) error {
	if msg.Addresses == nil {
		return nil
	}
	if !m.hasLocal {
		return ratchet.ErrDecryption
	}
	want, ok := addressesField(from, m.local)
	if !ok || !bytes.Equal(want, msg.Addresses) {
		return ratchet.ErrDecryption
	}
	return nil
}

func (m *Manager) decryptWhisper(ctx context.Context, addr Address, msg *ratchet.Message) ([]byte, error) {
	if err := m.checkAddresses(addr, msg); err != nil {
		return nil, err
	}
	defer m.lock(addr).Unlock()
	rec, err := m.stores.Sessions.LoadSession(ctx, addr)
	if err != nil {
		return nil, err
	}
	if rec == nil || (rec.current == nil && len(rec.previous) == 0) {
		return nil, ErrNoSession
	}
	pt, state, err := trialDecrypt(rec, msg)
	if err != nil {
		return nil, err
	}
	theirID := state.RemoteIdentity()
	if err := m.checkTrusted(ctx, addr, theirID, Receiving); err != nil {
		return nil, err
	}
	if _, err := m.stores.Identity.SaveIdentity(ctx, addr, theirID); err != nil {
		return nil, err
	}
	if err := m.stores.Sessions.StoreSession(ctx, addr, rec); err != nil {
		return nil, err
	}
	return pt, nil
}

// trialDecrypt tries the current state, then each archived state, and
// promotes the archived state that decrypts. A duplicate is reported at
// once; every other failure is ErrDecryption.
func trialDecrypt(rec *Record, msg *ratchet.Message) ([]byte, *ratchet.State, error) {
	if s := rec.current; s != nil && s.Version() == msg.Version {
		pt, err := s.Decrypt(nil, msg)
		if err == nil {
			return pt, s, nil
		}
		if errors.Is(err, ratchet.ErrDuplicateMessage) {
			return nil, nil, err
		}
	}
	for i := range rec.previous {
		s, err := rec.archived(i)
		if err != nil {
			continue
		}
		if s.Version() != msg.Version {
			continue
		}
		pt, err := s.Decrypt(nil, msg)
		if err == nil {
			if err := rec.promoteArchived(i, s); err != nil {
				return nil, nil, err
			}
			return pt, s, nil
		}
		if errors.Is(err, ratchet.ErrDuplicateMessage) {
			return nil, nil, err
		}
	}
	return nil, nil, ratchet.ErrDecryption
}

func (m *Manager) decryptPreKey(ctx context.Context, addr Address, pm *ratchet.PreKeyMessage) ([]byte, error) {
	if err := m.checkAddresses(addr, &pm.Message); err != nil {
		return nil, err
	}
	defer m.lock(addr).Unlock()
	m.preKeyMu.Lock()
	defer m.preKeyMu.Unlock()
	ids := m.stores.Identity
	if err := m.checkTrusted(ctx, addr, pm.IdentityKey, Receiving); err != nil {
		return nil, err
	}
	rec, err := m.stores.Sessions.LoadSession(ctx, addr)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		rec = NewRecord()
	}
	base := pm.BaseKey.Bytes()
	newSession := false
	switch i := findByBaseKey(rec, pm.Version, base); {
	case i == 0:
		// The current state already answers this base key.
	case i > 0:
		s, err := rec.archived(i - 1)
		if err != nil {
			return nil, err
		}
		if err := rec.promoteArchived(i-1, s); err != nil {
			return nil, err
		}
	default:
		s, err := m.newBobState(ctx, pm)
		if err != nil {
			return nil, err
		}
		if err := rec.promote(s); err != nil {
			return nil, err
		}
		newSession = true
	}
	// The MAC binds the message to the identity stored in the state, not
	// to the PreKey message's identity_key field, which is not
	// authenticated when an existing state is reused: require them to agree.
	if !rec.current.RemoteIdentity().Equal(pm.IdentityKey) {
		return nil, ratchet.ErrDecryption
	}
	pt, err := rec.current.Decrypt(nil, &pm.Message)
	if err != nil {
		return nil, err
	}
	if newSession {
		if pm.HasKyber() {
			if err := m.stores.KyberPreKeys.MarkKyberPreKeyUsed(ctx, pm.KyberPreKeyID, pm.SignedPreKeyID, pm.BaseKey); err != nil {
				return nil, err
			}
		}
		if pm.HasPreKeyID {
			if err := m.stores.PreKeys.RemovePreKey(ctx, pm.PreKeyID); err != nil {
				return nil, err
			}
		}
	}
	if _, err := ids.SaveIdentity(ctx, addr, pm.IdentityKey); err != nil {
		return nil, err
	}
	if err := m.stores.Sessions.StoreSession(ctx, addr, rec); err != nil {
		return nil, err
	}
	return pt, nil
}

// findByBaseKey returns 0 if the current state was set up with base,
// i+1 for archived state i, or -1.
func findByBaseKey(rec *Record, version uint8, base []byte) int {
	if s := rec.current; s != nil && s.Version() == version && bytes.Equal(s.AliceBaseKey(), base) {
		return 0
	}
	for i := range rec.previous {
		s, err := rec.archived(i)
		if err == nil && s.Version() == version && bytes.Equal(s.AliceBaseKey(), base) {
			return i + 1
		}
	}
	return -1
}

// newBobState runs Bob's side of the key agreement for a PreKey message
// that starts a new session.
func (m *Manager) newBobState(ctx context.Context, pm *ratchet.PreKeyMessage) (*ratchet.State, error) {
	if pm.Version == ratchet.VersionX3DH && !m.allowX3DH {
		return nil, ErrX3DHDisabled
	}
	ids := m.stores.Identity
	ours, err := ids.IdentityKeyPair(ctx)
	if err != nil {
		return nil, err
	}
	regID, err := ids.LocalRegistrationID(ctx)
	if err != nil {
		return nil, err
	}
	spkRec, err := m.stores.SignedPreKeys.LoadSignedPreKey(ctx, pm.SignedPreKeyID)
	if err != nil {
		return nil, err
	}
	spk, err := spkRec.PrivateKey()
	if err != nil {
		return nil, err
	}
	var opk *keys.PrivateKey
	if pm.HasPreKeyID {
		r, err := m.stores.PreKeys.LoadPreKey(ctx, pm.PreKeyID)
		if err != nil {
			return nil, err
		}
		if opk, err = r.PrivateKey(); err != nil {
			return nil, err
		}
	}
	p := &ratchet.BobParams{
		Version:              pm.Version,
		LocalIdentity:        ours.PublicKey(),
		RemoteIdentity:       pm.IdentityKey,
		OurRatchetKey:        spk,
		TheirBaseKey:         pm.BaseKey,
		LocalRegistrationID:  regID,
		RemoteRegistrationID: pm.RegistrationID,
	}
	if pm.Version == ratchet.VersionPQXDH {
		kr, err := m.stores.KyberPreKeys.LoadKyberPreKey(ctx, pm.KyberPreKeyID)
		if err != nil {
			return nil, err
		}
		ksk, err := kr.SecretKey()
		if err != nil {
			return nil, err
		}
		sec, err := pqxdh.Respond(ours, spk, opk, ksk, pqxdh.Message{
			IdentityKey: pm.IdentityKey, BaseKey: pm.BaseKey, KyberCiphertext: pm.KyberCiphertext,
		})
		if err != nil {
			if errors.Is(err, kem.ErrWrongKEMType) || errors.Is(err, pqxdh.ErrInvalidBaseKey) {
				return nil, fmt.Errorf("%w: %w", ratchet.ErrMalformedMessage, err)
			}
			return nil, err
		}
		p.RootKey, p.ChainKey = sec.RootKey(), sec.ChainKey()
		// SPQR when this Manager requires it, or when the initiator runs it.
		if m.spqr || len(pm.Message.PQRatchet) > 0 {
			k := sec.SPQRKey()
			p.SPQRKey = &k
		}
		sec.Clear()
	} else {
		sec, err := x3dh.Respond(ours, spk, opk, x3dh.Message{IdentityKey: pm.IdentityKey, BaseKey: pm.BaseKey})
		if err != nil {
			return nil, err
		}
		p.RootKey, p.ChainKey = sec.RootKey(), sec.ChainKey()
		sec.Clear()
	}
	s, err := ratchet.NewBob(p)
	clear(p.RootKey[:])
	clear(p.ChainKey[:])
	if p.SPQRKey != nil {
		clear(p.SPQRKey[:])
	}
	return s, err
}
