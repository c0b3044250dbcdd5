package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/pqxdh"
	"github.com/ratchetlab/signal/ratchet"
	"github.com/ratchetlab/signal/x3dh"
)

// Decrypt decrypts a message from a peer. Nothing is stored unless it
// succeeds; when it succeeds, the advanced session has been stored before
// the plaintext is returned, so a crash before the application has saved
// the plaintext loses the message. Receive closes that gap.
//
// Errors: ErrDecryption (bad MAC, no state that decrypts it),
// ErrDuplicateMessage, ErrTooFarInFuture, ErrModeMismatch, ErrCorruptState,
// ErrNoSession, an *UntrustedIdentityError, a *PreKeyIDError
// (ErrInvalidPreKeyID), ErrReusedBaseKey, ErrKeyAgreement,
// ErrMalformedMessage, ErrMessageTooShort or ErrInvalidVersion for a
// message that does not parse, and the stores' own errors, which leave
// everything as it was: a retry after a failed store write decrypts the
// message again.
func (m *Manager) Decrypt(ctx context.Context, addr Address, ct Ciphertext) ([]byte, error) {
	o := m.newOp(addr, opReceive)
	err := m.receive(ctx, ct, o)
	pt := o.pt
	o.free()
	if err != nil {
		return nil, err
	}
	return pt, nil
}

// Receive decrypts a message from a peer and hands the plaintext to
// handler, whose ctx carries the store's transaction when the stores offer
// Atomic: the application saves the message there, in the same
// transaction as the advanced session, the used pre-keys and the peer's
// identity. The session advances if and only if handler returns nil (and
// the commit succeeds); otherwise Receive returns handler's error and a
// redelivery of the message decrypts again. That is exactly-once
// delivery into the application's store.
//
// Without Atomic, handler runs before the Manager's writes and a failed
// write makes Receive return an error after handler has seen the
// plaintext: the redelivery hands it over again (at least once).
//
// handler must not call the Manager for the same address (the address is
// locked), must not keep plaintext after it returns, since a transaction
// may be run again after a serialization failure, and should be quick: it
// runs while the address is locked (and, for a PreKey message, while
// other PreKey messages wait).
func (m *Manager) Receive(ctx context.Context, from Address, ct Ciphertext, handler func(ctx context.Context, plaintext []byte) error) error {
	if handler == nil {
		return errors.New("session: Receive needs a handler")
	}
	o := m.newOp(from, opReceive)
	o.handler = handler
	err := m.receive(ctx, ct, o)
	o.free()
	return err
}

// receive parses ct into o and runs o (receiveIn) under the address's
// lock.
func (m *Manager) receive(ctx context.Context, ct Ciphertext, o *op) error {
	switch ct.Type {
	case PreKeyType:
		p, err := ratchet.ParsePreKeyMessage(ct.Bytes)
		if err != nil {
			return err
		}
		o.pm, o.preKey = p, true
	case WhisperType:
		w, err := ratchet.ParseMessage(ct.Bytes)
		if err != nil {
			return err
		}
		o.msg = w
	default:
		return ErrUnknownMessageType
	}
	if err := m.checkAddresses(o.addr, o.message()); err != nil {
		return err
	}
	defer m.unlockFor(o, m.lockFor(o))
	if o.preKey {
		m.preKeyMu.Lock()
		defer m.preKeyMu.Unlock()
	}
	return m.exec(ctx, o)
}

// receiveIn is receive's operation: it decrypts o's message, hands the
// plaintext to o.handler (or keeps it in o.pt) and makes the writes.
func (m *Manager) receiveIn(ctx context.Context, st Stores, atomic bool, o *op) error {
	var (
		pt  []byte
		w   writes
		err error
	)
	if o.preKey {
		pt, w, err = m.openPreKey(ctx, st, o.addr, &o.pm, atomic)
	} else {
		pt, w, err = m.openWhisper(ctx, st, o.addr, &o.msg)
	}
	if err != nil {
		return err
	}
	if o.handler != nil {
		if err := o.handler(ctx, pt); err != nil {
			return err
		}
	} else {
		o.pt = pt
	}
	return w.commit(ctx, st, o.addr)
}

// writes are the store writes of one received message, made only after
// it decrypted (and the handler accepted it).
type writes struct {
	rec      *Record
	identity keys.PublicKey
	// staged, when not nil, is the record with the new responder state
	// before it decrypted anything, stored before the pre-keys are used
	// when the stores offer no transaction (see commit).
	staged *Record
	// original is the record as loaded, restored if the Kyber mark shows
	// that a staged new session is a replay.
	original *Record
	// kyber, if set, marks the Kyber pre-key used with this base key.
	kyber             bool
	kyberID, signedID uint32
	baseKey           keys.PublicKey
	removePreKey      bool
	preKeyID          uint32
	// repair: the state was set up by an earlier attempt that may have
	// stopped before its pre-key writes; ErrReusedBaseKey then means the
	// earlier attempt marked it.
	repair bool
}

// commit makes the writes. Inside a transaction the order does not
// matter. Without one, it is chosen so that a failure of any write loses
// nothing and a retry of the message succeeds:
//
//  1. SaveIdentity: the identity was found trusted, so saving it again on
//     a retry is harmless (and under trust on first use keeps it trusted).
//  2. For a new session, StoreSession(staged): the new state before it
//     decrypted. Should a later write fail, the retry finds this state by
//     its base key and decrypts with it; the pre-keys are still there.
//  3. MarkKyberPreKeyUsed and RemovePreKey. A retry after a failure here
//     finds the staged state, sees that it has decrypted nothing yet and
//     makes these writes again (RemovePreKey is idempotent; the Kyber mark
//     of an earlier attempt shows as ErrReusedBaseKey, which is expected).
//     When the Kyber mark of a new session (not a retry) says
//     ErrReusedBaseKey, the message is a replay of one whose session is
//     gone: the record as loaded is stored again, so that the staged state
//     cannot serve a later replay, and the error is returned. (Should that
//     write fail too, the staged state stays, and one more replay of the
//     same message would be accepted: the one gap of stores without
//     Atomic.)
//  4. StoreSession(rec): the advanced session. A retry after this
//     succeeded is a duplicate, as it should be.
func (w *writes) commit(ctx context.Context, st Stores, addr Address) error {
	if _, err := st.Identity.SaveIdentity(ctx, addr, w.identity); err != nil {
		return err
	}
	if w.staged != nil {
		if err := st.Sessions.StoreSession(ctx, addr, w.staged); err != nil {
			return err
		}
	}
	if w.kyber {
		err := st.KyberPreKeys.MarkKyberPreKeyUsed(ctx, w.kyberID, w.signedID, w.baseKey)
		switch {
		case err == nil, w.repair && errors.Is(err, ErrReusedBaseKey):
		case w.staged != nil && errors.Is(err, ErrReusedBaseKey):
			return errors.Join(err, st.Sessions.StoreSession(ctx, addr, w.original))
		default:
			return err
		}
	}
	if w.removePreKey {
		if err := st.PreKeys.RemovePreKey(ctx, w.preKeyID); err != nil {
			return err
		}
	}
	return st.Sessions.StoreSession(ctx, addr, w.rec)
}

// checkAddresses applies libsignal's rule to a received message's
// addresses field: absent is fine (older senders); present, it must name
// the sender and us, or the message is rejected like a bad MAC.
func (m *Manager) checkAddresses(from Address, msg *ratchet.Message) error {
	if msg.Addresses == nil {
		return nil
	}
	if !m.hasLocal {
		return ratchet.ErrDecryption
	}
	want, ok := addressesField(from, m.local)
	if !ok || !bytes.Equal(want, msg.Addresses) {
		return ratchet.ErrDecryption
	}
	return nil
}

// openWhisper decrypts a Whisper message with the stored record, without
// writing anything.
func (m *Manager) openWhisper(ctx context.Context, st Stores, addr Address, msg *ratchet.Message) ([]byte, writes, error) {
	rec, err := loadSession(ctx, st, addr)
	if err != nil {
		return nil, writes{}, err
	}
	if rec == nil || (rec.current == nil && len(rec.previous) == 0) {
		return nil, writes{}, ErrNoSession
	}
	pt, state, err := trialDecrypt(rec, msg)
	if err != nil {
		return nil, writes{}, err
	}
	theirID := state.RemoteIdentity()
	if err := checkTrusted(ctx, st.Identity, addr, theirID, Receiving); err != nil {
		return nil, writes{}, err
	}
	return pt, writes{rec: rec, identity: theirID}, nil
}

// classify maps a ratchet error of our own state to ErrCorruptState.
func classify(err error) error {
	if errors.Is(err, ratchet.ErrInvalidState) && !errors.Is(err, ErrCorruptState) {
		return fmt.Errorf("%w: %w", ErrCorruptState, err)
	}
	return err
}

// openPreKey decrypts a PreKey message, setting up a new responder state
// if no state has its base key, without writing anything.
func (m *Manager) openPreKey(ctx context.Context, st Stores, addr Address, pm *ratchet.PreKeyMessage, atomic bool) ([]byte, writes, error) {
	if err := checkTrusted(ctx, st.Identity, addr, pm.IdentityKey, Receiving); err != nil {
		return nil, writes{}, err
	}
	rec, err := loadSession(ctx, st, addr)
	if err != nil {
		return nil, writes{}, err
	}
	if rec == nil {
		rec = NewRecord()
	}
	w := writes{rec: rec, identity: pm.IdentityKey}
	base := pm.BaseKey.Bytes()
	newSession := false
	switch i := findByBaseKey(rec, pm.Version, base); {
	case i == 0:
		// The current state already answers this base key.
	case i > 0:
		s, err := rec.archived(i - 1)
		if err != nil {
			return nil, writes{}, classify(err)
		}
		if err := rec.promoteArchived(i-1, s); err != nil {
			return nil, writes{}, err
		}
	default:
		s, err := m.newBobState(ctx, st, pm)
		if err != nil {
			return nil, writes{}, err
		}
		if !atomic {
			w.original = rec.clone()
		}
		if err := rec.promote(s); err != nil {
			return nil, writes{}, err
		}
		newSession = true
	}
	// The MAC binds the message to the identity stored in the state, not
	// to the PreKey message's identity_key field, which is not
	// authenticated when an existing state is reused: require them to agree.
	if !rec.current.RemoteIdentity().Equal(pm.IdentityKey) {
		return nil, writes{}, ratchet.ErrDecryption
	}
	// A responder state that has decrypted nothing yet was set up by an
	// earlier attempt that may have stopped before its pre-key writes.
	w.repair = !newSession && rec.current.ReceiverChains() == 0
	if newSession && !atomic {
		w.staged = rec.clone()
	}
	pt, err := rec.current.Decrypt(nil, &pm.Message)
	if err != nil {
		return nil, writes{}, classify(err)
	}
	if newSession || w.repair {
		if pm.HasKyber() {
			w.kyber, w.kyberID, w.signedID, w.baseKey = true, pm.KyberPreKeyID, pm.SignedPreKeyID, pm.BaseKey
		}
		if pm.HasPreKeyID {
			w.removePreKey, w.preKeyID = true, pm.PreKeyID
		}
	}
	return pt, w, nil
}

// findByBaseKey returns 0 if the current state was set up with base,
// i+1 for archived state i, or -1.
func findByBaseKey(rec *Record, version uint8, base []byte) int {
	if s := rec.current; s != nil && s.Version() == version && bytes.Equal(s.AliceBaseKey(), base) {
		return 0
	}
	for i := range rec.previous {
		s, err := rec.archived(i)
		if err == nil && s.Version() == version && bytes.Equal(s.AliceBaseKey(), base) {
			return i + 1
		}
	}
	return -1
}

// preKeyIDError turns a store's ErrInvalidPreKeyID into a *PreKeyIDError
// naming the pre-key; other errors (a failing store) pass unchanged.
func preKeyIDError(err error, kind string, id uint32) error {
	if errors.Is(err, ErrInvalidPreKeyID) {
		return &PreKeyIDError{Kind: kind, ID: id}
	}
	return err
}

// newBobState runs Bob's side of the key agreement for a PreKey message
// that starts a new session.
func (m *Manager) newBobState(ctx context.Context, st Stores, pm *ratchet.PreKeyMessage) (*ratchet.State, error) {
	if pm.Version == ratchet.VersionX3DH && !m.allowX3DH {
		return nil, ErrX3DHDisabled
	}
	ids := st.Identity
	ours, err := ids.IdentityKeyPair(ctx)
	if err != nil {
		return nil, err
	}
	regID, err := ids.LocalRegistrationID(ctx)
	if err != nil {
		return nil, err
	}
	spkRec, err := st.SignedPreKeys.LoadSignedPreKey(ctx, pm.SignedPreKeyID)
	if err != nil {
		return nil, preKeyIDError(err, "signed", pm.SignedPreKeyID)
	}
	spk, err := spkRec.PrivateKey()
	if err != nil {
		return nil, err
	}
	var opk *keys.PrivateKey
	if pm.HasPreKeyID {
		r, err := st.PreKeys.LoadPreKey(ctx, pm.PreKeyID)
		if err != nil {
			return nil, preKeyIDError(err, "one-time", pm.PreKeyID)
		}
		if opk, err = r.PrivateKey(); err != nil {
			return nil, err
		}
	}
	p := &ratchet.BobParams{
		Version:              pm.Version,
		LocalIdentity:        ours.PublicKey(),
		RemoteIdentity:       pm.IdentityKey,
		OurRatchetKey:        spk,
		TheirBaseKey:         pm.BaseKey,
		LocalRegistrationID:  regID,
		RemoteRegistrationID: pm.RegistrationID,
	}
	if pm.Version == ratchet.VersionPQXDH {
		kr, err := st.KyberPreKeys.LoadKyberPreKey(ctx, pm.KyberPreKeyID)
		if err != nil {
			return nil, preKeyIDError(err, "kyber", pm.KyberPreKeyID)
		}
		ksk, err := kr.SecretKey()
		if err != nil {
			return nil, err
		}
		sec, err := pqxdh.Respond(ours, spk, opk, ksk, pqxdh.Message{
			IdentityKey: pm.IdentityKey, BaseKey: pm.BaseKey, KyberCiphertext: pm.KyberCiphertext,
		})
		if err != nil {
			if errors.Is(err, kem.ErrWrongKEMType) || errors.Is(err, pqxdh.ErrInvalidBaseKey) {
				return nil, fmt.Errorf("%w: %w: %w", ErrKeyAgreement, ratchet.ErrMalformedMessage, err)
			}
			return nil, fmt.Errorf("%w: %w", ErrKeyAgreement, err)
		}
		p.RootKey, p.ChainKey = sec.RootKey(), sec.ChainKey()
		// SPQR when this Manager requires it, or when the initiator runs it.
		if m.spqr || len(pm.Message.PQRatchet) > 0 {
			k := sec.SPQRKey()
			p.SPQRKey = &k
			p.NoteToSelf = pm.IdentityKey == ours.PublicKey()
		}
		sec.Clear()
	} else {
		sec, err := x3dh.Respond(ours, spk, opk, x3dh.Message{IdentityKey: pm.IdentityKey, BaseKey: pm.BaseKey})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrKeyAgreement, err)
		}
		p.RootKey, p.ChainKey = sec.RootKey(), sec.ChainKey()
		sec.Clear()
	}
	s, err := ratchet.NewBob(p)
	clear(p.RootKey[:])
	clear(p.ChainKey[:])
	if p.SPQRKey != nil {
		clear(p.SPQRKey[:])
	}
	return s, err
}
