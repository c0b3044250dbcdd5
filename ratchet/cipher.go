package ratchet

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/internal/cbc"
	"github.com/ratchetlab/signal/kdf"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/spqr"
)

// Encrypt encrypts plaintext with the next key of the sending chain and
// appends the serialized message to dst (RatchetEncrypt). While the peer has
// not answered (the state has a pending pre-key) the message is a
// PreKeySignalMessage, otherwise a SignalMessage; the returned type says
// which. Use plaintext and dst without overlap.
func (s *State) Encrypt(dst, plaintext []byte) ([]byte, MessageType, error) {
	return s.encrypt(dst, plaintext, nil)
}

// EncryptWithAddresses is Encrypt with the addresses field (field 6 of the
// SignalMessage, covered by the MAC): the sender's and recipient's service
// ids and device ids, as libsignal adds them to the messages it wraps in
// PreKeySignalMessages. Nil addresses leave the field out.
func (s *State) EncryptWithAddresses(dst, plaintext, addresses []byte) ([]byte, MessageType, error) {
	return s.encrypt(dst, plaintext, addresses)
}

func (s *State) encrypt(dst, plaintext, addresses []byte) ([]byte, MessageType, error) {
	if !s.hasSender {
		return dst, 0, ErrNoSenderChain
	}
	if s.sender.index == math.MaxUint32 {
		return dst, 0, ErrChainExhausted
	}
	// The SPQR step: its key salts the message keys, its message rides in
	// pq_ratchet, and its new state is committed with the chain.
	var (
		pqState, pqMsg []byte
		salt           *[32]byte
	)
	if len(s.pqState) != 0 {
		send := s.pqSend
		if send == nil {
			send = spqr.Send
		}
		var err error
		if pqState, salt, pqMsg, err = send(s.pqState); err != nil {
			return dst, 0, fmt.Errorf("ratchet: SPQR: %w", err)
		}
	}
	seed, next := kdf.ChainStep(&s.sender.chainKey)
	mk := kdf.DeriveMessageKeys(&seed, salt)
	clear(seed[:])
	if salt != nil {
		clear(salt[:])
	}

	ctLen := (len(plaintext)/16 + 1) * 16
	counter, prev := s.sender.index, s.prevCounter
	bodyLen := signalBodySize(counter, prev, ctLen, len(pqMsg), len(addresses))
	innerLen := 1 + bodyLen + MACSize

	// One allocation at most for the output: the PreKey header adds the
	// fixed fields and the KEM ciphertext.
	need := innerLen
	if s.pendingPreKey != nil {
		need += 128 + len(addresses)
		if s.pendingKyber != nil {
			need += len(s.pendingKyber.Ciphertext)
		}
	}
	dst = slices.Grow(dst, need)

	typ := WhisperType
	var h preKeyHeader
	if s.pendingPreKey != nil {
		typ = PreKeyType
		h = preKeyHeader{
			registrationID: s.localRegistrationID,
			preKeyID:       s.pendingPreKey.PreKeyID,
			hasPreKeyID:    s.pendingPreKey.HasPreKeyID,
			signedPreKeyID: s.pendingPreKey.SignedPreKeyID,
			baseKey:        s.pendingPreKey.BaseKey,
			identityKey:    s.localIdentity,
		}
		if s.pendingKyber != nil {
			h.kyberPreKeyID = s.pendingKyber.PreKeyID
			h.kyberCiphertext = s.pendingKyber.Ciphertext
		}
		dst = appendPreKeyHeader(dst, s.versionByte(), &h, innerLen)
	}

	start := len(dst)
	dst = append(dst, s.versionByte())
	dst = protowire.AppendTag(dst, 1, protowire.BytesType)
	dst = protowire.AppendVarint(dst, keys.PublicKeySize)
	dst = s.sender.pub.AppendBytes(dst)
	dst = protowire.AppendTag(dst, 2, protowire.VarintType)
	dst = protowire.AppendVarint(dst, uint64(counter))
	dst = protowire.AppendTag(dst, 3, protowire.VarintType)
	dst = protowire.AppendVarint(dst, uint64(prev))
	dst = protowire.AppendTag(dst, 4, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(ctLen))
	dst = cbc.Encrypt(dst, &mk.CipherKey, &mk.IV, plaintext)
	if len(pqMsg) > 0 {
		dst = protowire.AppendTag(dst, 5, protowire.BytesType)
		dst = protowire.AppendBytes(dst, pqMsg)
	}
	if len(addresses) > 0 {
		dst = protowire.AppendTag(dst, 6, protowire.BytesType)
		dst = protowire.AppendBytes(dst, addresses)
	}
	var mac [MACSize]byte
	messageMAC(&mac, &mk.MACKey, s.localIdentity, s.remoteIdentity, dst[start:])
	dst = append(dst, mac[:]...)
	clear(mk.CipherKey[:])
	clear(mk.MACKey[:])

	if typ == PreKeyType {
		dst = appendPreKeyTrailer(dst, &h)
	}
	s.sender.chainKey = next
	s.sender.index++
	if pqState != nil {
		s.pqState = pqState
	}
	return dst, typ, nil
}

// Decrypt checks and decrypts a parsed SignalMessage and appends the
// plaintext to dst (RatchetDecrypt). A message with a new ratchet key runs
// a DH ratchet step; a message behind its chain uses a stored skipped key;
// a message ahead of it stores the keys it skips.
//
// Decrypt is transactional: on any error the state is unchanged and dst is
// returned as it was.
func (s *State) Decrypt(dst []byte, m *Message) ([]byte, error) {
	if m.Version != s.version {
		return dst, ErrVersionMismatch
	}
	var (
		ci       = s.findReceiver(m.RatchetKey)
		chainKey [32]byte
		index    uint32
		step     *dhStep
	)
	if ci >= 0 {
		chainKey, index = s.receivers[ci].chainKey, s.receivers[ci].index
	} else {
		var err error
		if step, err = s.planDHStep(m.RatchetKey); err != nil {
			return dst, err
		}
		chainKey = step.recvChainKey
	}

	var (
		seed       [32]byte
		legacy     *kdf.MessageKeys
		usedSkip   = -1
		newSkipped []skippedKey
		nextKey    [32]byte
	)
	switch {
	case m.Counter < index:
		// ci >= 0 here: a new chain starts at index 0.
		r := &s.receivers[ci]
		for i := range r.skipped {
			if r.skipped[i].index == m.Counter {
				usedSkip = i
				break
			}
		}
		if usedSkip < 0 {
			return dst, &DuplicateError{ChainIndex: index, Counter: m.Counter}
		}
		seed, legacy = r.skipped[usedSkip].seed, r.skipped[usedSkip].legacy
	default:
		if m.Counter-index > MaxForwardJumps && !s.unlimitedJumps {
			return dst, ErrTooFarInFuture
		}
		ck := chainKey
		if n := m.Counter - index; n > 0 {
			keep := min(n, MaxMessageKeys)
			newSkipped = make([]skippedKey, 0, keep)
			for i := index; i < m.Counter; i++ {
				sd, nx := kdf.ChainStep(&ck)
				if m.Counter-i <= keep {
					newSkipped = append(newSkipped, skippedKey{index: i, seed: sd})
				}
				ck = nx
			}
		}
		seed, nextKey = kdf.ChainStep(&ck)
		clear(ck[:])
	}

	// The SPQR step. A classical state (no SPQR) ignores pq_ratchet, as
	// libsignal's V0 state does; the MAC still covers it.
	var (
		pqState []byte
		salt    *[32]byte
	)
	if len(s.pqState) != 0 {
		var err error
		if pqState, salt, err = spqr.Recv(s.pqState, m.PQRatchet); err != nil {
			if errors.Is(err, spqr.ErrStateDecode) {
				return dst, fmt.Errorf("%w: SPQR state: %w", ErrInvalidState, err)
			}
			if errors.Is(err, spqr.ErrMinimumVersion) || errors.Is(err, spqr.ErrVersionMismatch) {
				return dst, ErrModeMismatch
			}
			return dst, ErrDecryption
		}
		if salt != nil {
			defer clear(salt[:])
		}
	}
	var mk kdf.MessageKeys
	switch {
	case legacy != nil && salt != nil:
		// Keys stored before seeds were kept cannot take the SPQR salt.
		return dst, ErrDecryption
	case legacy != nil:
		mk = *legacy
	default:
		mk = kdf.DeriveMessageKeys(&seed, salt)
	}
	clear(seed[:])
	defer func() {
		clear(mk.CipherKey[:])
		clear(mk.MACKey[:])
	}()
	if !verifyMAC(&mk.MACKey, s.remoteIdentity, s.localIdentity, m.macInput, m.mac) {
		return dst, ErrDecryption
	}
	out, err := cbc.Decrypt(dst, &mk.CipherKey, &mk.IV, m.Ciphertext)
	if err != nil {
		return dst, ErrDecryption
	}

	// Commit.
	if step != nil {
		s.commitDHStep(step)
		ci = len(s.receivers) - 1
	}
	r := &s.receivers[ci]
	if usedSkip >= 0 {
		r.skipped = append(r.skipped[:usedSkip], r.skipped[usedSkip+1:]...)
	} else {
		r.chainKey = nextKey
		r.index = m.Counter + 1
		if len(newSkipped) > 0 {
			r.skipped = append(r.skipped, newSkipped...)
			if over := len(r.skipped) - MaxMessageKeys; over > 0 {
				r.skipped = append(r.skipped[:0], r.skipped[over:]...)
			}
		}
	}
	if pqState != nil {
		s.pqState = pqState
	}
	s.pendingPreKey = nil
	s.pendingKyber = nil
	return out, nil
}

// dhStep is a planned DH ratchet step, applied only once the message that
// caused it has been authenticated.
type dhStep struct {
	theirKey     keys.PublicKey
	recvChainKey [32]byte
	newRoot      [32]byte
	newSender    *keys.PrivateKey
	sendChainKey [32]byte
}

// planDHStep computes a DH ratchet step for a new peer ratchet key: a
// receiving chain from the current root key and our current ratchet key,
// then a new ratchet key and a sending chain from it (DHRatchet).
func (s *State) planDHStep(theirKey keys.PublicKey) (*dhStep, error) {
	if !s.hasSender {
		return nil, ErrNoSenderChain
	}
	ours, err := s.sender.private()
	if err != nil {
		return nil, err
	}
	dh, err := ours.Agree(theirKey)
	if err != nil {
		return nil, ErrDecryption
	}
	root1, ckr := kdf.RootStep(&s.rootKey, &dh)
	priv, err := s.generateKey()
	if err != nil {
		return nil, err
	}
	dh, err = priv.Agree(theirKey)
	if err != nil {
		return nil, ErrDecryption
	}
	root2, cks := kdf.RootStep(&root1, &dh)
	clear(dh[:])
	clear(root1[:])
	return &dhStep{theirKey: theirKey, recvChainKey: ckr, newRoot: root2, newSender: priv, sendChainKey: cks}, nil
}

func (s *State) commitDHStep(st *dhStep) {
	if s.sender.index > 0 {
		s.prevCounter = s.sender.index - 1
	} else {
		s.prevCounter = 0
	}
	s.rootKey = st.newRoot
	s.receivers = append(s.receivers, receiverChain{ratchetKey: st.theirKey, chainKey: st.recvChainKey})
	if over := len(s.receivers) - MaxReceiverChains; over > 0 {
		s.receivers = append(s.receivers[:0], s.receivers[over:]...)
	}
	s.sender = newSenderChain(st.newSender, st.sendChainKey)
	s.hasSender = true
}
