package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/ratchet"
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
	// locks serializes the operations of this Manager per address.
	locks addrLocks
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
	m := &Manager{stores: stores, now: time.Now, spqr: true}
	for _, o := range opts {
		o(m)
	}
	return m, nil
}

// lock locks addr for this Manager; unlock it with m.unlock(addr, e).
func (m *Manager) lock(addr Address) *addrLock { return m.locks.lock(addr) }

func (m *Manager) unlock(addr Address, e *addrLock) { m.locks.unlock(addr, e) }

// Format implements fmt.Formatter for every verb: a Manager prints its
// options, never its stores (fmt would print the fields of a store behind
// an unexported field raw, key material included, for verbs such as %s).
func (m *Manager) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "session.Manager(x3dh=%t, spqr=%t, atomic=%t)", m.allowX3DH, m.spqr, m.stores.Atomic != nil)
}

// errIncompleteTx is returned when an Atomic implementation hands fn a
// Stores with a store missing.
var errIncompleteTx = errors.New("session: Atomic passed a transaction without every store")

// run runs fn as an operation on addr (see exec).
func (m *Manager) run(ctx context.Context, addr Address, fn func(ctx context.Context, st Stores, atomic bool) error) error {
	o := m.newOp(addr, opFunc)
	o.fn = fn
	err := m.exec(ctx, o)
	o.free()
	return err
}

// checkTrusted returns an *UntrustedIdentityError unless the identity
// store trusts key for addr in the given direction.
func checkTrusted(ctx context.Context, ids IdentityStore, addr Address, key keys.PublicKey, dir Direction) error {
	ok, err := ids.IsTrustedIdentity(ctx, addr, key, dir)
	if err != nil {
		return err
	}
	if !ok {
		return &UntrustedIdentityError{Address: addr, Key: key}
	}
	return nil
}

// loadSession loads the record for addr; a stored record that does not
// parse is our own state gone bad (ErrCorruptState).
func loadSession(ctx context.Context, st Stores, addr Address) (*Record, error) {
	rec, err := st.Sessions.LoadSession(ctx, addr)
	if err != nil {
		if errors.Is(err, ErrInvalidRecord) && !errors.Is(err, ErrCorruptState) {
			return nil, fmt.Errorf("%w: %w", ErrCorruptState, err)
		}
		return nil, err
	}
	return rec, nil
}
