package session

import (
	"context"
	"errors"
	"sync"

	"github.com/ratchetlab/signal/senderkey"
)

// SenderKeyStore holds sender key records (package senderkey), one per
// (sender address, distribution id). The local device's own sender keys are
// stored under its own address.
type SenderKeyStore interface {
	// LoadSenderKey returns the record for (sender, id), or nil and no
	// error if there is none. The caller may change the returned record;
	// the store must not share it with other callers.
	LoadSenderKey(ctx context.Context, sender Address, id senderkey.DistributionID) (*senderkey.Record, error)
	// StoreSenderKey saves the record for (sender, id).
	StoreSenderKey(ctx context.Context, sender Address, id senderkey.DistributionID, r *senderkey.Record) error
}

// ErrNoLocalAddress is returned by Manager.Groups for a Manager created
// without WithLocalAddress: a device's own sender keys are stored under its
// own address.
var ErrNoLocalAddress = errors.New("session: group messaging needs the local address (WithLocalAddress)")

// GroupCipher sends and receives group messages with sender keys for one
// local device, as libsignal's group_encrypt, group_decrypt,
// create_sender_key_distribution_message and
// process_sender_key_distribution_message do.
//
// A member first sends its distribution message (SKDM) to every other member
// inside a 1:1 message (see Manager.Encrypt): an SKDM is not authenticated
// by itself. Each member processes the SKDMs it receives with
// ProcessDistributionMessage under the sender's address. After that one
// Encrypt serves the whole group.
//
// Failures store nothing: a message that does not decrypt, or an SKDM that
// does not parse, leaves every record as it was. A GroupCipher is safe for
// concurrent use; operations on one (sender, group) are serialized.
//
// The methods of GroupCipher use libsignal's format, in which messages name
// the group by its distribution id; Legacy gives the same operations in the
// WhatsApp format.
type GroupCipher struct {
	store   SenderKeyStore
	local   Address
	locks   sync.Map // senderKeyName -> *sync.Mutex
	signing senderkey.SigningCache
}

type senderKeyName struct {
	sender Address
	id     senderkey.DistributionID
}

// NewGroupCipher returns a GroupCipher that keeps its records in store and
// stores the device's own sender keys under local.
func NewGroupCipher(store SenderKeyStore, local Address) *GroupCipher {
	return &GroupCipher{store: store, local: local}
}

// Groups returns a GroupCipher over the Manager's SenderKeys store and its
// local address. Keep the GroupCipher: it serializes the operations on one
// (sender, group) and caches what signing needs, for the operations made
// through it.
func (m *Manager) Groups() (*GroupCipher, error) {
	if m.stores.SenderKeys == nil {
		return nil, errors.New("session: Groups needs Stores.SenderKeys")
	}
	if !m.hasLocal {
		return nil, ErrNoLocalAddress
	}
	return NewGroupCipher(m.stores.SenderKeys, m.local), nil
}

func (c *GroupCipher) lock(sender Address, id senderkey.DistributionID) *sync.Mutex {
	k := senderKeyName{sender, id}
	l, ok := c.locks.Load(k)
	if !ok {
		l, _ = c.locks.LoadOrStore(k, new(sync.Mutex))
	}
	mu := l.(*sync.Mutex)
	mu.Lock()
	return mu
}

// CreateDistributionMessage returns the distribution message of the local
// device's sender key for the group id, creating the key (a random chain
// id, chain key and signing key) the first time. Later calls name the
// key's next iteration, so a member who joins late cannot read earlier
// messages.
func (c *GroupCipher) CreateDistributionMessage(ctx context.Context, id senderkey.DistributionID) (*senderkey.DistributionMessage, error) {
	return c.create(ctx, id, senderkey.Libsignal, false)
}

// ResetSenderKey discards the local device's sender key for the group id
// and returns the distribution message of a new one (a new chain id, chain
// key and signing key). Members that process it keep the old chain too, so
// messages still in flight decrypt.
func (c *GroupCipher) ResetSenderKey(ctx context.Context, id senderkey.DistributionID) (*senderkey.DistributionMessage, error) {
	return c.create(ctx, id, senderkey.Libsignal, true)
}

func (c *GroupCipher) create(ctx context.Context, id senderkey.DistributionID, enc senderkey.Format, fresh bool) (*senderkey.DistributionMessage, error) {
	defer c.lock(c.local, id).Unlock()
	var rec *senderkey.Record
	if !fresh {
		var err error
		if rec, err = c.store.LoadSenderKey(ctx, c.local, id); err != nil {
			return nil, err
		}
	}
	if rec == nil || rec.Len() == 0 {
		var err error
		if rec, err = senderkey.NewSenderKey(); err != nil {
			return nil, err
		}
		if err := c.store.StoreSenderKey(ctx, c.local, id, rec); err != nil {
			return nil, err
		}
	}
	return rec.DistributionMessage(enc, id)
}

// ProcessDistributionMessage parses a distribution message that sender
// sent (inside an authenticated 1:1 message) and adds its chain to the
// sender's record for the group the message names. It returns the parsed
// message; on error nothing is stored.
func (c *GroupCipher) ProcessDistributionMessage(ctx context.Context, sender Address, skdm []byte) (*senderkey.DistributionMessage, error) {
	d, err := senderkey.ParseDistributionMessage(skdm, senderkey.Libsignal)
	if err != nil {
		return nil, err
	}
	return d, c.process(ctx, sender, d.DistributionID, d)
}

func (c *GroupCipher) process(ctx context.Context, sender Address, id senderkey.DistributionID, d *senderkey.DistributionMessage) error {
	defer c.lock(sender, id).Unlock()
	rec, err := c.store.LoadSenderKey(ctx, sender, id)
	if err != nil {
		return err
	}
	if rec == nil {
		rec = senderkey.NewRecord()
	}
	rec.Process(d)
	return c.store.StoreSenderKey(ctx, sender, id, rec)
}

// Encrypt encrypts plaintext once for the whole group with the local
// device's sender key for the group id and returns the sender-key message
// (message type 7). It returns senderkey.ErrNoSenderKeyState if
// CreateDistributionMessage was never called for the group.
func (c *GroupCipher) Encrypt(ctx context.Context, id senderkey.DistributionID, plaintext []byte) ([]byte, error) {
	return c.encrypt(ctx, id, senderkey.Libsignal, plaintext)
}

func (c *GroupCipher) encrypt(ctx context.Context, id senderkey.DistributionID, enc senderkey.Format, plaintext []byte) ([]byte, error) {
	defer c.lock(c.local, id).Unlock()
	rec, err := c.store.LoadSenderKey(ctx, c.local, id)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, senderkey.ErrNoSenderKeyState
	}
	ct, err := rec.EncryptCached(make([]byte, 0, len(plaintext)+senderkey.Overhead(enc, len(plaintext))), enc, id, plaintext, &c.signing)
	if err != nil {
		return nil, err
	}
	if err := c.store.StoreSenderKey(ctx, c.local, id, rec); err != nil {
		return nil, err
	}
	return ct, nil
}

// Decrypt decrypts a sender-key message from sender with the sender's
// record for the group the message names, and returns the plaintext and
// that group's distribution id. Errors are those of package senderkey
// (ErrNoSenderKeyState, ErrDuplicateMessage, ErrTooFarInFuture,
// ErrBadSignature, ErrMalformed, ErrInvalidVersion, ErrDecryption) or the
// store's; on error nothing is stored.
func (c *GroupCipher) Decrypt(ctx context.Context, sender Address, ciphertext []byte) ([]byte, senderkey.DistributionID, error) {
	m, err := senderkey.ParseMessage(ciphertext, senderkey.Libsignal)
	if err != nil {
		return nil, senderkey.DistributionID{}, err
	}
	pt, err := c.decrypt(ctx, sender, m.DistributionID, &m)
	return pt, m.DistributionID, err
}

func (c *GroupCipher) decrypt(ctx context.Context, sender Address, id senderkey.DistributionID, m *senderkey.Message) ([]byte, error) {
	defer c.lock(sender, id).Unlock()
	rec, err := c.store.LoadSenderKey(ctx, sender, id)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, senderkey.ErrNoSenderKeyState
	}
	pt, err := rec.Decrypt(nil, m)
	if err != nil {
		return nil, err
	}
	if err := c.store.StoreSenderKey(ctx, sender, id, rec); err != nil {
		clear(pt)
		return nil, err
	}
	return pt, nil
}

// LegacyGroup runs the GroupCipher's operations in WhatsApp's legacy format
// (the format of go.mau.fi/libsignal) for one group: the messages carry no
// distribution id, the application's group id names the group, and a
// message may be at most 2000 iterations ahead. Its records are stored
// under senderkey.LegacyGroupID(groupID).
type LegacyGroup struct {
	c  *GroupCipher
	id senderkey.DistributionID
}

// Legacy returns the WhatsApp-format operations for the group with the
// given group id (for WhatsApp, the group's JID).
func (c *GroupCipher) Legacy(groupID string) LegacyGroup {
	return LegacyGroup{c: c, id: senderkey.LegacyGroupID(groupID)}
}

// ID returns the distribution id the group's records are stored under.
func (g LegacyGroup) ID() senderkey.DistributionID { return g.id }

// CreateDistributionMessage is GroupCipher.CreateDistributionMessage in the
// WhatsApp format.
func (g LegacyGroup) CreateDistributionMessage(ctx context.Context) (*senderkey.DistributionMessage, error) {
	return g.c.create(ctx, g.id, senderkey.WhatsApp, false)
}

// ResetSenderKey is GroupCipher.ResetSenderKey in the WhatsApp format.
func (g LegacyGroup) ResetSenderKey(ctx context.Context) (*senderkey.DistributionMessage, error) {
	return g.c.create(ctx, g.id, senderkey.WhatsApp, true)
}

// ProcessDistributionMessage is GroupCipher.ProcessDistributionMessage in
// the WhatsApp format, for this group.
func (g LegacyGroup) ProcessDistributionMessage(ctx context.Context, sender Address, skdm []byte) (*senderkey.DistributionMessage, error) {
	d, err := senderkey.ParseDistributionMessage(skdm, senderkey.WhatsApp)
	if err != nil {
		return nil, err
	}
	d.DistributionID = g.id
	return d, g.c.process(ctx, sender, g.id, d)
}

// Encrypt is GroupCipher.Encrypt in the WhatsApp format.
func (g LegacyGroup) Encrypt(ctx context.Context, plaintext []byte) ([]byte, error) {
	return g.c.encrypt(ctx, g.id, senderkey.WhatsApp, plaintext)
}

// Decrypt is GroupCipher.Decrypt in the WhatsApp format, for this group.
func (g LegacyGroup) Decrypt(ctx context.Context, sender Address, ciphertext []byte) ([]byte, error) {
	m, err := senderkey.ParseMessage(ciphertext, senderkey.WhatsApp)
	if err != nil {
		return nil, err
	}
	return g.c.decrypt(ctx, sender, g.id, &m)
}
