package spqr

import (
	"bytes"
	"fmt"
	"io"
)

// The chunked ML-KEM Braid state machine (spqr src/v1/chunked/states.rs,
// send_ek.rs and send_ct.rs; the ML-KEM Braid spec). Party A (A2B) starts
// as the send_ek side in KeysUnsampled, party B (B2A) as the send_ct side in
// NoHeaderReceived, both at epoch 1; the roles swap every epoch. Every send
// yields exactly one payload; recv ignores payloads the state does not name.

// epochSecretOut is an SCKA epoch secret K_e, ready to be mixed into the chain.
type epochSecretOut struct {
	epoch uint64
	key   [32]byte
}

// newSCKA returns the initial V1 state of a party.
func newSCKA(authKey []byte, dir Direction) *scka {
	s := &scka{epoch: 1, auth: newAuthenticator(authKey, 1)}
	if dir == A2B {
		s.kind = kindKeysUnsampled
	} else {
		s.kind = kindNoHeaderReceived
		s.dec = newDecoder(hdrMsgSize)
	}
	return s
}

// become switches to kind, dropping the fields the new kind does not hold.
func (s *scka) become(kind stateKind) {
	s.kind = kind
	lay := &layouts[kind]
	var keep [ucEs + 1]bool
	for _, f := range lay.uc {
		keep[f] = true
	}
	if kind == kindKeysSampled {
		keep[ucHdr] = true // hdr lives in the HDR encoder
	}
	// Dropped fields are not wiped here: the transaction's snapshot may
	// still hold them. Commit wipes what the new state no longer holds.
	for f := ucHdr; f <= ucEs; f++ {
		if !keep[f] {
			*s.field(f) = nil
		}
	}
	if lay.encTag == 0 {
		s.enc = nil
	}
	if lay.decTag == 0 {
		s.dec = nil
	}
}

// nextChunk fills m with the next chunk of the encoder.
func (s *scka) nextChunk(m *message, typ payloadType) {
	m.typ = typ
	m.chunkIdx, m.chunk = s.enc.next()
}

// entropy is where a send takes its randomness from: rnd, or for replays
// the recorded decapsulation key and encapsulation message.
type entropy struct {
	rnd      io.Reader
	injected bool
	dk, m    []byte
}

func (e *entropy) keyPair() (hdr, ek, dk []byte, err error) {
	if !e.injected {
		return generate(e.rnd)
	}
	hdr, ek, dk, ok := keyPairFromDK(e.dk)
	if !ok {
		return nil, nil, nil, ErrRandomness
	}
	return hdr, ek, dk, nil
}

func (e *entropy) encaps1(hdr []byte) (ct1, es []byte, ss [32]byte, err error) {
	if !e.injected {
		return encaps1(hdr, e.rnd)
	}
	if len(e.m) != mSize {
		return nil, nil, ss, ErrRandomness
	}
	return encaps1(hdr, bytes.NewReader(e.m))
}

// send advances the state by one outgoing message. It returns the message
// (without chain index) and, when this send completes an epoch on the
// send_ct side, the epoch secret.
func (s *scka) send(rnd *entropy) (message, *epochSecretOut, error) {
	m := message{epoch: s.epoch, typ: payloadNone}
	var out *epochSecretOut
	switch s.kind {
	case kindKeysUnsampled:
		hdr, ek, dk, err := rnd.keyPair()
		if err != nil {
			return m, nil, err
		}
		mac := s.auth.macHdr(s.epoch, hdr)
		s.enc = newEncoder(append(hdr, mac[:]...))
		s.hdr, s.ek, s.dk = hdr, ek, dk
		s.become(kindKeysSampled)
		s.nextChunk(&m, payloadHdr)
	case kindKeysSampled:
		s.nextChunk(&m, payloadHdr)
	case kindHeaderSent:
		s.nextChunk(&m, payloadEk)
	case kindCt1Received:
		s.nextChunk(&m, payloadEkCt1Ack)
	case kindEkSentCt1Received:
		m.typ = payloadCt1Ack
	case kindNoHeaderReceived, kindCt1Acknowledged:
		m.typ = payloadNone
	case kindHeaderReceived:
		ct1, es, ss, err := rnd.encaps1(s.hdr)
		if err != nil {
			return m, nil, err
		}
		k := epochSecret(s.epoch, ss[:])
		clear(ss[:])
		s.auth.update(s.epoch, k[:])
		out = &epochSecretOut{epoch: s.epoch, key: k}
		s.ct1, s.es = ct1, es
		s.enc = newEncoder(ct1)
		s.become(kindCt1Sampled)
		s.nextChunk(&m, payloadCt1)
	case kindCt1Sampled, kindEkReceivedCt1Sampled:
		s.nextChunk(&m, payloadCt1)
	case kindCt2Sampled:
		s.nextChunk(&m, payloadCt2)
	default:
		return m, nil, ErrStateDecode
	}
	return m, out, nil
}

// recv processes the SCKA part of an incoming message. It returns the epoch
// secret when the message completes an epoch on the send_ek side. On error
// the caller must discard s.
func (s *scka) recv(m *message) (*epochSecretOut, error) {
	if m.epoch < s.epoch {
		return nil, nil
	}
	if m.epoch > s.epoch {
		if s.kind == kindCt2Sampled && m.epoch == s.epoch+1 {
			s.epoch++
			s.become(kindKeysUnsampled)
			return nil, nil
		}
		return nil, ErrEpochOutOfRange
	}
	switch s.kind {
	case kindKeysSampled:
		if m.typ == payloadCt1 {
			s.dec = newDecoder(ct1Size)
			s.enc = newEncoder(s.ek)
			s.become(kindHeaderSent)
			return s.addCt1(m)
		}
	case kindHeaderSent:
		if m.typ == payloadCt1 {
			return s.addCt1(m)
		}
	case kindCt1Received:
		if m.typ == payloadCt2 {
			s.dec = newDecoder(ct2MsgSize)
			s.become(kindEkSentCt1Received)
			return s.addCt2(m)
		}
	case kindEkSentCt1Received:
		if m.typ == payloadCt2 {
			return s.addCt2(m)
		}
	case kindNoHeaderReceived:
		if m.typ == payloadHdr {
			s.dec.add(m.chunkIdx, &m.chunk)
			if data := s.dec.decode(); data != nil {
				if err := s.auth.verifyHdr(s.epoch, data[:hdrSize], data[hdrSize:]); err != nil {
					return nil, err
				}
				s.hdr = data[:hdrSize:hdrSize]
				s.dec = newDecoder(ekSize)
				s.become(kindHeaderReceived)
			}
		}
	case kindCt1Sampled:
		if m.typ == payloadEk || m.typ == payloadEkCt1Ack {
			ack := m.typ == payloadEkCt1Ack
			ek, err := s.addEk(m)
			switch {
			case err != nil:
				return nil, err
			case ek != nil && ack:
				s.ek = ek
				s.toCt2Sampled()
			case ek != nil:
				s.ek = ek
				s.become(kindEkReceivedCt1Sampled)
			case ack:
				s.become(kindCt1Acknowledged)
			}
		}
	case kindEkReceivedCt1Sampled:
		if m.typ == payloadCt1Ack || m.typ == payloadEkCt1Ack {
			s.toCt2Sampled()
		}
	case kindCt1Acknowledged:
		if m.typ == payloadEk || m.typ == payloadEkCt1Ack {
			ek, err := s.addEk(m)
			if err != nil {
				return nil, err
			}
			if ek != nil {
				s.ek = ek
				s.toCt2Sampled()
			}
		}
	case kindKeysUnsampled, kindHeaderReceived, kindCt2Sampled:
	default:
		return nil, ErrStateDecode
	}
	return nil, nil
}

// addCt1 adds a CT1 chunk (send_ek side).
func (s *scka) addCt1(m *message) (*epochSecretOut, error) {
	s.dec.add(m.chunkIdx, &m.chunk)
	if ct1 := s.dec.decode(); ct1 != nil {
		s.ct1 = ct1
		s.become(kindCt1Received)
	}
	return nil, nil
}

// addCt2 adds a CT2 chunk (send_ek side) and, once CT2 is complete,
// decapsulates, checks the ciphertext MAC and finishes the epoch.
func (s *scka) addCt2(m *message) (*epochSecretOut, error) {
	s.dec.add(m.chunkIdx, &m.chunk)
	data := s.dec.decode()
	if data == nil {
		return nil, nil
	}
	ct2, mac := data[:ct2Size], data[ct2Size:]
	ss, err := decaps(s.dk, s.ct1, ct2)
	if err != nil {
		return nil, err
	}
	k := epochSecret(s.epoch, ss[:])
	clear(ss[:])
	auth := s.auth
	auth.update(s.epoch, k[:])
	if err := auth.verifyCt(s.epoch, s.ct1, ct2, mac); err != nil {
		return nil, err
	}
	out := &epochSecretOut{epoch: s.epoch, key: k}
	s.auth = auth
	s.epoch++
	s.dec = newDecoder(hdrMsgSize)
	s.become(kindNoHeaderReceived)
	return out, nil
}

// addEk adds an EK chunk (send_ct side); it returns the checked ek once
// complete.
func (s *scka) addEk(m *message) ([]byte, error) {
	s.dec.add(m.chunkIdx, &m.chunk)
	ek := s.dec.decode()
	if ek == nil {
		return nil, nil
	}
	if !ekMatchesHeader(ek, s.hdr) {
		return nil, ErrErroneousData
	}
	return ek, nil
}

// toCt2Sampled computes ct2 and its MAC and starts sending CT2.
func (s *scka) toCt2Sampled() {
	ct2 := encaps2(s.ek, s.hdr, s.es)
	mac := s.auth.macCt(s.epoch, s.ct1, ct2)
	s.enc = newEncoder(append(ct2, mac[:]...))
	s.become(kindCt2Sampled)
}

// Format prints the epoch only, never the secret.
func (e epochSecretOut) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "spqr.epochSecret{epoch: %d}", e.epoch)
}

// Format prints no randomness.
func (e entropy) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "spqr.entropy{injected: %t}", e.injected)
}
