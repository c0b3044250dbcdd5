package spqr

// Deep copies that reuse the destination's memory, and Reset, for stores
// that keep decoded states and copy them per message (see ratchet.State.
// CopyFrom).
//
// A copy never shares memory with its source: Send and Recv append into the
// chain's key histories and the decoder's point slices in place, CopyFrom
// itself writes into the destination's buffers, and Commit and Reset wipe
// what a state drops. Every buffer a State holds is therefore its own, which
// is what lets CopyFrom overwrite the destination's buffers in place.

// spare is the memory of parts a State no longer holds (dropped by Reset or
// by a CopyFrom from a state without them), wiped, kept for the next
// CopyFrom.
type spare struct {
	neg   *negotiation
	chain *chain
	scka  *scka
	// bufs, enc and dec are parts of the SCKA state that a copy of another
	// state kind dropped (byte fields wiped; the encoder and decoder hold
	// public data only).
	bufs [ucEs + 1][]byte
	enc  *encoder
	dec  *decoder
}

// CopyFrom makes st a deep copy of src, reusing st's memory: copying a state
// of the same shape into st again allocates nothing. It is for stores that
// keep decoded states and hand out a scratch copy per message. Afterwards
// no operation on either state (Send, Recv, Commit, Rollback, Reset) affects
// the other.
//
// An open step of src (a Send or Recv not yet committed or rolled back) is
// not part of the copy, as with [State.Clone]: st gets src as it is now, and
// a Rollback of st does nothing. An open step of st is committed first (the
// secrets it dropped are wiped), as st is being overwritten. A nil src
// (the V0 state) resets st; st must not be nil.
func (st *State) CopyFrom(src *State) {
	if st == src {
		return
	}
	st.Commit()
	if src == nil {
		st.Reset()
		st.v0 = true
		return
	}
	st.v0 = src.v0

	if src.neg == nil {
		st.dropNeg()
	} else {
		if st.neg == nil {
			if sp := st.spare; sp != nil {
				st.neg, sp.neg = sp.neg, nil
			}
			if st.neg == nil {
				st.neg = &negotiation{}
			}
		}
		n, sn := st.neg, src.neg
		n.authKey = copyBytes(n.authKey, sn.authKey)
		n.dir, n.minVersion, n.params = sn.dir, sn.minVersion, sn.params
	}

	if src.chain == nil {
		st.dropChain()
	} else {
		if st.chain == nil {
			if sp := st.spare; sp != nil {
				st.chain, sp.chain = sp.chain, nil
			}
			if st.chain == nil {
				st.chain = &chain{}
			}
		}
		st.chain.copyFrom(src.chain)
	}

	if src.scka == nil {
		st.dropSCKA()
	} else {
		if st.scka == nil {
			if sp := st.spare; sp != nil {
				st.scka, sp.scka = sp.scka, nil
			}
			if st.scka == nil {
				st.scka = &scka{}
			}
		}
		st.scka.copyFrom(src.scka, st)
	}
}

// Reset wipes every secret st holds (the auth key, the chain keys and key
// histories, the authenticator, the ML-KEM decapsulation key and
// encapsulation state) and makes st an empty state (no negotiation, chain or
// SCKA; it encodes as empty), keeping its memory for a later CopyFrom. Call
// it before pooling a State, so that old keys do not linger (forward
// secrecy). An open step is committed first.
func (st *State) Reset() {
	if st == nil {
		return
	}
	st.Commit()
	st.dropNeg()
	st.dropChain()
	st.dropSCKA()
	st.v0 = false
}

// spareMem returns st's spare memory, allocating its holder once.
func (st *State) spareMem() *spare {
	if st.spare == nil {
		st.spare = &spare{}
	}
	return st.spare
}

// dropNeg wipes the negotiation and keeps it as spare memory.
func (st *State) dropNeg() {
	n := st.neg
	if n == nil {
		return
	}
	st.neg = nil
	clear(n.authKey)
	*n = negotiation{authKey: n.authKey[:0]}
	if sp := st.spareMem(); sp.neg == nil {
		sp.neg = n
	}
}

// dropChain wipes the chain and keeps it as spare memory.
func (st *State) dropChain() {
	c := st.chain
	if c == nil {
		return
	}
	st.chain = nil
	links := c.links[:cap(c.links)]
	for i := range links {
		links[i].send.wipe()
		links[i].recv.wipe()
	}
	*c = chain{links: c.links[:0], discarded: c.discarded[:0]}
	if sp := st.spareMem(); sp.chain == nil {
		sp.chain = c
	}
}

// wipe clears the half's keys, keeping the history's memory.
func (h *chainHalf) wipe() {
	p := h.prev[:cap(h.prev)]
	clear(p)
	*h = chainHalf{prev: p[:0]}
}

// dropSCKA wipes the SCKA state and keeps it as spare memory.
func (st *State) dropSCKA() {
	s := st.scka
	if s == nil {
		return
	}
	st.scka = nil
	s.wipe()
	if sp := st.spareMem(); sp.scka == nil {
		sp.scka = s
	}
}

// wipe clears the SCKA state's secrets and empties it, keeping the byte
// fields' memory (as zero-length slices: a spare scka is never used as a
// state before copyFrom sets every field).
func (s *scka) wipe() {
	var bufs [ucEs + 1][]byte
	for f := ucHdr; f <= ucEs; f++ {
		b := *s.field(f)
		b = b[:cap(b)]
		clear(b)
		bufs[f] = b[:0]
	}
	enc, dec := s.enc, s.dec
	*s = scka{enc: enc, dec: dec}
	for f := ucHdr; f <= ucEs; f++ {
		*s.field(f) = bufs[f]
	}
}

// copyFrom makes c a deep copy of src in c's memory.
func (c *chain) copyFrom(src *chain) {
	c.dir, c.currentEpoch, c.sendEpoch = src.dir, src.currentEpoch, src.sendEpoch
	c.nextRoot, c.params = src.nextRoot, src.params
	clear(c.discarded)
	c.discarded = c.discarded[:0]

	n := len(src.links)
	if cap(c.links) < n {
		old := c.links[:cap(c.links)]
		grown := make([]link, len(old), n+1) // room for the next epoch
		copy(grown, old)                     // keeps the histories' memory
		clear(old)
		c.links = grown
	}
	all := c.links[:cap(c.links)]
	// A history buffer is held by one half only (Send and Recv copy links
	// only into their snapshot), but make sure: a buffer already seen in an
	// earlier half is not reused.
	half := func(i int) *chainHalf {
		if i%2 == 0 {
			return &all[i/2].send
		}
		return &all[i/2].recv
	}
	for i := range 2 * len(all) {
		for j := range i {
			if sameBuffer(half(i).prev, half(j).prev) {
				half(i).prev = nil
				break
			}
		}
	}
	for i := range all {
		if i < n {
			all[i].send.copyFrom(&src.links[i].send)
			all[i].recv.copyFrom(&src.links[i].recv)
		} else {
			all[i].send.wipe()
			all[i].recv.wipe()
		}
	}
	c.links = all[:n]
}

// copyFrom makes h a copy of src in h's memory, wiping what h held beyond.
func (h *chainHalf) copyFrom(src *chainHalf) {
	h.ctr, h.hasNext, h.next = src.ctr, src.hasNext, src.next
	// Nil and empty histories behave alike (appends, encoding): an empty
	// copy keeps h's memory for the next keys.
	h.prev = copyBytes(h.prev, src.prev)
}

// copyFrom makes s (st's SCKA state) a deep copy of src in s's memory.
// Byte fields absent from src are wiped and dropped (nil and empty differ
// for them: encaps2 tests hdr against nil); what s drops goes to st's spare
// memory, and what s lacks comes from there when it can.
func (s *scka) copyFrom(src *scka, st *State) {
	// st.spare is nil until st first drops something: it is allocated
	// only to store into.
	s.kind, s.epoch, s.auth = src.kind, src.epoch, src.auth
	for f := ucHdr; f <= ucEs; f++ {
		d, from := s.field(f), *src.field(f)
		if from == nil {
			if *d != nil {
				clear((*d)[:cap(*d)])
				if sp := st.spareMem(); cap(sp.bufs[f]) < cap(*d) {
					sp.bufs[f] = (*d)[:0]
				}
				*d = nil
			}
			continue
		}
		if sp := st.spare; cap(*d) < len(from) && sp != nil && cap(sp.bufs[f]) >= len(from) {
			clear((*d)[:cap(*d)])
			*d, sp.bufs[f] = sp.bufs[f], nil
		}
		*d = copyBytes(*d, from)
	}
	if src.enc == nil {
		if s.enc != nil {
			if sp := st.spareMem(); sp.enc == nil {
				sp.enc = s.enc
			}
		}
		s.enc = nil
	} else {
		if s.enc == nil {
			if sp := st.spare; sp != nil {
				s.enc, sp.enc = sp.enc, nil
			}
			if s.enc == nil {
				s.enc = &encoder{}
			}
		}
		s.enc.copyFrom(src.enc)
	}
	if src.dec == nil {
		if s.dec != nil {
			if sp := st.spareMem(); sp.dec == nil {
				sp.dec = s.dec
			}
		}
		s.dec = nil
	} else {
		if s.dec == nil {
			if sp := st.spare; sp != nil {
				s.dec, sp.dec = sp.dec, nil
			}
			if s.dec == nil {
				s.dec = &decoder{}
			}
		}
		s.dec.copyFrom(src.dec)
	}
}

// copyFrom makes e a copy of src in e's symbol buffers (pts and polys swap
// roles as needed: both hold k symbols).
func (e *encoder) copyFrom(src *encoder) {
	e.idx = src.idx
	for p := range numPolys {
		bufs := [2][]uint16{e.pts[p], e.polys[p]}
		e.pts[p] = takeSymbols(&bufs, src.pts[p])
		e.polys[p] = takeSymbols(&bufs, src.polys[p])
	}
}

// takeSymbols returns a copy of src (nil for nil) in one of bufs that has
// room, taking it out of bufs, or in new memory.
func takeSymbols(bufs *[2][]uint16, src []uint16) []uint16 {
	if src == nil {
		return nil
	}
	for i := range bufs {
		if b := bufs[i]; b != nil && cap(b) >= len(src) {
			bufs[i] = nil
			return append(b[:0], src...)
		}
	}
	return append(make([]uint16, 0, len(src)), src...)
}

// copyFrom makes d a copy of src in d's point buffers. New buffers get room
// for k points per polynomial, as reserve gives, so that the points the
// next messages add fit.
func (d *decoder) copyFrom(src *decoder) {
	d.ptsNeeded = src.ptsNeeded
	k := d.k()
	var need int
	for p := range numPolys {
		if cap(d.pts[p]) < len(src.pts[p]) {
			need += max(k, len(src.pts[p])+1)
		}
	}
	var arena []point
	if need > 0 {
		arena = make([]point, need)
	}
	for p := range numPolys {
		sp := src.pts[p]
		if cap(d.pts[p]) < len(sp) {
			c := max(k, len(sp)+1)
			d.pts[p], arena = arena[:0:c], arena[c:]
		}
		d.pts[p] = append(d.pts[p][:0], sp...)
	}
}

// copyBytes returns a copy of src in dst's memory when it has room (else in
// new memory, of exactly len(src)), clearing what dst held beyond. The
// result has no spare capacity but what dst had.
func copyBytes(dst, src []byte) []byte {
	if cap(dst) < len(src) {
		clear(dst[:cap(dst)])
		return append(make([]byte, 0, len(src)), src...)
	}
	n := len(src)
	clear(dst[n:cap(dst)])
	return append(dst[:0], src...)
}

// sameBuffer reports whether two slices start in the same array element.
func sameBuffer[T any](a, b []T) bool {
	return cap(a) > 0 && cap(b) > 0 && &a[:1][0] == &b[:1][0]
}
