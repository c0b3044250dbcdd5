package session

import (
	"context"
	"fmt"
	"sync"

	"github.com/ratchetlab/signal/sealed"
	"github.com/ratchetlab/signal/senderkey"
)

// SealedReceive is SealedDecrypt with Receive's guarantee: handler gets the
// decrypted message, and the inner message's session (types PreKey and
// Whisper) or sender key record (type SenderKey) advances if and only if
// handler returns nil. With stores that offer Atomic, handler runs inside
// the transaction that stores the advanced state, so the application can
// save the message in it (see Receive); without Atomic, handler runs before
// anything is stored, so a crash in between delivers the message again
// rather than losing it.
//
// The envelope, certificate and self-send checks come first and change
// nothing, as in SealedDecrypt. Sender key messages always go through the
// Manager's own sender key store (opts.Groups is not used).
func (m *Manager) SealedReceive(ctx context.Context, msg []byte, opts SealedDecryptOptions,
	handler func(ctx context.Context, sm *SealedMessage) error) error {
	sm, c, err := m.openSealed(ctx, msg, opts)
	if err != nil {
		return err
	}
	switch c.Type() {
	case sealed.PreKeyType, sealed.WhisperType:
		return m.Receive(ctx, sm.Sender, innerCiphertext(c), func(ctx context.Context, pt []byte) error {
			sm.Plaintext = pt
			return handler(ctx, sm)
		})
	case sealed.SenderKeyType:
		if m.stores.SenderKeys == nil {
			return fmt.Errorf("%w: no Stores.SenderKeys", ErrSealedGroupUnsupported)
		}
		return m.receiveGroup(ctx, sm, c.Contents(), handler)
	case sealed.PlaintextType:
		if sm.Plaintext, err = plaintextContent(c.Contents()); err != nil {
			return err
		}
		return handler(ctx, sm)
	default:
		return fmt.Errorf("%w: inner type %d", ErrUnknownMessageType, c.Type())
	}
}

// receiveGroup decrypts a sealed sender key message and runs handler before
// the advanced record is committed: inside Atomic when the stores offer it,
// else through a buffer that reaches the store only after handler
// succeeded, under the Manager's lock for the sender.
func (m *Manager) receiveGroup(ctx context.Context, sm *SealedMessage, skm []byte,
	handler func(ctx context.Context, sm *SealedMessage) error) error {
	run := func(ctx context.Context, store SenderKeyStore) error {
		pt, dist, err := NewGroupCipher(store, m.local).Decrypt(ctx, sm.Sender, skm)
		if err != nil {
			return err
		}
		sm.Plaintext, sm.DistributionID = pt, dist
		return handler(ctx, sm)
	}
	if m.stores.Atomic != nil {
		return m.stores.Atomic.Atomic(ctx, sm.Sender, func(ctx context.Context, tx Stores) error {
			if tx.SenderKeys == nil {
				return fmt.Errorf("%w: the transaction has no SenderKeys", ErrSealedGroupUnsupported)
			}
			return run(ctx, tx.SenderKeys)
		})
	}
	e := m.lock(sm.Sender)
	defer m.unlock(sm.Sender, e)
	buf := &bufferedSenderKeys{SenderKeyStore: m.stores.SenderKeys}
	if err := run(ctx, buf); err != nil {
		return err
	}
	return buf.flush(ctx)
}

// bufferedSenderKeys holds sender key records written through it until
// flush.
type bufferedSenderKeys struct {
	SenderKeyStore
	mu      sync.Mutex
	pending []bufferedSenderKey
}

type bufferedSenderKey struct {
	sender Address
	id     senderkey.DistributionID
	r      *senderkey.Record
}

func (b *bufferedSenderKeys) LoadSenderKey(ctx context.Context, sender Address, id senderkey.DistributionID) (*senderkey.Record, error) {
	b.mu.Lock()
	for i := len(b.pending) - 1; i >= 0; i-- {
		if p := b.pending[i]; p.sender == sender && p.id == id {
			b.mu.Unlock()
			return p.r.Clone(), nil
		}
	}
	b.mu.Unlock()
	return b.SenderKeyStore.LoadSenderKey(ctx, sender, id)
}

func (b *bufferedSenderKeys) StoreSenderKey(_ context.Context, sender Address, id senderkey.DistributionID, r *senderkey.Record) error {
	b.mu.Lock()
	b.pending = append(b.pending, bufferedSenderKey{sender, id, r.Clone()})
	b.mu.Unlock()
	return nil
}

func (b *bufferedSenderKeys) flush(ctx context.Context) error {
	for _, p := range b.pending {
		if err := b.SenderKeyStore.StoreSenderKey(ctx, p.sender, p.id, p.r); err != nil {
			return err
		}
	}
	return nil
}
