package spqr

import (
	"bytes"
	"crypto/rand"
	"io"

	"github.com/ratchetlab/signal/internal/spqrreplay"
)

func init() { spqrreplay.Send = sendDeterministic }

// New returns the initial V1 state for a new session, as libsignal creates
// it after PQXDH: authKey is the third 32-byte block of the PQXDH output
// (pqr_key), dir is [A2B] for the initiator (Alice) and [B2A] for the
// responder (Bob), and params bounds out-of-order keys (the zero value gives
// libsignal's defaults; note-to-self sessions use MaxJump = math.MaxUint32).
// The minimum version is V1: the session rejects messages without SPQR data,
// as libsignal ≥ 0.92 does. The V0 (classical) state is a nil *State and
// needs no New. A dir other than [B2A] is taken as [A2B].
func New(authKey [32]byte, dir Direction, params ChainParams) *State {
	if dir != B2A {
		dir = A2B
	}
	return &State{
		neg: &negotiation{
			authKey:    bytes.Clone(authKey[:]),
			dir:        dir,
			minVersion: versionV1,
			params:     params.normalized(),
		},
		scka: newSCKA(authKey[:], dir),
	}
}

// Init is [New] returning the state's encoding.
func Init(authKey [32]byte, dir Direction, params ChainParams) []byte {
	return New(authKey, dir, params).marshal()
}

// IsV0 reports whether st is the V0 (classical) state: nil, or downgraded by
// a committed Recv of a message without SPQR data.
func (st *State) IsV0() bool { return st == nil || st.v0 }

// Clone returns a deep copy of st (nil for nil). An open step is not part
// of the copy: the copy has the state as it is now, committed.
func (st *State) Clone() *State {
	if st == nil {
		return nil
	}
	c := &State{}
	c.CopyFrom(st)
	return c
}

// Send advances the state for one outgoing message, reading randomness from
// crypto/rand when the step starts an epoch's ML-KEM work. It appends the
// SPQR message for SignalMessage.pq_ratchet to dst (nothing for the V0
// state, in which case the field is left out) and returns the 32-byte
// message key (the HKDF salt of the Double Ratchet message keys) when ok.
// On error the state is unchanged. Until [State.Commit] or the next step,
// [State.Rollback] undoes the step.
func (st *State) Send(dst []byte) (msg []byte, key [32]byte, ok bool, err error) {
	return st.send(dst, &entropy{rnd: rand.Reader})
}

func (st *State) send(dst []byte, rnd *entropy) (msg []byte, key [32]byte, ok bool, err error) {
	if st.IsV0() {
		return dst, key, false, nil
	}
	st.begin()
	msg, key, ok, err = st.step(dst, rnd)
	if err != nil {
		st.Rollback()
		return dst, [32]byte{}, false, err
	}
	return msg, key, ok, nil
}

func (st *State) step(dst []byte, rnd *entropy) (msg []byte, key [32]byte, ok bool, err error) {
	if st.scka == nil {
		return dst, key, false, ErrStateDecode
	}
	m, sec, err := st.scka.send(rnd)
	if err != nil {
		return dst, key, false, err
	}
	c := st.chain
	if c == nil && st.neg == nil {
		return dst, key, false, ErrChainNotAvailable
	}
	if c == nil && st.neg.minVersion >= versionV1 {
		c = newChain(st.neg.authKey, st.neg.dir, st.neg.params)
	}
	if c != nil {
		if sec != nil {
			if err := c.addEpoch(sec.epoch, sec.key[:]); err != nil {
				return dst, key, false, err
			}
		}
		idx, k, err := c.sendKey(m.epoch - 1)
		if err != nil {
			return dst, key, false, err
		}
		m.index, key, ok = idx, k, true
		st.chain = c
	}
	return appendMessage(dst, &m), key, ok, nil
}

// Recv processes the SPQR message of an incoming SignalMessage (the
// pq_ratchet field, empty if absent) and returns the 32-byte message key to
// use as HKDF salt when ok. On error the state is unchanged (libsignal
// treats every error except [ErrStateDecode] like a MAC failure). A message
// of an unknown newer version is ignored. A V1 state that has not yet
// received a V1 message and does not require V1 downgrades to V0 on a
// message without SPQR data ([State.IsV0] reports it once committed).
// Until [State.Commit] or the next step, [State.Rollback] undoes the step.
func (st *State) Recv(msg []byte) (key [32]byte, ok bool, err error) {
	if st.IsV0() {
		return key, false, nil // the V0 state ignores V1 messages
	}
	msgV := byte(versionV0)
	if len(msg) > 0 {
		msgV = msg[0]
	}
	if msgV > versionV1 {
		return key, false, nil
	}
	if msgV == versionV0 {
		switch {
		case st.neg == nil:
			return key, false, ErrVersionMismatch
		case uint64(msgV) < st.neg.minVersion:
			return key, false, ErrMinimumVersion
		}
		st.begin()
		st.v0 = true // downgrade
		return key, false, nil
	}
	if st.scka == nil {
		return key, false, ErrStateDecode
	}
	m, err := parseMessage(msg)
	if err != nil {
		return key, false, err
	}
	st.begin()
	key, ok, err = st.recv(&m)
	if err != nil {
		st.Rollback()
		return [32]byte{}, false, err
	}
	return key, ok, nil
}

func (st *State) recv(m *message) (key [32]byte, ok bool, err error) {
	sec, err := st.scka.recv(m)
	if err != nil {
		return key, false, err
	}
	c := st.chain
	if c == nil {
		if st.neg == nil {
			return key, false, ErrChainNotAvailable
		}
		c = newChain(st.neg.authKey, st.neg.dir, st.neg.params)
	}
	if sec != nil {
		if err := c.addEpoch(sec.epoch, sec.key[:]); err != nil {
			return key, false, err
		}
	}
	if m.epoch-1 != 0 || m.index != 0 {
		if key, err = c.recvKey(m.epoch-1, m.index); err != nil {
			return [32]byte{}, false, err
		}
		ok = true
	}
	st.neg = nil
	st.chain = c
	return key, ok, nil
}

// ---- the byte-level API: state bytes in, state bytes out ----

// Send is [State.Send] on an encoded state: it returns the new state's
// encoding, the message key (nil when the step gives none) and the SPQR
// message. The input is not modified; on error newState is nil.
func Send(state []byte) (newState []byte, key *[32]byte, msg []byte, err error) {
	return sendWithRandom(state, nil)
}

// sendWithRandom is [Send] with an explicit randomness source, for
// deterministic tests; nil means crypto/rand. A send reads from rnd
// only when it starts an epoch's ML-KEM work: 64 bytes (the key-generation
// seed d || z) when the send_ek side generates its key pair, 32 bytes (the
// encapsulation message m) when the send_ct side produces ct1.
func sendWithRandom(state []byte, rnd io.Reader) (newState []byte, key *[32]byte, msg []byte, err error) {
	return sendBytes(state, &entropy{rnd: randReader(rnd)})
}

// sendDeterministic is [Send] for replaying a recorded conversation, with
// the randomness libsignal stores in its records: when this send generates
// the epoch's ML-KEM-768 key pair it uses dk, the 2400-byte FIPS 203
// decapsulation key (the 64-byte seed behind it is not needed), and when it
// encapsulates it uses m, the 32-byte encapsulation message. Values this
// send does not need are ignored; a needed value that is nil or invalid
// gives [ErrRandomness]. Tests outside this package reach it through
// internal/spqrreplay.
func sendDeterministic(state, dk, m []byte) (newState []byte, key *[32]byte, msg []byte, err error) {
	return sendBytes(state, &entropy{injected: true, dk: dk, m: m})
}

func sendBytes(state []byte, rnd *entropy) (newState []byte, key *[32]byte, msg []byte, err error) {
	st, err := parseState(state)
	if err != nil {
		return nil, nil, nil, err
	}
	if st == nil {
		return []byte{}, nil, nil, nil
	}
	msg, k, ok, err := st.send(make([]byte, 0, maxMessageSize), rnd)
	if err != nil {
		return nil, nil, nil, err
	}
	st.Commit()
	if ok {
		key = &k
	}
	return st.marshal(), key, msg, nil
}

// Recv is [State.Recv] on an encoded state: it returns the new state's
// encoding and the message key (nil when the message carries none). The
// input state is not modified; on error newState is nil and the caller keeps
// the old state.
func Recv(state, msg []byte) (newState []byte, key *[32]byte, err error) {
	st, err := parseState(state)
	if err != nil {
		return nil, nil, err
	}
	if len(msg) > 0 && msg[0] > versionV1 {
		return append([]byte{}, state...), nil, nil
	}
	k, ok, err := st.Recv(msg)
	if err != nil {
		return nil, nil, err
	}
	st.Commit()
	if ok {
		key = &k
	}
	return st.marshal(), key, nil
}
