package session

import (
	"context"
	"sync"

	"github.com/ratchetlab/signal/senderkey"
)

// senderKeyRecords holds MemoryStore's sender key records in their encoded
// form. Its zero value is ready to use.
type senderKeyRecords struct {
	mu sync.Mutex
	m  map[senderKeyName][]byte
}

// LoadSenderKey implements SenderKeyStore.
func (s *MemoryStore) LoadSenderKey(_ context.Context, sender Address, id senderkey.DistributionID) (*senderkey.Record, error) {
	sk := &s.senderKeys
	sk.mu.Lock()
	b, ok := sk.m[senderKeyName{sender, id}]
	sk.mu.Unlock()
	if !ok {
		return nil, nil
	}
	return senderkey.ParseRecord(b)
}

// StoreSenderKey implements SenderKeyStore.
func (s *MemoryStore) StoreSenderKey(_ context.Context, sender Address, id senderkey.DistributionID, r *senderkey.Record) error {
	b, err := r.MarshalBinary()
	if err != nil {
		return err
	}
	sk := &s.senderKeys
	sk.mu.Lock()
	if sk.m == nil {
		sk.m = make(map[senderKeyName][]byte)
	}
	sk.m[senderKeyName{sender, id}] = b
	sk.mu.Unlock()
	return nil
}

// DeleteSenderKey removes the record for (sender, id) and reports whether
// there was one.
func (s *MemoryStore) DeleteSenderKey(sender Address, id senderkey.DistributionID) bool {
	sk := &s.senderKeys
	sk.mu.Lock()
	defer sk.mu.Unlock()
	_, ok := sk.m[senderKeyName{sender, id}]
	delete(sk.m, senderKeyName{sender, id})
	return ok
}

type senderKeyWrite struct {
	name senderKeyName
	b    []byte
}

// LoadSenderKey implements SenderKeyStore: the transaction's own writes
// first, then the store.
func (tx *memoryTx) LoadSenderKey(ctx context.Context, sender Address, id senderkey.DistributionID) (*senderkey.Record, error) {
	name := senderKeyName{sender, id}
	for i := len(tx.senderKeys) - 1; i >= 0; i-- {
		if tx.senderKeys[i].name == name {
			return senderkey.ParseRecord(tx.senderKeys[i].b)
		}
	}
	return tx.s.LoadSenderKey(ctx, sender, id)
}

// StoreSenderKey implements SenderKeyStore: the record is applied when the
// transaction commits.
func (tx *memoryTx) StoreSenderKey(_ context.Context, sender Address, id senderkey.DistributionID, r *senderkey.Record) error {
	b, err := r.MarshalBinary()
	if err != nil {
		return err
	}
	name := senderKeyName{sender, id}
	for i := range tx.senderKeys {
		if tx.senderKeys[i].name == name {
			tx.senderKeys[i].b = b
			return nil
		}
	}
	tx.senderKeys = append(tx.senderKeys, senderKeyWrite{name, b})
	return nil
}
