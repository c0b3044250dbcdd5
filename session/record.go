package session

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/ratchet"
)

// MaxArchivedStates is how many previous session states a record keeps.
const MaxArchivedStates = 40

// Record is the session record of one peer: the current session state
// and the archived ones, newest first. Its binary form is libsignal's
// RecordStructure:
//
//	RecordStructure { 1 current_session SessionStructure
//	                  2 previous_sessions repeated bytes }
//
// Archived states are kept in their encoded form and decoded only when a
// message needs them.
type Record struct {
	current *ratchet.State
	// previous holds the archived states, encoded. Their bytes are never
	// changed in place, so copies of a record share them.
	previous [][]byte
	// spare is a State kept for reuse by copyFrom while current is nil.
	spare *ratchet.State
}

// NewRecord returns an empty record.
func NewRecord() *Record { return new(Record) }

// ParseRecord decodes a record in libsignal's RecordStructure encoding. The
// current state is decoded and checked; archived states are checked when
// they are first used. It never panics and rejects more than
// MaxArchivedStates archived states.
func ParseRecord(b []byte) (*Record, error) {
	r := new(Record)
	var archived []byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, ErrInvalidRecord
		}
		b = b[n:]
		if typ != protowire.BytesType {
			if num == 1 || num == 2 {
				return nil, ErrInvalidRecord
			}
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return nil, ErrInvalidRecord
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, ErrInvalidRecord
		}
		b = b[n:]
		switch num {
		case 1:
			if len(v) == 0 {
				// An empty SessionStructure, which libsignal-java writes
				// for a fresh record: no session.
				r.current = nil
				continue
			}
			s, err := ratchet.ParseState(v)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrInvalidRecord, err)
			}
			r.current = s
		case 2:
			if len(r.previous) == MaxArchivedStates {
				return nil, fmt.Errorf("%w: too many archived states", ErrInvalidRecord)
			}
			if archived == nil {
				// One copy for every archived state (they are never
				// changed in place); b holds at most the rest of them.
				archived = make([]byte, 0, len(v)+len(b))
			}
			at := len(archived)
			archived = append(archived, v...)
			r.previous = append(r.previous, archived[at:len(archived):len(archived)])
		}
	}
	return r, nil
}

// MarshalBinary encodes the record in libsignal's RecordStructure encoding.
func (r *Record) MarshalBinary() ([]byte, error) {
	n := 8
	if r.current != nil {
		n += r.current.SizeHint()
	}
	for _, p := range r.previous {
		n += len(p) + 4
	}
	return r.AppendBinary(make([]byte, 0, n))
}

// AppendBinary appends the record's encoding to dst.
func (r *Record) AppendBinary(dst []byte) ([]byte, error) {
	if r.current != nil {
		dst = protowire.AppendTag(dst, 1, protowire.BytesType)
		at := len(dst)
		dst = append(dst, 0, 0, 0) // room for a length up to 2^21
		var err error
		if dst, err = r.current.AppendBinary(dst); err != nil {
			return nil, err
		}
		n := len(dst) - at - 3
		w := protowire.SizeVarint(uint64(n))
		if w > 3 {
			return nil, fmt.Errorf("session: state too large")
		}
		copy(dst[at+w:], dst[at+3:])
		dst = dst[:len(dst)-(3-w)]
		protowire.AppendVarint(dst[at:at], uint64(n))
	}
	for _, p := range r.previous {
		dst = protowire.AppendTag(dst, 2, protowire.BytesType)
		dst = protowire.AppendBytes(dst, p)
	}
	return dst, nil
}

// clone returns a deep copy of r.
func (r *Record) clone() *Record {
	c := &Record{previous: append([][]byte(nil), r.previous...)}
	if r.current != nil {
		c.current = r.current.Clone()
	}
	return c
}

// copyFrom makes r a deep copy of src, reusing r's memory: copying the
// same session again allocates nothing.
func (r *Record) copyFrom(src *Record) {
	switch {
	case src.current == nil && r.current != nil:
		r.current.Reset()
		r.spare, r.current = r.current, nil
	case src.current != nil:
		if r.current == nil {
			r.current, r.spare = r.spare, nil
			if r.current == nil {
				r.current = new(ratchet.State)
			}
		}
		r.current.CopyFrom(src.current)
	}
	clear(r.previous)
	r.previous = append(r.previous[:0], src.previous...)
}

// reset wipes the secrets of r's current state and empties r, keeping its
// memory for copyFrom. (The archived states' bytes may be shared with other
// records and are left to the garbage collector.)
func (r *Record) reset() {
	if r.current != nil {
		r.current.Reset()
		r.spare, r.current = r.current, nil
	}
	clear(r.previous)
	r.previous = r.previous[:0]
}

// Format implements fmt.Formatter for every verb (%v, %+v, %#v, %s, ...):
// a record prints only public facts, never key material.
func (r Record) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "session.Record(current=%t, archived=%d)", r.current != nil, len(r.previous))
}

// HasCurrentState reports whether the record has a current session state.
func (r *Record) HasCurrentState() bool { return r.current != nil }

// currentState returns the current session state, or nil. Changes to it
// change the record.
func (r *Record) currentState() *ratchet.State { return r.current }

// ArchivedStates returns how many previous states the record holds.
func (r *Record) ArchivedStates() int { return len(r.previous) }

// archiveCurrent moves the current state to the front of the archive,
// without its pending pre-key, dropping the oldest beyond
// MaxArchivedStates.
func (r *Record) archiveCurrent() error {
	if r.current == nil {
		return nil
	}
	r.current.ClearPendingPreKey()
	r.current.TrimSkippedKeys(MaxArchivedSkippedKeys)
	b, err := r.current.MarshalBinary()
	if err != nil {
		return err
	}
	if len(r.previous) >= MaxArchivedStates {
		r.previous = r.previous[:MaxArchivedStates-1]
	}
	r.previous = append(r.previous, nil)
	copy(r.previous[1:], r.previous)
	r.previous[0] = b
	// The archive has the state now: wipe its decoded keys, keeping the
	// memory for copyFrom.
	r.current.Reset()
	r.spare, r.current = r.current, nil
	return nil
}

// promote makes s the current state, archiving the old current one.
func (r *Record) promote(s *ratchet.State) error {
	if err := r.archiveCurrent(); err != nil {
		return err
	}
	r.current = s
	return nil
}

// promoteArchived makes archived state i (already decoded as s) current.
func (r *Record) promoteArchived(i int, s *ratchet.State) error {
	r.previous = append(r.previous[:i], r.previous[i+1:]...)
	return r.promote(s)
}

// archived decodes archived state i.
func (r *Record) archived(i int) (*ratchet.State, error) {
	s, err := ratchet.ParseState(r.previous[i])
	if err != nil {
		return nil, fmt.Errorf("%w: archived state %d: %w", ErrInvalidRecord, i, err)
	}
	return s, nil
}
