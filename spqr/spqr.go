package spqr

import (
	"bytes"
	"io"
)

// Init returns the initial V1 state for a new session, as libsignal creates
// it after PQXDH: authKey is the third 32-byte block of the PQXDH output
// (pqr_key), dir is [A2B] for the initiator (Alice) and [B2A] for the
// responder (Bob), and params bounds out-of-order keys (the zero value gives
// libsignal's defaults; note-to-self sessions use MaxJump = math.MaxUint32).
// The minimum version is V1: the session rejects messages without SPQR data,
// as libsignal ≥ 0.92 does. An empty state (nil or []byte{}) is the V0
// (classical) state and needs no Init. A dir other than [B2A] is taken as
// [A2B].
func Init(authKey [32]byte, dir Direction, params ChainParams) []byte {
	if dir != B2A {
		dir = A2B
	}
	st := &state{
		neg: &negotiation{
			authKey:    bytes.Clone(authKey[:]),
			dir:        dir,
			minVersion: versionV1,
			params:     params.normalized(),
		},
		scka: newSCKA(authKey[:], dir),
	}
	return st.marshal()
}

// Send advances the state for one outgoing message, reading randomness
// from crypto/rand. It returns the new state, the 32-byte message key (the
// HKDF salt of the Double Ratchet message keys; nil when the state gives no
// key) and the SPQR message to put in SignalMessage.pq_ratchet (empty for the
// V0 state, in which case the field is left out). The input state is not
// modified; on error newState is nil and the old state stays valid.
func Send(state []byte) (newState []byte, key *[32]byte, msg []byte, err error) {
	return SendWithRandom(state, nil)
}

// SendWithRandom is [Send] with an explicit randomness source, for
// deterministic tests; nil means crypto/rand. A send reads from rnd
// only when it starts an epoch's ML-KEM work: 64 bytes (the key-generation
// seed d || z) when the send_ek side generates its key pair, 32 bytes (the
// encapsulation message m) when the send_ct side produces ct1.
func SendWithRandom(state []byte, rnd io.Reader) (newState []byte, key *[32]byte, msg []byte, err error) {
	return send(state, &entropy{rnd: randReader(rnd)})
}

// SendDeterministic is [Send] for replaying a recorded conversation, with the
// randomness libsignal stores in its records: when this send generates the
// epoch's ML-KEM-768 key pair it uses dk, the 2400-byte FIPS 203
// decapsulation key (the 64-byte seed behind it is not needed), and when it
// encapsulates it uses m, the 32-byte encapsulation message. Values this
// send does not need are ignored; a needed value that is nil or invalid
// gives [ErrRandomness].
func SendDeterministic(state, dk, m []byte) (newState []byte, key *[32]byte, msg []byte, err error) {
	return send(state, &entropy{injected: true, dk: dk, m: m})
}

func send(state []byte, rnd *entropy) (newState []byte, key *[32]byte, msg []byte, err error) {
	st, err := parseState(state)
	if err != nil {
		return nil, nil, nil, err
	}
	if st == nil {
		return []byte{}, nil, nil, nil
	}
	if st.scka == nil {
		return nil, nil, nil, ErrStateDecode
	}
	m, sec, err := st.scka.send(rnd)
	if err != nil {
		return nil, nil, nil, err
	}
	c := st.chain
	if c == nil && st.neg != nil && st.neg.minVersion >= versionV1 {
		c = newChain(st.neg.authKey, st.neg.dir, st.neg.params)
	}
	if c == nil && st.neg == nil {
		return nil, nil, nil, ErrChainNotAvailable
	}
	if c != nil {
		if sec != nil {
			if err := c.addEpoch(sec.epoch, sec.key[:]); err != nil {
				return nil, nil, nil, err
			}
		}
		idx, k, err := c.sendKey(m.epoch - 1)
		if err != nil {
			return nil, nil, nil, err
		}
		m.index, key = idx, &k
		st.chain = c
	}
	return st.marshal(), key, appendMessage(make([]byte, 0, maxMessageSize), &m), nil
}

// Recv processes the SPQR message of an incoming SignalMessage (the
// pq_ratchet field, empty if absent). It returns the new state and the
// 32-byte message key to use as HKDF salt (nil when the message carries no
// key). The input state is not modified; on error newState is nil and the
// caller must keep the old state (libsignal treats every error except
// [ErrStateDecode] like a MAC failure). A message of an unknown newer
// version is ignored: the state comes back unchanged with no key.
func Recv(state, msg []byte) (newState []byte, key *[32]byte, err error) {
	msgV := byte(versionV0)
	if len(msg) > 0 {
		msgV = msg[0]
	}
	st, err := parseState(state)
	if err != nil {
		return nil, nil, err
	}
	if msgV > versionV1 {
		return append([]byte{}, state...), nil, nil
	}
	if st == nil {
		// The V0 state ignores V1 messages.
		return []byte{}, nil, nil
	}
	if msgV == versionV0 {
		switch {
		case st.neg == nil:
			return nil, nil, ErrVersionMismatch
		case uint64(msgV) < st.neg.minVersion:
			return nil, nil, ErrMinimumVersion
		}
		return []byte{}, nil, nil // downgrade to V0
	}
	if st.scka == nil {
		return nil, nil, ErrStateDecode
	}
	m, err := parseMessage(msg)
	if err != nil {
		return nil, nil, err
	}
	sec, err := st.scka.recv(&m)
	if err != nil {
		return nil, nil, err
	}
	c := st.chain
	if c == nil {
		if st.neg == nil {
			return nil, nil, ErrChainNotAvailable
		}
		c = newChain(st.neg.authKey, st.neg.dir, st.neg.params)
	}
	if sec != nil {
		if err := c.addEpoch(sec.epoch, sec.key[:]); err != nil {
			return nil, nil, err
		}
	}
	if m.epoch-1 != 0 || m.index != 0 {
		k, err := c.recvKey(m.epoch-1, m.index)
		if err != nil {
			return nil, nil, err
		}
		key = &k
	}
	st.neg = nil
	st.chain = c
	return st.marshal(), key, nil
}
