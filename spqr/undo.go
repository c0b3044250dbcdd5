package spqr

// Transactions. Send and Recv change a State in place; until Commit (or the
// next Send or Recv) Rollback restores it exactly, which the Double Ratchet
// needs: it runs Recv before it checks the message's MAC and keeps its state
// unchanged when decryption fails.
//
// The snapshot is cheap because the parts of a State that a step replaces are
// never changed in place below their length: the ML-KEM byte fields are
// replaced, not written; the encoder's and decoder's symbol slices are
// appended to or rebuilt (erasure.go); a chain half's key history is appended
// to or copied (chain.go). So the snapshot copies the small structs by value
// and the chain's links into a buffer it reuses; no allocation in the steady
// state.

// undo is the snapshot of the State before the current step.
type undo struct {
	active bool
	v0     bool
	neg    *negotiation
	chain  *chain // the pointer; chainV and links its contents
	chainV chain
	links  []link
	scka   scka // the value of *State.scka (the pointer never changes)
	enc    encoder
	dec    decoder
}

// begin commits any open step and snapshots the state.
func (st *State) begin() {
	st.Commit()
	u := &st.tx
	u.active = true
	u.v0, u.neg, u.chain = st.v0, st.neg, st.chain
	if c := st.chain; c != nil {
		u.chainV = *c
		u.links = append(u.links[:0], c.links...)
	}
	if s := st.scka; s != nil {
		u.scka = *s
		if s.enc != nil {
			u.enc = *s.enc
		}
		if s.dec != nil {
			u.dec = *s.dec
		}
	}
}

// Commit makes the last Send or Recv final: Rollback can no longer undo it,
// and the secrets the state dropped in it are wiped. Send and Recv commit the
// step before them on their own; call Commit when the step's result was used
// (a decrypted message accepted), so that dropped secrets do not linger.
func (st *State) Commit() {
	if st == nil || !st.tx.active {
		return
	}
	u := &st.tx
	if s := st.scka; s != nil {
		wipeDropped(u.scka.dk, s.dk)
		wipeDropped(u.scka.es, s.es)
	}
	if c := st.chain; c != nil {
		for _, p := range c.discarded {
			clear(p)
		}
		clear(c.discarded)
		c.discarded = c.discarded[:0]
	}
	if u.neg != nil && u.neg != st.neg {
		// The step ended the negotiation (the chain has started): its
		// authentication key is not needed any more.
		clear(u.neg.authKey)
	}
	if st.v0 {
		st.wipe()
		st.neg, st.chain, st.scka = nil, nil, nil
	}
	st.endTx()
}

// Rollback undoes the last Send or Recv if it was not committed yet; the
// state is then exactly as before that step. Otherwise it does nothing.
func (st *State) Rollback() {
	if st == nil || !st.tx.active {
		return
	}
	u := &st.tx
	if s := st.scka; s != nil {
		// Secrets made by the step that the old state does not hold.
		wipeDropped(s.dk, u.scka.dk)
		wipeDropped(s.es, u.scka.es)
	}
	st.v0, st.neg, st.chain = u.v0, u.neg, u.chain
	if c := u.chain; c != nil {
		*c = u.chainV
		copy(c.links, u.links)
	}
	if s := st.scka; s != nil {
		*s = u.scka
		if s.enc != nil {
			*s.enc = u.enc
		}
		if s.dec != nil {
			*s.dec = u.dec
		}
	}
	st.endTx()
}

// endTx drops the snapshot, wiping its copies of keys. The encoder and
// decoder copies hold only public protocol data (chunks of the ML-KEM
// header, key and ciphertexts) and are overwritten by the next step.
func (st *State) endTx() {
	u := &st.tx
	clear(u.links)
	u.links = u.links[:0]
	u.chainV = chain{}
	u.scka = scka{}
	u.neg, u.chain = nil, nil
	u.active = false
}

// wipeDropped clears old unless cur is the same slice.
func wipeDropped(old, cur []byte) {
	if len(old) > 0 && (len(cur) == 0 || &old[0] != &cur[0]) {
		clear(old)
	}
}

// wipe clears the secrets the state holds (for a state being dropped).
func (st *State) wipe() {
	if st.neg != nil {
		clear(st.neg.authKey)
	}
	if s := st.scka; s != nil {
		clear(s.dk)
		clear(s.es)
		s.auth = authenticator{}
	}
	if c := st.chain; c != nil {
		for i := range c.links {
			c.links[i].send.clearNext()
			c.links[i].recv.clearNext()
			clear(c.links[i].send.prev)
			clear(c.links[i].recv.prev)
		}
		clear(c.nextRoot[:])
	}
}
