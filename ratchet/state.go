package ratchet

import (
	"fmt"
	"math"

	"github.com/ratchetlab/signal/kdf"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/spqr"
)

// Limits, as libsignal sets them.
const (
	// MaxForwardJumps is how far ahead of its chain a message may be.
	MaxForwardJumps = 25000
	// MaxMessageKeys is how many skipped message keys a receiving chain
	// keeps; the oldest are evicted first.
	MaxMessageKeys = 2000
	// MaxReceiverChains is how many receiving chains a state keeps; the
	// oldest is dropped first.
	MaxReceiverChains = 5
)

// State is one Double Ratchet session state, what libsignal stores as a
// SessionStructure. The zero value is not usable: states come from
// NewAlice, NewBob or ParseState.
type State struct {
	version        uint8
	localIdentity  keys.PublicKey
	remoteIdentity keys.PublicKey
	rootKey        [32]byte
	prevCounter    uint32

	sender    senderChain
	hasSender bool
	// receivers are ordered oldest first; the newest is last.
	receivers []receiverChain

	pendingPreKey *PendingPreKey
	pendingKyber  *PendingKyberPreKey

	remoteRegistrationID uint32
	localRegistrationID  uint32
	aliceBaseKey         []byte
	// pq is the SPQR state (field 15), decoded with the State and encoded
	// when the State is; nil for a classical session.
	pq *spqr.State

	// newKey draws ratchet key pairs; tests replace it.
	newKey func() (*keys.PrivateKey, error)
	// pqSend, when set, replaces the SPQR send step on the state's
	// encoding; tests set it to inject recorded randomness.
	pqSend func(state []byte) (newState []byte, key *[32]byte, msg []byte, err error)

	// spare keeps wiped memory of dropped parts for CopyFrom (copy.go).
	spare spare
}

type senderChain struct {
	pub keys.PublicKey
	// priv is loaded from privRaw and pub on first use (a DH ratchet step),
	// without recomputing the public key (keys.LoadPrivateKey).
	priv     *keys.PrivateKey
	privRaw  [32]byte
	chainKey [32]byte
	index    uint32
}

func newSenderChain(priv *keys.PrivateKey, chainKey [32]byte) senderChain {
	c := senderChain{pub: priv.PublicKey(), priv: priv, chainKey: chainKey}
	copy(c.privRaw[:], priv.Bytes())
	return c
}

// private returns the chain's ratchet private key, loading it on first use.
// The public key stored beside it is trusted rather than recomputed (a
// scalar base multiplication per loaded record); a record whose two halves
// do not match gives agreements the peer does not share, so its messages
// fail to decrypt.
func (c *senderChain) private() (*keys.PrivateKey, error) {
	if c.priv == nil {
		p, err := keys.LoadPrivateKey(c.privRaw[:], c.pub)
		if err != nil {
			return nil, err
		}
		c.priv = p
	}
	return c.priv, nil
}

type receiverChain struct {
	ratchetKey keys.PublicKey
	chainKey   [32]byte
	index      uint32
	// skipped holds the keys of messages not yet received, oldest first
	// (libsignal stores them newest first; the encoding reverses).
	skipped []skippedKey
}

type skippedKey struct {
	index uint32
	seed  [32]byte
	// legacy holds expanded keys from records written before seeds were
	// stored (libsignal < 0.67.2); such keys carry no seed.
	legacy *kdf.MessageKeys
}

// PendingPreKey describes the pre-keys an initiator used, kept until the
// peer answers, so that every message until then is a PreKeySignalMessage.
type PendingPreKey struct {
	// PreKeyID is the peer's one-time pre-key, if HasPreKeyID.
	PreKeyID    uint32
	HasPreKeyID bool
	// SignedPreKeyID is the peer's signed pre-key.
	SignedPreKeyID uint32
	// BaseKey is our ephemeral key (EK_A), serialized.
	BaseKey keys.PublicKey
	// Timestamp is when the session was created, in seconds since the
	// Unix epoch.
	Timestamp uint64
}

// PendingKyberPreKey describes the Kyber pre-key an initiator used.
type PendingKyberPreKey struct {
	PreKeyID   uint32
	Ciphertext []byte // serialized KEM ciphertext, with its type byte
}

// AliceParams are the inputs of the initiator's state, after X3DH or PQXDH.
type AliceParams struct {
	// Version is VersionX3DH or VersionPQXDH.
	Version uint8
	// LocalIdentity and RemoteIdentity are the two identity keys.
	LocalIdentity, RemoteIdentity keys.PublicKey
	// RootKey and ChainKey come from the key agreement.
	RootKey, ChainKey [32]byte
	// TheirRatchetKey is the peer's signed pre-key (SPK_B).
	TheirRatchetKey keys.PublicKey
	// BaseKey is our ephemeral key (EK_A).
	BaseKey keys.PublicKey
	// SendingKey, if not nil, is our first ratchet key pair; otherwise one
	// is generated.
	SendingKey *keys.PrivateKey
	// PendingPreKey and PendingKyberPreKey are announced in every message
	// until the peer answers.
	PendingPreKey      PendingPreKey
	PendingKyberPreKey *PendingKyberPreKey
	// LocalRegistrationID and RemoteRegistrationID are stored with the
	// state.
	LocalRegistrationID, RemoteRegistrationID uint32
	// SPQRKey, if not nil, starts the post-quantum ratchet (SPQR v1) beside
	// the Double Ratchet, keyed with PQXDH's third output block. Such a
	// session requires SPQR on every message, as libsignal ≥ 0.92 does.
	// Nil gives a classical session.
	SPQRKey *[32]byte
	// NoteToSelf lifts the SPQR chain's jump limit for a session with
	// oneself (libsignal's self_session), as the classical chains' limit
	// is lifted for a state whose two identities are equal.
	NoteToSelf bool
}

// NewAlice returns the initiator's state: a receiving chain on the peer's
// signed pre-key with the agreed chain key, and a sending chain from one DH
// ratchet step with a new ratchet key (RatchetInitAlice).
func NewAlice(p *AliceParams) (*State, error) {
	if p.Version != VersionX3DH && p.Version != VersionPQXDH {
		return nil, &VersionError{Version: p.Version}
	}
	s := &State{
		version:              p.Version,
		localIdentity:        p.LocalIdentity,
		remoteIdentity:       p.RemoteIdentity,
		aliceBaseKey:         p.BaseKey.Bytes(),
		localRegistrationID:  p.LocalRegistrationID,
		remoteRegistrationID: p.RemoteRegistrationID,
	}
	priv := p.SendingKey
	if priv == nil {
		var err error
		if priv, err = keys.GeneratePrivateKey(); err != nil {
			return nil, err
		}
	}
	dh, err := priv.Agree(p.TheirRatchetKey)
	if err != nil {
		return nil, err
	}
	root, cks := kdf.RootStep(&p.RootKey, &dh)
	clear(dh[:])
	s.rootKey = root
	s.receivers = []receiverChain{{ratchetKey: p.TheirRatchetKey, chainKey: p.ChainKey}}
	s.sender = newSenderChain(priv, cks)
	s.hasSender = true
	pp := p.PendingPreKey
	pp.BaseKey = p.BaseKey
	s.pendingPreKey = &pp
	if p.PendingKyberPreKey != nil {
		pk := *p.PendingKyberPreKey
		pk.Ciphertext = append([]byte(nil), pk.Ciphertext...)
		s.pendingKyber = &pk
	}
	s.pq = initSPQR(p.SPQRKey, spqr.A2B, p.NoteToSelf)
	return s, nil
}

// initSPQR returns the initial SPQR state, or nil for a classical session.
func initSPQR(key *[32]byte, dir spqr.Direction, self bool) *spqr.State {
	if key == nil {
		return nil
	}
	var params spqr.ChainParams
	if self {
		params.MaxJump = math.MaxUint32
	}
	return spqr.New(*key, dir, params)
}

// BobParams are the inputs of the responder's state, after X3DH or PQXDH.
type BobParams struct {
	// Version is VersionX3DH or VersionPQXDH.
	Version uint8
	// LocalIdentity and RemoteIdentity are the two identity keys.
	LocalIdentity, RemoteIdentity keys.PublicKey
	// RootKey and ChainKey come from the key agreement.
	RootKey, ChainKey [32]byte
	// OurRatchetKey is our signed pre-key (SPK_B), the first ratchet key.
	OurRatchetKey *keys.PrivateKey
	// TheirBaseKey is the initiator's ephemeral key (EK_A).
	TheirBaseKey keys.PublicKey
	// LocalRegistrationID and RemoteRegistrationID are stored with the
	// state.
	LocalRegistrationID, RemoteRegistrationID uint32
	// SPQRKey and NoteToSelf are as in AliceParams.
	SPQRKey    *[32]byte
	NoteToSelf bool
}

// NewBob returns the responder's state: a sending chain on the signed
// pre-key with the agreed chain key and no receiving chain yet
// (RatchetInitBob).
func NewBob(p *BobParams) (*State, error) {
	if p.Version != VersionX3DH && p.Version != VersionPQXDH {
		return nil, &VersionError{Version: p.Version}
	}
	if p.OurRatchetKey == nil {
		return nil, fmt.Errorf("ratchet: NewBob needs our ratchet key")
	}
	return &State{
		version:              p.Version,
		localIdentity:        p.LocalIdentity,
		remoteIdentity:       p.RemoteIdentity,
		rootKey:              p.RootKey,
		sender:               newSenderChain(p.OurRatchetKey, p.ChainKey),
		hasSender:            true,
		aliceBaseKey:         p.TheirBaseKey.Bytes(),
		localRegistrationID:  p.LocalRegistrationID,
		remoteRegistrationID: p.RemoteRegistrationID,
		pq:                   initSPQR(p.SPQRKey, spqr.B2A, p.NoteToSelf),
	}, nil
}

// Version returns the session version: VersionX3DH or VersionPQXDH.
func (s *State) Version() uint8 { return s.version }

// LocalIdentity returns our identity key.
func (s *State) LocalIdentity() keys.PublicKey { return s.localIdentity }

// RemoteIdentity returns the peer's identity key.
func (s *State) RemoteIdentity() keys.PublicKey { return s.remoteIdentity }

// LocalRegistrationID returns our registration id as stored in the state.
func (s *State) LocalRegistrationID() uint32 { return s.localRegistrationID }

// RemoteRegistrationID returns the peer's registration id.
func (s *State) RemoteRegistrationID() uint32 { return s.remoteRegistrationID }

// SetRemoteRegistrationID sets the peer's registration id.
func (s *State) SetRemoteRegistrationID(id uint32) { s.remoteRegistrationID = id }

// AliceBaseKey returns the initiator's base key (EK_A) as stored, or nil.
func (s *State) AliceBaseKey() []byte { return s.aliceBaseKey }

// HasPQRatchet reports whether the session runs the post-quantum ratchet
// (SPQR) beside the Double Ratchet.
func (s *State) HasPQRatchet() bool { return s.pq != nil }

// keepPQ stores the SPQR state after a committed step; a state downgraded
// to V0 makes the session classical.
func (s *State) keepPQ(pq *spqr.State) {
	s.pq = pq
	if pq.IsV0() {
		s.pq = nil
	}
}

// HasSenderChain reports whether the state can encrypt.
func (s *State) HasSenderChain() bool { return s.hasSender }

// SenderRatchetKey returns our current ratchet public key.
func (s *State) SenderRatchetKey() keys.PublicKey {
	if !s.hasSender {
		return keys.PublicKey{}
	}
	return s.sender.pub
}

// PendingPreKey returns the unacknowledged pre-key information, or nil once
// the peer has answered.
func (s *State) PendingPreKey() *PendingPreKey {
	if s.pendingPreKey == nil {
		return nil
	}
	p := *s.pendingPreKey
	return &p
}

// PendingKyberPreKey returns the unacknowledged Kyber pre-key information,
// or nil.
func (s *State) PendingKyberPreKey() *PendingKyberPreKey {
	if s.pendingKyber == nil {
		return nil
	}
	p := *s.pendingKyber
	p.Ciphertext = append([]byte(nil), p.Ciphertext...)
	return &p
}

// ClearPendingPreKey forgets the pending pre-key information, as archiving
// a state does.
func (s *State) ClearPendingPreKey() {
	s.pendingPreKey = nil
	s.pendingKyber = nil
}

// withSelf reports whether s is a session with oneself (a note-to-self
// session between one's own devices): the same identity key on both ends.
// As in libsignal, such sessions have no MaxForwardJumps limit.
func (s *State) withSelf() bool {
	return s.remoteIdentity == s.localIdentity
}

// versionByte is the first byte of the messages s writes. legacy chooses
// 0x33 for version 3 (see EncryptOptions.LegacyVersionByte).
func (s *State) versionByte(legacy bool) byte {
	if legacy && s.version == VersionX3DH {
		return VersionX3DH<<4 | VersionX3DH
	}
	return versionByte(s.version)
}

// Clone returns a deep copy of s (see CopyFrom).
func (s *State) Clone() *State {
	c := new(State)
	c.CopyFrom(s)
	return c
}

func (s *State) generateKey() (*keys.PrivateKey, error) {
	if s.newKey != nil {
		return s.newKey()
	}
	return keys.GeneratePrivateKey()
}

// findReceiver returns the index of the receiving chain for a ratchet key,
// or -1.
func (s *State) findReceiver(k keys.PublicKey) int {
	for i := len(s.receivers) - 1; i >= 0; i-- {
		if s.receivers[i].ratchetKey == k {
			return i
		}
	}
	return -1
}

// Format implements fmt.Formatter; a state prints only public facts.
func (s *State) Format(f fmt.State, verb rune) {
	if s == nil {
		fmt.Fprint(f, "ratchet.State(nil)")
		return
	}
	fmt.Fprintf(f, "ratchet.State(version=%d, receivers=%d, pending=%t)", s.version, len(s.receivers), s.pendingPreKey != nil)
}
