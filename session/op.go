package session

import (
	"context"
	"sync"

	"github.com/ratchetlab/signal/ratchet"
)

// op is one Manager operation on one address: its inputs, its results and
// the function that runs it inside a transaction. Ops are pooled and
// op.inTx is bound once, when the op is made, so that an operation
// allocates nothing for closures or for its parsed message.
type op struct {
	m    *Manager
	addr Address
	kind opKind

	// fn is the body of an opFunc.
	fn func(ctx context.Context, st Stores, atomic bool) error

	// plaintext is Encrypt's input, out its result.
	plaintext []byte
	out       Ciphertext

	// The received message (pm.Message when preKey), the application's
	// handler (nil for Decrypt) and, for Decrypt, the plaintext.
	preKey  bool
	pm      ratchet.PreKeyMessage
	msg     ratchet.Message
	handler func(ctx context.Context, plaintext []byte) error
	pt      []byte

	inTx func(ctx context.Context, tx Stores) error
}

type opKind uint8

const (
	opFunc opKind = iota
	opEncrypt
	opReceive
)

var opPool = sync.Pool{New: func() any {
	o := new(op)
	o.inTx = o.runTx
	return o
}}

func (m *Manager) newOp(addr Address, kind opKind) *op {
	o := opPool.Get().(*op)
	o.m, o.addr, o.kind = m, addr, kind
	return o
}

// free drops what the op refers to and returns it to the pool.
func (o *op) free() {
	inTx := o.inTx
	*o = op{inTx: inTx}
	opPool.Put(o)
}

// message returns the received Whisper message (inside the PreKey message
// for a PreKey message).
func (o *op) message() *ratchet.Message {
	if o.preKey {
		return &o.pm.Message
	}
	return &o.msg
}

// exec runs o once, inside a transaction for o.addr when the stores offer
// Atomic (then st are the transaction's stores), else with the plain
// stores. It is the Manager's only commit point: every operation reads and
// writes through the Stores it is given.
func (m *Manager) exec(ctx context.Context, o *op) error {
	if m.stores.Atomic == nil {
		return o.do(ctx, m.stores, false)
	}
	if m.pooledTx(o) {
		return m.stores.Atomic.(*MemoryStore).atomicPooled(ctx, o.addr, o.inTx)
	}
	return m.stores.Atomic.Atomic(ctx, o.addr, o.inTx)
}

// pooledTx reports whether exec runs o on a pooled MemoryStore
// transaction. That transaction serializes the operations on o.addr, so
// the Manager need not lock the address itself (lockFor).
func (m *Manager) pooledTx(o *op) bool {
	_, ok := m.stores.Atomic.(*MemoryStore)
	return ok && o.private()
}

// lockFor locks o.addr for o, unless a pooled transaction will
// (pooledTx) and it returns nil; unlock with m.unlockFor(o, e).
func (m *Manager) lockFor(o *op) *addrLock {
	if m.pooledTx(o) {
		return nil
	}
	return m.lock(o.addr)
}

func (m *Manager) unlockFor(o *op, e *addrLock) {
	if e != nil {
		m.unlock(o.addr, e)
	}
}

// private reports whether o hands neither the transaction nor its context
// to the application: Encrypt, and Decrypt (a receive without a handler).
func (o *op) private() bool {
	return o.kind == opEncrypt || (o.kind == opReceive && o.handler == nil)
}

func (o *op) runTx(ctx context.Context, tx Stores) error {
	if tx.Identity == nil || tx.PreKeys == nil || tx.SignedPreKeys == nil ||
		tx.KyberPreKeys == nil || tx.Sessions == nil {
		return errIncompleteTx
	}
	return o.do(ctx, tx, true)
}

func (o *op) do(ctx context.Context, st Stores, atomic bool) error {
	switch o.kind {
	case opEncrypt:
		return o.m.encryptIn(ctx, st, o)
	case opReceive:
		return o.m.receiveIn(ctx, st, atomic, o)
	default:
		return o.fn(ctx, st, atomic)
	}
}
