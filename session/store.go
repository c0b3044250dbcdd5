package session

import (
	"context"

	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
)

// Direction says whether an identity is checked for sending to a peer or
// for receiving from it.
type Direction int

// Directions.
const (
	Sending Direction = iota
	Receiving
)

// IdentityStore holds our identity key pair and registration id, and the
// identity keys of peers.
type IdentityStore interface {
	// IdentityKeyPair returns our identity private key.
	IdentityKeyPair(ctx context.Context) (*keys.PrivateKey, error)
	// LocalRegistrationID returns our registration id.
	LocalRegistrationID(ctx context.Context) (uint32, error)
	// SaveIdentity records a peer's identity key and reports whether it
	// replaced a different one.
	SaveIdentity(ctx context.Context, addr Address, key keys.PublicKey) (changed bool, err error)
	// IsTrustedIdentity reports whether key is trusted for addr in the
	// given direction.
	IsTrustedIdentity(ctx context.Context, addr Address, key keys.PublicKey, dir Direction) (bool, error)
	// Identity returns the identity key recorded for addr, if any.
	Identity(ctx context.Context, addr Address) (key keys.PublicKey, ok bool, err error)
}

// PreKeyStore holds our one-time pre-keys. Load returns ErrInvalidPreKeyID
// (possibly wrapped) for an unknown id.
type PreKeyStore interface {
	LoadPreKey(ctx context.Context, id uint32) (*prekey.PreKeyRecord, error)
	StorePreKey(ctx context.Context, r *prekey.PreKeyRecord) error
	RemovePreKey(ctx context.Context, id uint32) error
}

// SignedPreKeyStore holds our signed pre-keys. Load returns
// ErrInvalidPreKeyID (possibly wrapped) for an unknown id.
type SignedPreKeyStore interface {
	LoadSignedPreKey(ctx context.Context, id uint32) (*prekey.SignedPreKeyRecord, error)
	StoreSignedPreKey(ctx context.Context, r *prekey.SignedPreKeyRecord) error
}

// KyberPreKeyStore holds our Kyber pre-keys. Load returns
// ErrInvalidPreKeyID (possibly wrapped) for an unknown id.
type KyberPreKeyStore interface {
	LoadKyberPreKey(ctx context.Context, id uint32) (*prekey.KyberPreKeyRecord, error)
	StoreKyberPreKey(ctx context.Context, r *prekey.KyberPreKeyRecord) error
	// MarkKyberPreKeyUsed is called after a PreKey message using the Kyber
	// pre-key decrypted. It must return ErrReusedBaseKey (possibly wrapped)
	// if the same (id, signedPreKeyID, baseKey) was marked before; a store
	// may also delete one-time Kyber pre-keys here.
	MarkKyberPreKeyUsed(ctx context.Context, id, signedPreKeyID uint32, baseKey keys.PublicKey) error
}

// SessionStore holds one session record per peer address.
type SessionStore interface {
	// LoadSession returns the record for addr, or nil and no error if
	// there is none. The caller may change the returned record; the store
	// must not share it with other callers.
	LoadSession(ctx context.Context, addr Address) (*Record, error)
	// StoreSession saves the record for addr.
	StoreSession(ctx context.Context, addr Address, r *Record) error
}

// Stores groups the stores a Manager uses.
type Stores struct {
	Identity      IdentityStore
	PreKeys       PreKeyStore
	SignedPreKeys SignedPreKeyStore
	KyberPreKeys  KyberPreKeyStore
	Sessions      SessionStore
	SenderKeys    SenderKeyStore // optional: group messaging (see GroupCipher)

	// Atomic, when set, lets the Manager commit every write of one
	// operation together (see Atomic). Without it the Manager orders its
	// writes so that a failed write loses nothing on retry.
	Atomic Atomic
}

// Atomic is implemented by stores that can run several writes as one
// transaction (MemoryStore does). The Manager runs each ProcessBundle,
// Encrypt, Decrypt and Receive as one call of Atomic for the peer's
// address, reading and writing only through the Stores it is given: a
// received message's session, pre-key removal, Kyber pre-key mark and
// peer identity (and, with Receive, the application's own writes) commit
// together or not at all.
type Atomic interface {
	// Atomic runs fn with stores whose writes commit together if and only
	// if fn returns nil; if fn returns an error, or the commit fails, no
	// write of fn is visible. Transactions for the same addr are
	// serialized, across processes for stores that several processes share
	// (a row lock or a version check in the database).
	//
	// The ctx passed to fn carries the transaction, so that the
	// application can put its own writes into it (for example
	// sqlstore.Tx(ctx) returns the *sql.Tx). An implementation may run fn
	// again after a serialization failure; fn must then have no effect
	// outside the transaction. fn never calls Atomic again for the same
	// address.
	Atomic(ctx context.Context, addr Address, fn func(ctx context.Context, tx Stores) error) error
}
