package spqr

import (
	"encoding/binary"
	"fmt"

	"github.com/ratchetlab/signal/kdf"
)

// The symmetric chain of spqr src/chain.rs: a per-epoch pair of KDF chains (A2B and
// B2A) seeded from the auth key and then from each SCKA epoch secret, giving
// one 32-byte key per message, with bounded out-of-order storage.

const (
	labelChainStart    = "Signal PQ Ratchet V1 Chain  Start" // two spaces
	labelChainAddEpoch = "Signal PQ Ratchet V1 Chain Add Epoch"
	labelChainNext     = "Signal PQ Ratchet V1 Chain Next"

	// DefaultMaxJump is the default (and libsignal's) limit on how far a
	// received message index may be ahead of its chain.
	DefaultMaxJump = 25000
	// DefaultMaxOOOKeys is the default (and libsignal's) number of
	// out-of-order keys kept per chain.
	DefaultMaxOOOKeys = 2000

	// epochsKeptBeforeSend is how many epochs before the send epoch stay
	// available for receiving.
	epochsKeptBeforeSend = 1
	// histEntry is the size of a key-history entry: BE32(index) || key.
	histEntry = 4 + 32
)

// Direction says which party a state belongs to: A2B is the PQXDH initiator
// (Alice), B2A the responder (Bob).
type Direction int32

// The two directions, with their protobuf enum values.
const (
	A2B Direction = 0
	B2A Direction = 1
)

// String returns "A2B" or "B2A".
func (d Direction) String() string {
	switch d {
	case A2B:
		return "A2B"
	case B2A:
		return "B2A"
	}
	return fmt.Sprintf("Direction(%d)", int32(d))
}

// ChainParams bounds the out-of-order handling of the chain. Zero fields
// mean the defaults ([DefaultMaxJump], [DefaultMaxOOOKeys]). libsignal uses
// the defaults, and MaxJump = math.MaxUint32 for note-to-self sessions.
type ChainParams struct {
	// MaxJump is the largest accepted gap between a received message index
	// and the last index of its chain.
	MaxJump uint32
	// MaxOOOKeys is how far behind the newest index a late message may be;
	// keys of skipped indices within that window are kept.
	MaxOOOKeys uint32
}

func (p ChainParams) maxJump() uint64 {
	if p.MaxJump == 0 {
		return DefaultMaxJump
	}
	return uint64(p.MaxJump)
}

func (p ChainParams) maxOOO() uint64 {
	if p.MaxOOOKeys == 0 {
		return DefaultMaxOOOKeys
	}
	return uint64(p.MaxOOOKeys)
}

// normalized stores defaults as 0, as the protobuf encoding does.
func (p ChainParams) normalized() ChainParams {
	if p.MaxJump == DefaultMaxJump {
		p.MaxJump = 0
	}
	if p.MaxOOOKeys == DefaultMaxOOOKeys {
		p.MaxOOOKeys = 0
	}
	return p
}

// chainHalf is one direction of one epoch: a counter, the next chain key
// (absent once cleared) and the key history of §8.
//
// prev is never changed in place below its length: entries are appended, and
// an operation that removes or reorders entries works on a copy. A
// transaction's snapshot (undo.go) can therefore keep the old slice header.
type chainHalf struct {
	ctr     uint32
	hasNext bool
	next    [32]byte
	prev    []byte // concatenated BE32(index) || key entries
}

// clearNext drops the next chain key.
func (h *chainHalf) clearNext() {
	clear(h.next[:])
	h.hasNext = false
}

// nextBytes is next as the encoding has it: 32 bytes, or empty.
func (h *chainHalf) nextBytes() []byte {
	if !h.hasNext {
		return nil
	}
	return h.next[:]
}

// link is one epoch of the chain.
type link struct {
	send, recv chainHalf
}

// chain is the symmetric chain state.
type chain struct {
	dir          Direction
	currentEpoch uint64
	sendEpoch    uint64
	links        []link // epochs currentEpoch-len(links)+1 .. currentEpoch
	nextRoot     [32]byte
	params       ChainParams
	// discarded holds key histories replaced by copies during the current
	// transaction, wiped when it commits.
	discarded [][]byte
}

// Format prints no key material.
func (c chain) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "spqr.chain{dir: %v, epoch: %d, send_epoch: %d}", c.dir, c.currentEpoch, c.sendEpoch)
}

// newLink splits a 96-byte chain output into next_root and the two seeds.
func (c *chain) newLink(g []byte) link {
	copy(c.nextRoot[:], g[:32])
	var a2b, b2a chainHalf
	a2b.hasNext, b2a.hasNext = true, true
	copy(a2b.next[:], g[32:64])
	copy(b2a.next[:], g[64:96])
	if c.dir == A2B {
		return link{send: a2b, recv: b2a}
	}
	return link{send: b2a, recv: a2b}
}

// newChain runs Chain start on the auth key.
func newChain(authKey []byte, dir Direction, params ChainParams) *chain {
	c := &chain{dir: dir, params: params.normalized()}
	var g [96]byte
	kdf.HKDF(g[:0], authKey, nil, []byte(labelChainStart), 96)
	c.links = []link{c.newLink(g[:])}
	clear(g[:])
	return c
}

// addEpoch mixes the secret of epoch e into the chain.
func (c *chain) addEpoch(e uint64, secret []byte) error {
	if e != c.currentEpoch+1 {
		return ErrEpochOutOfRange
	}
	var g [96]byte
	kdf.HKDF(g[:0], secret, c.nextRoot[:], []byte(labelChainAddEpoch), 96)
	c.links = append(c.links, c.newLink(g[:]))
	clear(g[:])
	c.currentEpoch = e
	return nil
}

// firstEpoch is the epoch of links[0].
func (c *chain) firstEpoch() uint64 { return c.currentEpoch + 1 - uint64(len(c.links)) }

// link returns the link of epoch e, or nil.
func (c *chain) link(e uint64) *link {
	if len(c.links) == 0 || e > c.currentEpoch || e < c.firstEpoch() {
		return nil
	}
	return &c.links[e-c.firstEpoch()]
}

// nextKey runs Chain next key on h.
func (h *chainHalf) nextKey() (uint32, [32]byte) {
	h.ctr++
	var info [4 + len(labelChainNext)]byte
	binary.BigEndian.PutUint32(info[:], h.ctr)
	copy(info[4:], labelChainNext)
	var o [64]byte
	kdf.HKDF(o[:0], h.next[:], nil, info[:], 64)
	copy(h.next[:], o[:32])
	var key [32]byte
	copy(key[:], o[32:])
	clear(o[:])
	return h.ctr, key
}

// sendKey returns the next send key of chain epoch e and its index.
func (c *chain) sendKey(e uint64) (uint32, [32]byte, error) {
	if e < c.sendEpoch {
		return 0, [32]byte{}, ErrSendKeyEpochDecreased
	}
	l := c.link(e)
	if l == nil || !l.send.hasNext {
		return 0, [32]byte{}, ErrEpochOutOfRange
	}
	if e != c.sendEpoch {
		c.sendEpoch = e
		for len(c.links) > 0 && c.firstEpoch()+epochsKeptBeforeSend < e {
			c.links = c.links[1:]
		}
		for i := range c.links {
			if c.firstEpoch()+uint64(i) < e {
				c.links[i].send.clearNext()
			}
		}
		l = c.link(e)
	}
	idx, key := l.send.nextKey()
	return idx, key, nil
}

// recvKey returns the key of index at in the receive chain of epoch e.
func (c *chain) recvKey(e uint64, at uint32) ([32]byte, error) {
	var key [32]byte
	l := c.link(e)
	if l == nil {
		return key, ErrEpochOutOfRange
	}
	h := &l.recv
	maxOOO := c.params.maxOOO()
	switch {
	case at == h.ctr:
		return key, ErrKeyAlreadyRequested
	case at < h.ctr:
		if uint64(at)+maxOOO < uint64(h.ctr) {
			return key, ErrKeyTrimmed
		}
		if !h.take(at, &key, c) {
			return key, ErrKeyAlreadyRequested
		}
		return key, nil
	}
	if uint64(at-h.ctr) > c.params.maxJump() {
		return key, ErrKeyJump
	}
	if !h.hasNext {
		return key, ErrEpochOutOfRange
	}
	if uint64(at) > uint64(h.ctr)+maxOOO {
		c.discard(h.prev)
		h.prev = nil
	}
	for h.ctr+1 < at {
		idx, k := h.nextKey()
		if uint64(idx)+maxOOO >= uint64(at) {
			h.prev = binary.BigEndian.AppendUint32(h.prev, idx)
			h.prev = append(h.prev, k[:]...)
		}
	}
	h.gc(maxOOO, c)
	_, key = h.nextKey()
	return key, nil
}

// discard keeps a replaced key history for wiping at commit.
func (c *chain) discard(prev []byte) {
	if len(prev) > 0 {
		c.discarded = append(c.discarded, prev)
	}
}

// take removes the stored key of index at, moving the last entry into the gap.
func (h *chainHalf) take(at uint32, key *[32]byte, c *chain) bool {
	for off := 0; off+histEntry <= len(h.prev); off += histEntry {
		if binary.BigEndian.Uint32(h.prev[off:]) != at {
			continue
		}
		copy(key[:], h.prev[off+4:off+histEntry])
		c.discard(h.prev)
		h.removeAt(off)
		return true
	}
	return false
}

// removeAt removes the entry at off, moving the last entry into the gap. It
// works on a copy of the history (see chainHalf).
func (h *chainHalf) removeAt(off int) {
	last := len(h.prev) - histEntry
	p := make([]byte, last, len(h.prev))
	copy(p, h.prev[:last])
	copy(p[off:off+histEntry], h.prev[last:])
	h.prev = p
}

// gc drops entries below ctr - maxOOO once the history reaches trim size.
func (h *chainHalf) gc(maxOOO uint64, c *chain) {
	trim := maxOOO*11/10 + 1
	if uint64(len(h.prev)) < trim*histEntry {
		return
	}
	var low uint64
	if uint64(h.ctr) > maxOOO {
		low = uint64(h.ctr) - maxOOO
	}
	// The same result as removing each old entry in turn by moving the
	// last entry into its gap (libsignal's swap_remove), built in a copy.
	c.discard(h.prev)
	p := make([]byte, len(h.prev))
	copy(p, h.prev)
	for off := 0; off+histEntry <= len(p); {
		if uint64(binary.BigEndian.Uint32(p[off:])) < low {
			last := len(p) - histEntry
			copy(p[off:off+histEntry], p[last:])
			clear(p[last:])
			p = p[:last]
			continue
		}
		off += histEntry
	}
	h.prev = p
}

// Format prints the counter only, never key material.
func (h chainHalf) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "spqr.chainHalf{ctr: %d, stored: %d}", h.ctr, len(h.prev)/histEntry)
}

// Format prints the counters only, never key material.
func (l link) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "spqr.link{send: %v, recv: %v}", l.send, l.recv)
}
