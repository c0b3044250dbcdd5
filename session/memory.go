package session

import (
	"context"
	"fmt"
	"sync"

	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
)

// TrustPolicy decides whether a peer's identity key is trusted.
type TrustPolicy int

const (
	// TrustOnFirstUse trusts the first identity key seen for an address and
	// rejects any different key afterwards.
	TrustOnFirstUse TrustPolicy = iota
	// TrustAll accepts any identity key and records the latest. It is meant
	// for tests and tools.
	TrustAll
)

// MemoryStore implements every store in memory. It is safe for concurrent
// use. Session records are kept decoded: a Manager's Encrypt or Decrypt
// works on a copy in reused memory, so a message costs neither a record
// decode nor an encode, and a commit wipes the record it replaces. A record
// the application loads (LoadSession, or inside Atomic) is a fresh copy.
// Pre-keys and sender key records are kept encoded.
type MemoryStore struct {
	identity *keys.PrivateKey
	regID    uint32
	trust    TrustPolicy

	mu         sync.Mutex
	identities map[Address]keys.PublicKey
	preKeys    map[uint32][]byte
	signed     map[uint32][]byte
	kyber      map[uint32][]byte
	kyberUsed  map[kyberUse]struct{}
	sessions   map[Address]*sessionSlot
	senderKeys senderKeyRecords

	// txLocks serializes Atomic transactions per address.
	txLocks addrLocks
}

type kyberUse struct {
	id, signedID uint32
	base         keys.PublicKey
}

// NewMemoryStore returns an empty in-memory store for the given identity
// and registration id.
func NewMemoryStore(identity *keys.PrivateKey, registrationID uint32, trust TrustPolicy) *MemoryStore {
	return &MemoryStore{
		identity: identity, regID: registrationID, trust: trust,
		identities: make(map[Address]keys.PublicKey),
		preKeys:    make(map[uint32][]byte),
		signed:     make(map[uint32][]byte),
		kyber:      make(map[uint32][]byte),
		kyberUsed:  make(map[kyberUse]struct{}),
		sessions:   make(map[Address]*sessionSlot),
	}
}

// Stores returns a Stores with s in every role, Atomic included.
func (s *MemoryStore) Stores() Stores {
	return Stores{Identity: s, PreKeys: s, SignedPreKeys: s, KyberPreKeys: s, Sessions: s, SenderKeys: s, Atomic: s}
}

// IdentityKeyPair implements IdentityStore.
func (s *MemoryStore) IdentityKeyPair(context.Context) (*keys.PrivateKey, error) {
	return s.identity, nil
}

// LocalRegistrationID implements IdentityStore.
func (s *MemoryStore) LocalRegistrationID(context.Context) (uint32, error) { return s.regID, nil }

// SaveIdentity implements IdentityStore.
func (s *MemoryStore) SaveIdentity(_ context.Context, addr Address, key keys.PublicKey) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.identities[addr]
	s.identities[addr] = key
	return ok && old != key, nil
}

// IsTrustedIdentity implements IdentityStore.
func (s *MemoryStore) IsTrustedIdentity(_ context.Context, addr Address, key keys.PublicKey, _ Direction) (bool, error) {
	if s.trust == TrustAll {
		return true, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.identities[addr]
	return !ok || old == key, nil
}

// Identity implements IdentityStore.
func (s *MemoryStore) Identity(_ context.Context, addr Address) (keys.PublicKey, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.identities[addr]
	return k, ok, nil
}

type marshaler interface{ MarshalBinary() ([]byte, error) }

func (s *MemoryStore) put(m map[uint32][]byte, id uint32, r marshaler) error {
	b, err := r.MarshalBinary()
	if err != nil {
		return err
	}
	s.mu.Lock()
	m[id] = b
	s.mu.Unlock()
	return nil
}

func (s *MemoryStore) get(m map[uint32][]byte, id uint32) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := m[id]
	if !ok {
		return nil, fmt.Errorf("%w: %d", ErrInvalidPreKeyID, id)
	}
	return b, nil
}

// LoadPreKey implements PreKeyStore.
func (s *MemoryStore) LoadPreKey(_ context.Context, id uint32) (*prekey.PreKeyRecord, error) {
	b, err := s.get(s.preKeys, id)
	if err != nil {
		return nil, err
	}
	return prekey.ParsePreKeyRecord(b)
}

// StorePreKey implements PreKeyStore.
func (s *MemoryStore) StorePreKey(_ context.Context, r *prekey.PreKeyRecord) error {
	return s.put(s.preKeys, r.ID(), r)
}

// RemovePreKey implements PreKeyStore.
func (s *MemoryStore) RemovePreKey(_ context.Context, id uint32) error {
	s.mu.Lock()
	delete(s.preKeys, id)
	s.mu.Unlock()
	return nil
}

// PreKeyCount returns how many one-time pre-keys are stored.
func (s *MemoryStore) PreKeyCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.preKeys)
}

// LoadSignedPreKey implements SignedPreKeyStore.
func (s *MemoryStore) LoadSignedPreKey(_ context.Context, id uint32) (*prekey.SignedPreKeyRecord, error) {
	b, err := s.get(s.signed, id)
	if err != nil {
		return nil, err
	}
	return prekey.ParseSignedPreKeyRecord(b)
}

// StoreSignedPreKey implements SignedPreKeyStore.
func (s *MemoryStore) StoreSignedPreKey(_ context.Context, r *prekey.SignedPreKeyRecord) error {
	return s.put(s.signed, r.ID(), r)
}

// LoadKyberPreKey implements KyberPreKeyStore.
func (s *MemoryStore) LoadKyberPreKey(_ context.Context, id uint32) (*prekey.KyberPreKeyRecord, error) {
	b, err := s.get(s.kyber, id)
	if err != nil {
		return nil, err
	}
	return prekey.ParseKyberPreKeyRecord(b)
}

// StoreKyberPreKey implements KyberPreKeyStore.
func (s *MemoryStore) StoreKyberPreKey(_ context.Context, r *prekey.KyberPreKeyRecord) error {
	return s.put(s.kyber, r.ID(), r)
}

// MarkKyberPreKeyUsed implements KyberPreKeyStore. Kyber pre-keys are kept
// (libsignal's last-resort keys); a base key used twice with the same pair
// of pre-keys is rejected.
func (s *MemoryStore) MarkKyberPreKeyUsed(_ context.Context, id, signedID uint32, base keys.PublicKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := kyberUse{id, signedID, base}
	if _, ok := s.kyberUsed[u]; ok {
		return ErrReusedBaseKey
	}
	s.kyberUsed[u] = struct{}{}
	return nil
}
