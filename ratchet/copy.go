package ratchet

import (
	"github.com/ratchetlab/signal/kdf"
	"github.com/ratchetlab/signal/spqr"
)

// spare keeps wiped memory of parts a State no longer holds (dropped by
// Reset or by a CopyFrom from a state without them) for the next CopyFrom.
// The parts cannot stay in their fields: a nil pq, pendingPreKey or
// pendingKyber is what makes a state classical or past the pre-key stage.
type spare struct {
	pq    *spqr.State
	pre   *PendingPreKey
	kyber *PendingKyberPreKey
}

// CopyFrom makes s a deep copy of src, reusing s's memory (the receiving
// chains and their skipped keys, the pending pre-key records, the base key
// and the SPQR state): copying a state of the same shape into s again
// allocates nothing. It is for stores that keep decoded states and hand out
// a scratch copy per message instead of decoding and encoding the record.
// Afterwards no operation on either state (Encrypt, Decrypt,
// TrimSkippedKeys, ClearPendingPreKey, Reset, …) affects the other.
//
// CopyFrom matches Clone: an open SPQR step of src is not part of the copy
// (see spqr.State.CopyFrom), and the test seams (key generator, SPQR send)
// are copied. The sending chain's loaded private key is shared: a
// keys.PrivateKey is never changed after it is made. Neither s nor src may
// be nil.
func (s *State) CopyFrom(src *State) {
	if s == src {
		return
	}
	s.version = src.version
	s.localIdentity, s.remoteIdentity = src.localIdentity, src.remoteIdentity
	s.rootKey = src.rootKey
	s.prevCounter = src.prevCounter
	s.sender, s.hasSender = src.sender, src.hasSender
	s.copyReceivers(src.receivers)

	if src.pendingPreKey == nil {
		s.dropPendingPreKey()
	} else {
		if s.pendingPreKey == nil {
			s.pendingPreKey, s.spare.pre = s.spare.pre, nil
			if s.pendingPreKey == nil {
				s.pendingPreKey = new(PendingPreKey)
			}
		}
		*s.pendingPreKey = *src.pendingPreKey
	}
	if src.pendingKyber == nil {
		s.dropPendingKyber()
	} else {
		if s.pendingKyber == nil {
			s.pendingKyber, s.spare.kyber = s.spare.kyber, nil
			if s.pendingKyber == nil {
				s.pendingKyber = new(PendingKyberPreKey)
			}
		}
		k, sk := s.pendingKyber, src.pendingKyber
		k.PreKeyID = sk.PreKeyID
		k.Ciphertext = copyBytes(k.Ciphertext, sk.Ciphertext)
	}

	s.remoteRegistrationID, s.localRegistrationID = src.remoteRegistrationID, src.localRegistrationID
	if src.aliceBaseKey == nil {
		clear(s.aliceBaseKey)
		s.aliceBaseKey = nil
	} else {
		s.aliceBaseKey = copyBytes(s.aliceBaseKey, src.aliceBaseKey)
	}

	if src.pq == nil {
		s.dropPQ()
	} else {
		if s.pq == nil {
			s.pq, s.spare.pq = s.spare.pq, nil
			if s.pq == nil {
				s.pq = new(spqr.State)
			}
		}
		s.pq.CopyFrom(src.pq)
	}

	s.newKey, s.pqSend = src.newKey, src.pqSend
}

// Reset wipes every secret s holds (the root key, the chain keys, the
// ratchet private key's bytes, the skipped message keys and the SPQR
// secrets) and makes s an empty State, keeping its memory for a later
// CopyFrom. Call it before putting a State in a pool, so that old keys do
// not linger there (forward secrecy). A reset State has no sending or
// receiving chain, encodes as an empty state and is meant only as a
// CopyFrom destination.
//
// The loaded private key object of the sending chain may be shared with
// copies (see CopyFrom); Reset drops the reference without wiping it, and
// wipes the key bytes the state holds itself.
func (s *State) Reset() {
	all := s.receivers[:cap(s.receivers)]
	for i := range all {
		wipeSkipped(all[i].skipped)
		all[i] = receiverChain{skipped: all[i].skipped[:0]}
	}
	s.dropPendingPreKey()
	s.dropPendingKyber()
	s.dropPQ()
	clear(s.aliceBaseKey)
	clear(s.rootKey[:])
	clear(s.sender.privRaw[:])
	clear(s.sender.chainKey[:])
	*s = State{receivers: all[:0], aliceBaseKey: s.aliceBaseKey[:0], spare: s.spare}
}

func (s *State) dropPendingPreKey() {
	if p := s.pendingPreKey; p != nil {
		*p = PendingPreKey{}
		if s.spare.pre == nil {
			s.spare.pre = p
		}
		s.pendingPreKey = nil
	}
}

func (s *State) dropPendingKyber() {
	if k := s.pendingKyber; k != nil {
		clear(k.Ciphertext)
		*k = PendingKyberPreKey{Ciphertext: k.Ciphertext[:0]}
		if s.spare.kyber == nil {
			s.spare.kyber = k
		}
		s.pendingKyber = nil
	}
}

func (s *State) dropPQ() {
	if pq := s.pq; pq != nil {
		pq.Reset()
		if s.spare.pq == nil {
			s.spare.pq = pq
		}
		s.pq = nil
	}
}

// copyReceivers makes s's receiving chains a deep copy of src, in s's
// memory.
func (s *State) copyReceivers(src []receiverChain) {
	n := len(src)
	if cap(s.receivers) < n {
		old := s.receivers[:cap(s.receivers)]
		// Room for a new chain before the oldest is dropped.
		grown := make([]receiverChain, len(old), max(n, MaxReceiverChains)+1)
		copy(grown, old) // keeps the skipped keys' memory
		clear(old)
		s.receivers = grown
	}
	all := s.receivers[:cap(s.receivers)]
	// Dropping the oldest chain shifts the array in place, which leaves the
	// last chain's skipped-key slice in two elements: reuse each buffer
	// once.
	for i := range all {
		for j := range i {
			if sameBuffer(all[i].skipped, all[j].skipped) {
				all[i].skipped = nil
				break
			}
		}
	}
	for i := range s.receivers { // the legacy keys s owns, before they are dropped
		for _, k := range s.receivers[i].skipped {
			if k.legacy != nil {
				*k.legacy = kdf.MessageKeys{}
			}
		}
	}
	for i := range all {
		d := &all[i]
		buf := d.skipped
		if i < n {
			*d = src[i]
			d.skipped = copySkipped(buf, src[i].skipped)
		} else {
			clear(buf[:cap(buf)])
			*d = receiverChain{skipped: buf[:0]}
		}
	}
	s.receivers = all[:n]
}

// copySkipped returns a copy of src in dst's memory when it has room,
// clearing what dst held beyond. Legacy keys are copied too, so that
// wiping one state's keys leaves the other's.
func copySkipped(dst, src []skippedKey) []skippedKey {
	if cap(dst) < len(src) {
		clear(dst[:cap(dst)])
		dst = make([]skippedKey, 0, len(src))
	}
	clear(dst[len(src):cap(dst)])
	dst = append(dst[:0], src...)
	for i := range dst {
		if l := dst[i].legacy; l != nil {
			c := *l
			dst[i].legacy = &c
		}
	}
	return dst
}

// wipeSkipped clears skipped keys, their legacy keys and the memory beyond.
func wipeSkipped(sk []skippedKey) {
	for _, k := range sk[:cap(sk)] {
		if k.legacy != nil {
			*k.legacy = kdf.MessageKeys{}
		}
	}
	clear(sk[:cap(sk)])
}

// copyBytes returns a copy of src in dst's memory when it has room (else in
// new memory), clearing what dst held beyond.
func copyBytes(dst, src []byte) []byte {
	if cap(dst) < len(src) {
		clear(dst[:cap(dst)])
		return append(make([]byte, 0, len(src)), src...)
	}
	clear(dst[len(src):cap(dst)])
	return append(dst[:0], src...)
}

// sameBuffer reports whether two slices start in the same array element.
func sameBuffer[T any](a, b []T) bool {
	return cap(a) > 0 && cap(b) > 0 && &a[:1][0] == &b[:1][0]
}
