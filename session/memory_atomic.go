package session

import (
	"context"
	"fmt"
	"sync"

	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
)

// Atomic implements Atomic. The writes of fn go to a buffer that is
// applied, all at once under the store's lock, only if fn returns nil and
// no other transaction has meanwhile used a pre-key this one uses (then
// Atomic returns ErrReusedBaseKey or a *PreKeyIDError and applies
// nothing). Transactions for the same address are serialized; others run
// in parallel. fn sees its own writes. The ctx passed to fn carries the
// transaction (see MemoryOnCommit). fn must not start another transaction
// for the same address: it would wait for itself.
//
// A session record that fn loads is a fresh copy; storing a record copies
// it into memory the store reuses, and the committed record it replaces
// has its keys wiped.
func (s *MemoryStore) Atomic(ctx context.Context, addr Address, fn func(ctx context.Context, tx Stores) error) error {
	defer s.txLocks.unlock(addr, s.txLocks.lock(addr))
	tx := &memoryTx{Context: ctx, s: s}
	tx.identities, tx.sessions = tx.firstIdentity[:0], tx.firstSession[:0]
	defer tx.release()
	if err := fn(tx, tx.stores()); err != nil {
		return err
	}
	return tx.commit()
}

// atomicPooled is Atomic for the Manager's own operations that hand
// neither the transaction nor its context to the application (Encrypt, and
// Decrypt without a handler): nothing can keep the transaction after fn
// returns, so it comes from a pool, and fn gets the caller's ctx. This
// saves the one allocation Atomic makes.
func (s *MemoryStore) atomicPooled(ctx context.Context, addr Address, fn func(ctx context.Context, tx Stores) error) error {
	defer s.txLocks.unlock(addr, s.txLocks.lock(addr))
	tx := txPool.Get().(*memoryTx)
	tx.Context, tx.s, tx.pooled = ctx, s, true
	tx.identities, tx.sessions = tx.firstIdentity[:0], tx.firstSession[:0]
	defer tx.recycle()
	if err := fn(ctx, tx.stores()); err != nil {
		return err
	}
	return tx.commit()
}

var txPool = sync.Pool{New: func() any { return new(memoryTx) }}

// recycle releases tx (see release) and returns it, emptied, to txPool.
func (tx *memoryTx) recycle() {
	tx.release()
	*tx = memoryTx{}
	txPool.Put(tx)
}

type memoryTxKey struct{}

// Value implements context.Context: the transaction is the context passed
// to fn, carrying itself under memoryTxKey (one allocation less than
// context.WithValue).
func (tx *memoryTx) Value(key any) any {
	if _, ok := key.(memoryTxKey); ok {
		return tx
	}
	return tx.Context.Value(key)
}

// MemoryOnCommit registers f to run when the MemoryStore transaction that
// ctx carries commits, and reports whether ctx carries one. It stands in
// for the application's own writes in that transaction (a SQL store would
// hand out its *sql.Tx instead): f runs after the store's writes are
// applied, and never if the transaction is abandoned.
func MemoryOnCommit(ctx context.Context, f func()) bool {
	tx, ok := ctx.Value(memoryTxKey{}).(*memoryTx)
	if ok {
		tx.onCommit = append(tx.onCommit, f)
	}
	return ok
}

// memoryTx buffers the writes of one MemoryStore transaction. A nil value
// in preKeys marks a removed pre-key.
type memoryTx struct {
	// Context is the caller's; the transaction adds itself (Value).
	context.Context
	s       *MemoryStore
	preKeys map[uint32][]byte
	// loaded holds the pre-keys read from the store. consumed holds the
	// removed pre-keys that this transaction read or that existed when
	// removed: the commit fails if another transaction removed them
	// meanwhile.
	loaded    map[uint32]bool
	consumed  map[uint32]bool
	signed    map[uint32][]byte
	kyber     map[uint32][]byte
	kyberUsed map[kyberUse]struct{}
	// identities and sessions are short lists: a transaction is for one
	// address, and small slices cost less than maps.
	identities []identityWrite
	sessions   []sessionWrite
	senderKeys []senderKeyWrite
	onCommit   []func()
	// pooled marks a transaction of atomicPooled, which nothing outside
	// the package sees. Only there does the first LoadSession lend pooled
	// memory: scratch (nil before it); scratchStored says that StoreSession
	// took it as the write.
	pooled        bool
	scratch       *Record
	scratchStored bool
	// slot is the committed slot LoadSession found for slotAddr.
	slotAddr Address
	slot     *sessionSlot
	// The last identity read from the store, so that checking and then
	// saving it reads the store once.
	seenAddr       Address
	seenKey        keys.PublicKey
	seen, seenHave bool
	committed      bool
	done           bool
	// firstIdentity and firstSession hold the first entry of identities and sessions.
	firstIdentity [1]identityWrite
	firstSession  [1]sessionWrite
}

type identityWrite struct {
	addr Address
	key  keys.PublicKey
}

// sessionWrite is a session record written in a transaction: rec is owned
// by the transaction until the commit moves it into the store.
type sessionWrite struct {
	addr Address
	rec  *Record
}

func (tx *memoryTx) stores() Stores {
	return Stores{Identity: tx, PreKeys: tx, SignedPreKeys: tx, KyberPreKeys: tx, Sessions: tx, SenderKeys: tx}
}

// Format implements fmt.Formatter; a transaction prints no key material.
func (tx *memoryTx) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "session.memoryTx(sessions=%d)", len(tx.sessions))
}

func setIn[K comparable, V any](m *map[K]V, k K, v V) {
	if *m == nil {
		*m = make(map[K]V)
	}
	(*m)[k] = v
}

func (tx *memoryTx) IdentityKeyPair(ctx context.Context) (*keys.PrivateKey, error) {
	return tx.s.IdentityKeyPair(ctx)
}

func (tx *memoryTx) LocalRegistrationID(ctx context.Context) (uint32, error) {
	return tx.s.LocalRegistrationID(ctx)
}

func (tx *memoryTx) Identity(ctx context.Context, addr Address) (keys.PublicKey, bool, error) {
	for _, w := range tx.identities {
		if w.addr == addr {
			return w.key, true, nil
		}
	}
	if tx.seen && tx.seenAddr == addr {
		return tx.seenKey, tx.seenHave, nil
	}
	k, ok, err := tx.s.Identity(ctx, addr)
	if err == nil {
		tx.seen, tx.seenAddr, tx.seenKey, tx.seenHave = true, addr, k, ok
	}
	return k, ok, err
}

func (tx *memoryTx) SaveIdentity(ctx context.Context, addr Address, key keys.PublicKey) (bool, error) {
	old, ok, _ := tx.Identity(ctx, addr)
	if ok && old == key {
		return false, nil // nothing to write (every message saves the identity)
	}
	for i := range tx.identities {
		if tx.identities[i].addr == addr {
			tx.identities[i].key = key
			return ok && old != key, nil
		}
	}
	tx.identities = append(tx.identities, identityWrite{addr, key})
	return ok && old != key, nil
}

func (tx *memoryTx) IsTrustedIdentity(ctx context.Context, addr Address, key keys.PublicKey, _ Direction) (bool, error) {
	if tx.s.trust == TrustAll {
		return true, nil
	}
	old, ok, _ := tx.Identity(ctx, addr)
	return !ok || old == key, nil
}

// get reads id from the buffer m, else from the store's map base.
func (tx *memoryTx) get(m map[uint32][]byte, base map[uint32][]byte, id uint32) ([]byte, error) {
	if b, ok := m[id]; ok {
		if b == nil {
			return nil, fmt.Errorf("%w: %d", ErrInvalidPreKeyID, id)
		}
		return b, nil
	}
	return tx.s.get(base, id)
}

func (tx *memoryTx) LoadPreKey(_ context.Context, id uint32) (*prekey.PreKeyRecord, error) {
	_, buffered := tx.preKeys[id]
	b, err := tx.get(tx.preKeys, tx.s.preKeys, id)
	if err != nil {
		return nil, err
	}
	if !buffered {
		setIn(&tx.loaded, id, true)
	}
	return prekey.ParsePreKeyRecord(b)
}

func (tx *memoryTx) StorePreKey(_ context.Context, r *prekey.PreKeyRecord) error {
	b, err := r.MarshalBinary()
	if err == nil {
		setIn(&tx.preKeys, r.ID(), b)
	}
	return err
}

func (tx *memoryTx) RemovePreKey(_ context.Context, id uint32) error {
	if _, ok := tx.preKeys[id]; !ok {
		tx.s.mu.Lock()
		_, existed := tx.s.preKeys[id]
		tx.s.mu.Unlock()
		if existed || tx.loaded[id] {
			setIn(&tx.consumed, id, true)
		}
	}
	setIn(&tx.preKeys, id, nil)
	return nil
}

func (tx *memoryTx) LoadSignedPreKey(_ context.Context, id uint32) (*prekey.SignedPreKeyRecord, error) {
	b, err := tx.get(tx.signed, tx.s.signed, id)
	if err != nil {
		return nil, err
	}
	return prekey.ParseSignedPreKeyRecord(b)
}

func (tx *memoryTx) StoreSignedPreKey(_ context.Context, r *prekey.SignedPreKeyRecord) error {
	b, err := r.MarshalBinary()
	if err == nil {
		setIn(&tx.signed, r.ID(), b)
	}
	return err
}

func (tx *memoryTx) LoadKyberPreKey(_ context.Context, id uint32) (*prekey.KyberPreKeyRecord, error) {
	b, err := tx.get(tx.kyber, tx.s.kyber, id)
	if err != nil {
		return nil, err
	}
	return prekey.ParseKyberPreKeyRecord(b)
}

func (tx *memoryTx) StoreKyberPreKey(_ context.Context, r *prekey.KyberPreKeyRecord) error {
	b, err := r.MarshalBinary()
	if err == nil {
		setIn(&tx.kyber, r.ID(), b)
	}
	return err
}

func (tx *memoryTx) MarkKyberPreKeyUsed(_ context.Context, id, signedID uint32, base keys.PublicKey) error {
	u := kyberUse{id, signedID, base}
	if _, ok := tx.kyberUsed[u]; ok {
		return ErrReusedBaseKey
	}
	tx.s.mu.Lock()
	_, used := tx.s.kyberUsed[u]
	tx.s.mu.Unlock()
	if used {
		return ErrReusedBaseKey
	}
	setIn(&tx.kyberUsed, u, struct{}{})
	return nil
}

// commit checks that no other transaction used the same pre-keys, then
// applies every buffered write under the store's lock.
func (tx *memoryTx) commit() error {
	s := tx.s
	s.mu.Lock()
	for u := range tx.kyberUsed {
		if _, ok := s.kyberUsed[u]; ok {
			s.mu.Unlock()
			return ErrReusedBaseKey
		}
	}
	for id := range tx.consumed {
		if _, ok := s.preKeys[id]; !ok {
			s.mu.Unlock()
			return &PreKeyIDError{Kind: "one-time", ID: id}
		}
	}
	for _, w := range tx.identities {
		s.identities[w.addr] = w.key
	}
	for id, b := range tx.preKeys {
		if b == nil {
			delete(s.preKeys, id)
		} else {
			s.preKeys[id] = b
		}
	}
	for id, b := range tx.signed {
		s.signed[id] = b
	}
	for id, b := range tx.kyber {
		s.kyber[id] = b
	}
	for u := range tx.kyberUsed {
		s.kyberUsed[u] = struct{}{}
	}
	for i, w := range tx.sessions {
		slot := tx.slot
		if slot == nil || w.addr != tx.slotAddr {
			slot = s.slot(w.addr)
		}
		// Swap: the store takes the transaction's record, the
		// transaction releases the old one (release, below). A slot
		// deleted meanwhile (DeleteSession) takes it too and drops it:
		// the delete came after this transaction.
		tx.sessions[i].rec, slot.rec = slot.rec, w.rec
	}
	tx.committed = true
	if len(tx.senderKeys) > 0 {
		sk := &s.senderKeys
		sk.mu.Lock()
		if sk.m == nil {
			sk.m = make(map[senderKeyName][]byte)
		}
		for _, w := range tx.senderKeys {
			sk.m[w.name] = w.b
		}
		sk.mu.Unlock()
	}
	s.mu.Unlock()
	for _, f := range tx.onCommit {
		f()
	}
	return nil
}

// Format implements fmt.Formatter for every verb: the store prints counts,
// never its identity key, pre-keys or session records.
func (s *MemoryStore) Format(f fmt.State, _ rune) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(f, "session.MemoryStore(registrationID=%d, identities=%d, sessions=%d, preKeys=%d, signedPreKeys=%d, kyberPreKeys=%d)",
		s.regID, len(s.identities), len(s.sessions), len(s.preKeys), len(s.signed), len(s.kyber))
}
