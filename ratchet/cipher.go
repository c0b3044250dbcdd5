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
	return s.EncryptWith(dst, plaintext, EncryptOptions{})
}

// EncryptOptions are the per-message choices of EncryptWith. The zero value
// writes messages as current libsignal does.
type EncryptOptions struct {
	// Addresses is the addresses field (field 6 of the SignalMessage,
	// covered by the MAC): the sender's and recipient's service ids and
	// device ids, as libsignal adds them to the messages it wraps in
	// PreKeySignalMessages. Nil leaves the field out.
	Addresses []byte
	// LegacyVersionByte makes a version 3 (X3DH) state write 0x33 as the
	// first byte, as libsignal-protocol-java and WhatsApp-style stacks do
	// (go.mau.fi/libsignal verifies MACs only over 0x33), rather than
	// current libsignal's 0x34. Receivers read only the high nibble, so
	// libsignal and this package accept both. It has no effect on version 4.
	LegacyVersionByte bool
}

// EncryptWith is Encrypt with per-message options.
func (s *State) EncryptWith(dst, plaintext []byte, opts EncryptOptions) ([]byte, MessageType, error) {
	addresses := opts.Addresses
	if !s.hasSender {
		return dst, 0, ErrNoSenderChain
	}
	if s.sender.index == math.MaxUint32 {
		return dst, 0, ErrChainExhausted
	}
	// The SPQR step: its key salts the message keys, its message rides in
	// pq_ratchet. Nothing below can fail, so it is committed at once.
	var (
		pqBuf  [64]byte
		pqMsg  []byte
		pqKey  [32]byte
		salt   *[32]byte
		pq     *spqr.State
		hasKey bool
	)
	if pq = s.pq; pq != nil {
		var err error
		if s.pqSend != nil {
			pq, pqMsg, pqKey, hasKey, err = s.pqSendBytes(pq)
		} else {
			pqMsg, pqKey, hasKey, err = pq.Send(pqBuf[:0])
		}
		if err != nil {
			return dst, 0, fmt.Errorf("ratchet: SPQR: %w", err)
		}
		if hasKey {
			salt = &pqKey
		}
	}
	seed, next := kdf.ChainStep(&s.sender.chainKey)
	mk := kdf.DeriveMessageKeys(&seed, salt)
	clear(seed[:])
	clear(pqKey[:])

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
		dst = appendPreKeyHeader(dst, s.versionByte(opts.LegacyVersionByte), &h, innerLen)
	}

	start := len(dst)
	dst = append(dst, s.versionByte(opts.LegacyVersionByte))
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
	if pq != nil {
		pq.Commit()
		s.keepPQ(pq)
	}
	return dst, typ, nil
}

// pqSendBytes runs the test seam pqSend on pq's encoding.
func (s *State) pqSendBytes(pq *spqr.State) (*spqr.State, []byte, [32]byte, bool, error) {
	var key [32]byte
	enc, _ := pq.MarshalBinary()
	newState, k, msg, err := s.pqSend(enc)
	if err != nil {
		return nil, nil, key, false, err
	}
	next, err := spqr.ParseState(newState)
	if err != nil {
		return nil, nil, key, false, err
	}
	if next == nil {
		return nil, nil, key, false, spqr.ErrStateDecode
	}
	if k != nil {
		key = *k
	}
	return next, msg, key, k != nil, nil
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
		if m.Counter-index > MaxForwardJumps && !s.withSelf() {
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
	// libsignal's V0 state does; the MAC still covers it. The step is
	// rolled back unless the message decrypts.
	var (
		pq        *spqr.State
		pqKey     [32]byte
		salt      *[32]byte
		committed bool
	)
	if pq = s.pq; pq != nil {
		var (
			ok  bool
			err error
		)
		if pqKey, ok, err = pq.Recv(m.PQRatchet); err != nil {
			if errors.Is(err, spqr.ErrStateDecode) {
				return dst, fmt.Errorf("%w: SPQR state: %w", ErrInvalidState, err)
			}
			if errors.Is(err, spqr.ErrMinimumVersion) || errors.Is(err, spqr.ErrVersionMismatch) {
				return dst, ErrModeMismatch
			}
			return dst, ErrDecryption
		}
		if ok {
			salt = &pqKey
		}
		defer func() {
			clear(pqKey[:])
			if !committed {
				pq.Rollback()
			}
		}()
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
	// The message keys are cleared here rather than by a defer: a second
	// defer would keep the compiler from open-coding them.
	macOK := verifyMAC(&mk.MACKey, s.remoteIdentity, s.localIdentity, m.macInput, m.mac)
	var (
		out []byte
		err error = ErrDecryption
	)
	if macOK {
		out, err = cbc.Decrypt(dst, &mk.CipherKey, &mk.IV, m.Ciphertext)
	}
	clear(mk.CipherKey[:])
	clear(mk.MACKey[:])
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
		// A used key must not stay in memory: wipe it (the shift would
		// leave it past the end when it is the last) and the stale copy
		// past the end.
		if k := r.skipped[usedSkip].legacy; k != nil {
			*k = kdf.MessageKeys{}
		}
		clear(r.skipped[usedSkip].seed[:])
		r.skipped = append(r.skipped[:usedSkip], r.skipped[usedSkip+1:]...)
		clear(r.skipped[len(r.skipped) : len(r.skipped)+1])
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
	if pq != nil {
		pq.Commit()
		committed = true
		s.keepPQ(pq)
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
