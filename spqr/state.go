package spqr

import (
	"encoding/binary"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/internal/protofield"
)

// The state encoding of spqr src/proto/pq_ratchet.proto: the protobuf message
// signal.proto.pq_ratchet.PqRatchetState, written here field by field with
// protowire in the same order and with the same proto3 default omission as
// spqr's prost code, so that a state written by Signal's implementation
// re-encodes byte for byte. The empty byte string is the V0 state.

// stateKind is the V1State oneof tag (spqr src/v1/chunked/states.rs).
type stateKind uint8

// The eleven states of the chunked ML-KEM Braid.
const (
	kindKeysUnsampled        stateKind = 1
	kindKeysSampled          stateKind = 2
	kindHeaderSent           stateKind = 3
	kindCt1Received          stateKind = 4
	kindEkSentCt1Received    stateKind = 5
	kindNoHeaderReceived     stateKind = 6
	kindHeaderReceived       stateKind = 7
	kindCt1Sampled           stateKind = 8
	kindEkReceivedCt1Sampled stateKind = 9
	kindCt1Acknowledged      stateKind = 10
	kindCt2Sampled           stateKind = 11
)

// negotiation is PqRatchetState.version_negotiation.
type negotiation struct {
	authKey    []byte
	dir        Direction
	minVersion uint64
	params     ChainParams
}

// State is a decoded SPQR state: the protobuf message
// signal.proto.pq_ratchet.PqRatchetState that libsignal stores in
// SessionStructure field 15. A nil *State is the V0 (classical) state, whose
// encoding is empty. Parse it once with [ParseState] (or create it with
// [New]), run [State.Send] and [State.Recv] on it, and encode it with
// [State.AppendBinary] when the record is written.
//
// A State is not safe for concurrent use.
type State struct {
	neg   *negotiation
	chain *chain
	scka  *scka // nil when the oneof is absent
	// v0 is set when Recv downgraded the state to V0.
	v0 bool
	// tx is the snapshot of the last Send or Recv, until Commit or
	// Rollback.
	tx undo
	// spare keeps wiped memory of dropped parts for CopyFrom (copy.go).
	spare *spare
}

// scka is the V1State: the current state kind with the fields it holds.
type scka struct {
	kind  stateKind
	epoch uint64
	auth  authenticator
	hdr   []byte // 64
	ek    []byte // 1152
	dk    []byte // 2400
	ct1   []byte // 960
	es    []byte // 2080
	enc   *encoder
	dec   *decoder
}

// ucField names a byte field of an "unchunked" core message.
type ucField uint8

const (
	ucHdr ucField = iota
	ucEk
	ucDk
	ucCt1
	ucEs
)

// kindLayout describes how a state kind is encoded: the byte fields of its
// core message (tags 3, 4, … in order), the tags of its encoder and decoder
// (0 = none) and the lengths of the messages they carry.
type kindLayout struct {
	uc             []ucField
	encTag, decTag protowire.Number
	encLen, decLen int
}

var layouts = [12]kindLayout{
	kindKeysUnsampled:        {},
	kindKeysSampled:          {uc: []ucField{ucEk, ucDk}, encTag: 2, encLen: hdrMsgSize},
	kindHeaderSent:           {uc: []ucField{ucDk}, encTag: 2, encLen: ekSize, decTag: 3, decLen: ct1Size},
	kindCt1Received:          {uc: []ucField{ucDk, ucCt1}, encTag: 2, encLen: ekSize},
	kindEkSentCt1Received:    {uc: []ucField{ucDk, ucCt1}, decTag: 3, decLen: ct2MsgSize},
	kindNoHeaderReceived:     {decTag: 2, decLen: hdrMsgSize},
	kindHeaderReceived:       {uc: []ucField{ucHdr}, decTag: 2, decLen: ekSize},
	kindCt1Sampled:           {uc: []ucField{ucHdr, ucEs, ucCt1}, encTag: 2, encLen: ct1Size, decTag: 3, decLen: ekSize},
	kindEkReceivedCt1Sampled: {uc: []ucField{ucEs, ucEk, ucCt1}, encTag: 2, encLen: ct1Size},
	kindCt1Acknowledged:      {uc: []ucField{ucHdr, ucEs, ucCt1}, decTag: 2, decLen: ekSize},
	kindCt2Sampled:           {encTag: 2, encLen: ct2MsgSize},
}

var ucSizes = [...]int{ucHdr: hdrSize, ucEk: ekSize, ucDk: dkSize, ucCt1: ct1Size, ucEs: esSize}

func (s *scka) field(f ucField) *[]byte {
	switch f {
	case ucHdr:
		return &s.hdr
	case ucEk:
		return &s.ek
	case ucDk:
		return &s.dk
	case ucCt1:
		return &s.ct1
	}
	return &s.es
}

// ---- encoding ----

func appendParams(b []byte, p ChainParams) []byte {
	p = p.normalized()
	b = protofield.AppendVarintNonZero(b, 1, uint64(p.MaxJump))
	return protofield.AppendVarintNonZero(b, 2, uint64(p.MaxOOOKeys))
}

func appendHalf(b []byte, h *chainHalf) []byte {
	b = protofield.AppendVarintNonZero(b, 1, uint64(h.ctr))
	b = protofield.AppendBytesNonEmpty(b, 2, h.nextBytes())
	return protofield.AppendBytesNonEmpty(b, 3, h.prev)
}

func appendChain(b []byte, c *chain) []byte {
	b = protofield.AppendVarintNonZero(b, 1, uint64(c.dir))
	b = protofield.AppendVarintNonZero(b, 2, c.currentEpoch)
	for i := range c.links {
		l := &c.links[i]
		b = protofield.AppendMessage(b, 3, 1, func(b []byte) []byte {
			b = protofield.AppendMessage(b, 1, 1, func(b []byte) []byte { return appendHalf(b, &l.send) })
			return protofield.AppendMessage(b, 2, 1, func(b []byte) []byte { return appendHalf(b, &l.recv) })
		})
	}
	b = protofield.AppendBytesNonEmpty(b, 4, c.nextRoot[:])
	b = protofield.AppendVarintNonZero(b, 5, c.sendEpoch)
	return protofield.AppendMessage(b, 6, 1, func(b []byte) []byte { return appendParams(b, c.params) })
}

func appendEncoder(b []byte, e *encoder) []byte {
	b = protofield.AppendVarintNonZero(b, 1, uint64(e.idx))
	tag, src := protowire.Number(2), &e.pts
	if e.pts[0] == nil {
		tag, src = 3, &e.polys
	}
	for p := range numPolys {
		b = protowire.AppendTag(b, tag, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(2*len(src[p])))
		for _, v := range src[p] {
			b = binary.BigEndian.AppendUint16(b, v)
		}
	}
	return b
}

func appendDecoder(b []byte, d *decoder) []byte {
	b = protofield.AppendVarintNonZero(b, 1, uint64(d.ptsNeeded))
	b = protofield.AppendVarintNonZero(b, 2, numPolys)
	for p := range numPolys {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(4*len(d.pts[p])))
		for _, pt := range d.pts[p] {
			b = binary.BigEndian.AppendUint16(b, pt.x)
			b = binary.BigEndian.AppendUint16(b, pt.y)
		}
	}
	return b
}

func appendSCKA(b []byte, s *scka) []byte {
	lay := &layouts[s.kind]
	return protofield.AppendMessage(b, protowire.Number(s.kind), 1, func(b []byte) []byte {
		b = protofield.AppendMessage(b, 1, 1, func(b []byte) []byte {
			b = protofield.AppendVarintNonZero(b, 1, s.epoch)
			b = protofield.AppendMessage(b, 2, 1, func(b []byte) []byte {
				b = protofield.AppendBytesNonEmpty(b, 1, s.auth.root[:])
				return protofield.AppendBytesNonEmpty(b, 2, s.auth.mac[:])
			})
			for i, f := range lay.uc {
				b = protofield.AppendBytesNonEmpty(b, protowire.Number(3+i), *s.field(f))
			}
			return b
		})
		for tag := protowire.Number(2); tag <= 3; tag++ {
			switch tag {
			case lay.encTag:
				b = protofield.AppendMessage(b, tag, 1, func(b []byte) []byte { return appendEncoder(b, s.enc) })
			case lay.decTag:
				b = protofield.AppendMessage(b, tag, 1, func(b []byte) []byte { return appendDecoder(b, s.dec) })
			}
		}
		return b
	})
}

// marshal encodes the state; a nil state is V0 and encodes as empty.
func (st *State) marshal() []byte {
	if st == nil || st.v0 {
		return []byte{}
	}
	return st.appendTo(make([]byte, 0, st.SizeHint()))
}

// SizeHint returns an upper bound of the length of the state's encoding,
// for sizing the buffer given to AppendBinary.
func (st *State) SizeHint() int {
	if st == nil || st.v0 {
		return 0
	}
	n := 128
	if c := st.chain; c != nil {
		n += 64
		for i := range c.links {
			n += 96 + len(c.links[i].send.prev) + len(c.links[i].recv.prev)
		}
	}
	if s := st.scka; s != nil {
		n += 128 + len(s.hdr) + len(s.ek) + len(s.dk) + len(s.ct1) + len(s.es)
		if s.enc != nil {
			n += 32 + 4*numPolys*max(len(s.enc.pts[0]), len(s.enc.polys[0]))
		}
		if s.dec != nil {
			for p := range numPolys {
				n += 4 + 4*len(s.dec.pts[p])
			}
		}
	}
	return n
}

// AppendBinary appends the state's PqRatchetState encoding to dst, as
// libsignal writes it (the V0 state appends nothing). It never fails; the
// error is for encoding.BinaryAppender.
func (st *State) AppendBinary(dst []byte) ([]byte, error) {
	if st == nil || st.v0 {
		return dst, nil
	}
	return st.appendTo(dst), nil
}

// MarshalBinary returns the state's encoding (empty for V0).
func (st *State) MarshalBinary() ([]byte, error) { return st.marshal(), nil }

func (st *State) appendTo(b []byte) []byte {
	if n := st.neg; n != nil {
		b = protofield.AppendMessage(b, 1, 1, func(b []byte) []byte {
			b = protofield.AppendBytesNonEmpty(b, 1, n.authKey)
			b = protofield.AppendVarintNonZero(b, 2, uint64(n.dir))
			b = protofield.AppendVarintNonZero(b, 3, n.minVersion)
			return protofield.AppendMessage(b, 4, 1, func(b []byte) []byte { return appendParams(b, n.params) })
		})
	}
	if st.chain != nil {
		b = protofield.AppendMessage(b, 2, 1, func(b []byte) []byte { return appendChain(b, st.chain) })
	}
	if st.scka != nil {
		b = protofield.AppendMessage(b, 3, 1, func(b []byte) []byte { return appendSCKA(b, st.scka) })
	}
	return b
}

// ---- decoding ----

// fields calls f for each field of the protobuf message b: v holds the
// payload of length-delimited fields, x the value of varints. Other wire
// types are skipped. Malformed input gives ErrStateDecode.
func fields(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return ErrStateDecode
		}
		b = b[n:]
		var (
			v []byte
			x uint64
		)
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return ErrStateDecode
		}
		b = b[n:]
		if typ != protowire.VarintType && typ != protowire.BytesType {
			continue
		}
		if err := f(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

// want checks the wire type of a known field.
func want(typ, w protowire.Type) error {
	if typ != w {
		return ErrStateDecode
	}
	return nil
}

func parseParams(b []byte) (ChainParams, error) {
	var p ChainParams
	err := fields(b, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
		if num != 1 && num != 2 {
			return nil
		}
		if err := want(typ, protowire.VarintType); err != nil || x > 0xffffffff {
			return ErrStateDecode
		}
		if num == 1 {
			p.MaxJump = uint32(x)
		} else {
			p.MaxOOOKeys = uint32(x)
		}
		return nil
	})
	return p, err
}

func parseNegotiation(b []byte) (*negotiation, error) {
	n := &negotiation{}
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 1:
			if want(typ, protowire.BytesType) != nil || len(v) != 32 {
				return ErrStateDecode
			}
			n.authKey = append([]byte(nil), v...)
		case 2:
			if want(typ, protowire.VarintType) != nil || x > 1 {
				return ErrStateDecode
			}
			n.dir = Direction(x)
		case 3:
			if want(typ, protowire.VarintType) != nil || x > versionV1 {
				return ErrStateDecode
			}
			n.minVersion = x
		case 4:
			if want(typ, protowire.BytesType) != nil {
				return ErrStateDecode
			}
			p, err := parseParams(v)
			n.params = p
			return err
		}
		return nil
	})
	if err == nil && n.authKey == nil {
		err = ErrStateDecode
	}
	return n, err
}

func parseHalf(b []byte) (chainHalf, error) {
	var h chainHalf
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 1:
			if want(typ, protowire.VarintType) != nil || x > 0xffffffff {
				return ErrStateDecode
			}
			h.ctr = uint32(x)
		case 2:
			if want(typ, protowire.BytesType) != nil || (len(v) != 0 && len(v) != 32) {
				return ErrStateDecode
			}
			h.hasNext = len(v) == 32
			copy(h.next[:], v)
		case 3:
			if want(typ, protowire.BytesType) != nil || len(v)%histEntry != 0 {
				return ErrStateDecode
			}
			h.prev = append([]byte(nil), v...)
		}
		return nil
	})
	return h, err
}

func parseChain(b []byte) (*chain, error) {
	c := &chain{}
	var haveRoot bool
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 1:
			if want(typ, protowire.VarintType) != nil || x > 1 {
				return ErrStateDecode
			}
			c.dir = Direction(x)
		case 2:
			if want(typ, protowire.VarintType) != nil {
				return ErrStateDecode
			}
			c.currentEpoch = x
		case 3:
			if want(typ, protowire.BytesType) != nil {
				return ErrStateDecode
			}
			var l link
			err := fields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				if num != 1 && num != 2 {
					return nil
				}
				if want(typ, protowire.BytesType) != nil {
					return ErrStateDecode
				}
				h, err := parseHalf(v)
				if num == 1 {
					l.send = h
				} else {
					l.recv = h
				}
				return err
			})
			c.links = append(c.links, l)
			return err
		case 4:
			if want(typ, protowire.BytesType) != nil || len(v) != 32 {
				return ErrStateDecode
			}
			copy(c.nextRoot[:], v)
			haveRoot = true
		case 5:
			if want(typ, protowire.VarintType) != nil {
				return ErrStateDecode
			}
			c.sendEpoch = x
		case 6:
			if want(typ, protowire.BytesType) != nil {
				return ErrStateDecode
			}
			p, err := parseParams(v)
			c.params = p
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !haveRoot || len(c.links) == 0 || uint64(len(c.links)-1) > c.currentEpoch || c.sendEpoch > c.currentEpoch {
		return nil, ErrStateDecode
	}
	return c, nil
}

func parseAuth(b []byte) (authenticator, error) {
	var a authenticator
	var have int
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != 1 && num != 2 {
			return nil
		}
		if want(typ, protowire.BytesType) != nil || len(v) != 32 {
			return ErrStateDecode
		}
		if num == 1 {
			copy(a.root[:], v)
			have |= 1
		} else {
			copy(a.mac[:], v)
			have |= 2
		}
		return nil
	})
	if err == nil && have != 3 {
		err = ErrStateDecode
	}
	return a, err
}

func parseEncoder(b []byte, msgLen int) (*encoder, error) {
	k := msgLen / chunkSize
	e := &encoder{}
	var npts, npolys int
	arena := make([]uint16, 0, numPolys*k) // one allocation for all symbols
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 1:
			if want(typ, protowire.VarintType) != nil || x > 0xffff {
				return ErrStateDecode
			}
			e.idx = uint32(x)
		case 2, 3:
			if want(typ, protowire.BytesType) != nil || len(v) != 2*k {
				return ErrStateDecode
			}
			at := len(arena)
			arena = append(arena, make([]uint16, k)...) // no allocation: within the capacity
			syms := arena[at:len(arena):len(arena)]
			for i := range syms {
				syms[i] = binary.BigEndian.Uint16(v[2*i : 2*i+2])
			}
			if num == 2 {
				if npts == numPolys {
					return ErrStateDecode
				}
				e.pts[npts] = syms
				npts++
			} else {
				if npolys == numPolys {
					return ErrStateDecode
				}
				e.polys[npolys] = syms
				npolys++
			}
		}
		return nil
	})
	if err == nil && !(npts == numPolys && npolys == 0) && !(npolys == numPolys && npts == 0) {
		err = ErrStateDecode
	}
	return e, err
}

func parseDecoder(b []byte, msgLen int) (*decoder, error) {
	d := &decoder{ptsNeeded: uint32(msgLen / 2)}
	// One allocation for all points, with room for one more point per
	// polynomial after its own (the next chunk usually appends).
	arena := make([]point, 0, len(b)/4+numPolys)
	var n int
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 1:
			if want(typ, protowire.VarintType) != nil || x != uint64(d.ptsNeeded) {
				return ErrStateDecode
			}
		case 2:
			if want(typ, protowire.VarintType) != nil || x != numPolys {
				return ErrStateDecode
			}
		case 3:
			if want(typ, protowire.BytesType) != nil || len(v)%4 != 0 || n == numPolys {
				return ErrStateDecode
			}
			at, l := len(arena), len(v)/4
			arena = append(arena, make([]point, l)...) // within the capacity
			pts := arena[at : at+l]
			for i := range pts {
				w := v[4*i : 4*i+4]
				pts[i] = point{binary.BigEndian.Uint16(w[0:2]), binary.BigEndian.Uint16(w[2:4])}
				if i > 0 && pts[i].x <= pts[i-1].x {
					return ErrStateDecode
				}
			}
			arena = arena[:len(arena)+1] // the spare point of d.pts[n]
			d.pts[n] = arena[at : at+l : at+l+1]
			n++
		}
		return nil
	})
	if err == nil && n != 0 && n != numPolys {
		err = ErrStateDecode
	}
	if err == nil && n == 0 {
		return newDecoder(msgLen), nil
	}
	return d, err
}

func parseSCKA(b []byte) (*scka, error) {
	var s *scka
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num < 1 || num > 11 {
			return nil
		}
		if want(typ, protowire.BytesType) != nil {
			return ErrStateDecode
		}
		s = &scka{kind: stateKind(num)}
		return parseKind(s, v)
	})
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, ErrStateDecode
	}
	return s, nil
}

func parseKind(s *scka, b []byte) error {
	lay := &layouts[s.kind]
	var haveUC bool
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num > 3 {
			return nil
		}
		if want(typ, protowire.BytesType) != nil {
			return ErrStateDecode
		}
		var err error
		switch num {
		case 1:
			haveUC = true
			err = parseUC(s, lay, v)
		case lay.encTag:
			s.enc, err = parseEncoder(v, lay.encLen)
		case lay.decTag:
			s.dec, err = parseDecoder(v, lay.decLen)
		}
		return err
	})
	if err != nil {
		return err
	}
	if !haveUC || (lay.encTag != 0 && s.enc == nil) || (lay.decTag != 0 && s.dec == nil) {
		return ErrStateDecode
	}
	if _, ok := esOrder(s.es); s.es != nil && !ok {
		return ErrStateDecode
	}
	if s.kind == kindEkReceivedCt1Sampled && !ekValid(s.ek) {
		return ErrStateDecode
	}
	return nil
}

func parseUC(s *scka, lay *kindLayout, b []byte) error {
	var haveAuth bool
	// One allocation for the kind's byte fields; each is clipped so that
	// nothing appends into its neighbour.
	var total int
	for _, f := range lay.uc {
		total += ucSizes[f]
	}
	arena := make([]byte, 0, total)
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch {
		case num == 1:
			if want(typ, protowire.VarintType) != nil {
				return ErrStateDecode
			}
			s.epoch = x
		case num == 2:
			if want(typ, protowire.BytesType) != nil {
				return ErrStateDecode
			}
			a, err := parseAuth(v)
			s.auth, haveAuth = a, true
			return err
		case int(num)-3 < len(lay.uc) && num >= 3:
			f := lay.uc[num-3]
			if want(typ, protowire.BytesType) != nil || len(v) != ucSizes[f] {
				return ErrStateDecode
			}
			at := len(arena)
			arena = append(arena, v...)
			*s.field(f) = arena[at:len(arena):len(arena)]
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !haveAuth || s.epoch == 0 {
		return ErrStateDecode
	}
	for _, f := range lay.uc {
		if *s.field(f) == nil {
			return ErrStateDecode
		}
	}
	return nil
}

// ParseState decodes a PqRatchetState. Empty input is the V0 state, returned
// as nil. Malformed input gives [ErrStateDecode]. The State does not keep b.
func ParseState(b []byte) (*State, error) { return parseState(b) }

// parseState decodes state bytes; empty input is the V0 state (nil).
func parseState(b []byte) (*State, error) {
	if len(b) == 0 {
		return nil, nil
	}
	st := &State{}
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num < 1 || num > 3 {
			return nil
		}
		if want(typ, protowire.BytesType) != nil {
			return ErrStateDecode
		}
		var err error
		switch num {
		case 1:
			st.neg, err = parseNegotiation(v)
		case 2:
			st.chain, err = parseChain(v)
		case 3:
			st.scka, err = parseSCKA(v)
		}
		return err
	})
	if err != nil {
		return nil, ErrStateDecode
	}
	return st, nil
}

// Format prints the public shape of the state, never key material.
func (st State) Format(f fmt.State, _ rune) {
	if st.v0 {
		fmt.Fprint(f, "spqr.State{V0}")
		return
	}
	fmt.Fprintf(f, "spqr.State{negotiating: %t, chain: %t", st.neg != nil, st.chain != nil)
	if st.scka != nil {
		fmt.Fprintf(f, ", kind: %d, epoch: %d", st.scka.kind, st.scka.epoch)
	}
	fmt.Fprint(f, "}")
}

// Format prints the state kind and epoch, never key material.
func (s scka) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "spqr.scka{kind: %d, epoch: %d}", s.kind, s.epoch)
}

// Format prints no key material.
func (n negotiation) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "spqr.negotiation{dir: %v, min_version: %d}", n.dir, n.minVersion)
}
