package session

import (
	"context"
	"errors"
	"sync"
)

// MemoryStore keeps decoded session records. A transaction copies the
// committed record (into memory from recordPool when the Manager runs its
// own pooled transaction, atomicPooled; into fresh memory when the
// application can see the record), works on that copy and, on commit,
// swaps a copy in; the record it replaced is wiped and its memory reused.
// So a message costs a copy of the record, not a decode and an encode.
// Copies are made under the store's lock, so a committed record is never
// read while it is being replaced.

// sessionSlot holds an address's committed record (nil after a delete).
// A transaction keeps the slot it loaded from, so its commit swaps the
// record in without another map lookup; the record is never handed out.
type sessionSlot struct{ rec *Record }

// recordPool holds wiped records whose memory copyFrom reuses.
var recordPool = sync.Pool{New: func() any { return new(Record) }}

// putRecord wipes r and gives its memory back to recordPool.
func putRecord(r *Record) {
	if r != nil {
		r.reset()
		recordPool.Put(r)
	}
}

// errTxDone is returned by a MemoryStore transaction's session methods
// when they are called after fn returned.
var errTxDone = errors.New("session: MemoryStore transaction used after it ended")

// LoadSession implements SessionStore: it returns a fresh copy of the
// record.
func (s *MemoryStore) LoadSession(_ context.Context, addr Address) (*Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	slot := s.sessions[addr]
	if slot == nil || slot.rec == nil {
		return nil, nil
	}
	return slot.rec.clone(), nil
}

// StoreSession implements SessionStore: it stores a copy of r.
func (s *MemoryStore) StoreSession(_ context.Context, addr Address, r *Record) error {
	c := recordPool.Get().(*Record)
	c.copyFrom(r)
	s.mu.Lock()
	slot := s.slot(addr)
	old := slot.rec
	slot.rec = c
	s.mu.Unlock()
	putRecord(old)
	return nil
}

// DeleteSession removes the record for addr, wiping its keys, and reports
// whether there was one.
func (s *MemoryStore) DeleteSession(addr Address) bool {
	s.mu.Lock()
	var old *Record
	if slot := s.sessions[addr]; slot != nil {
		old, slot.rec = slot.rec, nil
	}
	delete(s.sessions, addr)
	s.mu.Unlock()
	putRecord(old)
	return old != nil
}

// LoadSession returns the transaction's own write for addr if it made one,
// else the committed record, as a copy. In the Manager's own pooled
// transactions (atomicPooled), which nothing outside the session package
// sees, the first copy reuses pooled memory (tx.scratch). Everywhere else
// the copy is fresh memory that the store never reuses: the application
// may keep a record it loaded, and it must never turn into another
// session's record.
func (tx *memoryTx) LoadSession(_ context.Context, addr Address) (*Record, error) {
	if tx.done {
		return nil, errTxDone
	}
	s := tx.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var src *Record
	if slot := s.sessions[addr]; slot != nil {
		src = slot.rec
		tx.slotAddr, tx.slot = addr, slot
	}
	for _, w := range tx.sessions {
		if w.addr == addr {
			src = w.rec
		}
	}
	if src == nil {
		return nil, nil
	}
	var dst *Record
	if tx.pooled && tx.scratch == nil {
		tx.scratch = recordPool.Get().(*Record)
		dst = tx.scratch
	} else {
		dst = new(Record)
	}
	dst.copyFrom(src)
	return dst, nil
}

// StoreSession buffers r as the write for addr. The record the
// transaction lent (and nobody else holds) becomes the write itself;
// any other is copied.
func (tx *memoryTx) StoreSession(_ context.Context, addr Address, r *Record) error {
	if tx.done {
		return errTxDone
	}
	i := -1
	for j := range tx.sessions {
		if tx.sessions[j].addr == addr {
			i = j
		}
	}
	if i < 0 {
		tx.sessions = append(tx.sessions, sessionWrite{addr: addr})
		i = len(tx.sessions) - 1
	}
	w := &tx.sessions[i]
	switch {
	case r == w.rec:
		// Already the write.
	case r == tx.scratch && !tx.scratchStored:
		if w.rec != nil {
			putRecord(w.rec)
		}
		w.rec, tx.scratchStored = r, true
	default:
		if w.rec == nil || w.rec == tx.scratch {
			if w.rec == tx.scratch {
				// The scratch stays lent; release frees it.
				tx.scratchStored = false
			}
			w.rec = recordPool.Get().(*Record)
		}
		w.rec.copyFrom(r)
	}
	return nil
}

// release ends the transaction: it wipes and pools the records it owns —
// after a commit the replaced ones (commit swapped them into
// tx.sessions), else its own writes — and the lent scratch unless the
// store now holds it.
func (tx *memoryTx) release() {
	tx.done = true
	for i, w := range tx.sessions {
		if w.rec != tx.scratch {
			putRecord(w.rec)
		}
		tx.sessions[i].rec = nil
	}
	if tx.scratch != nil && !(tx.committed && tx.scratchStored) {
		putRecord(tx.scratch)
	}
	tx.scratch = nil
}

// slot returns addr's slot, adding an empty one if there is none. s.mu
// must be held.
func (s *MemoryStore) slot(addr Address) *sessionSlot {
	slot := s.sessions[addr]
	if slot == nil {
		slot = new(sessionSlot)
		s.sessions[addr] = slot
	}
	return slot
}
