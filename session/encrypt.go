package session

import (
	"context"
	"time"

	"github.com/ratchetlab/signal/ratchet"
)

// Encrypt encrypts plaintext for a peer with the current session state:
// a PreKey message until the peer has answered, then Whisper messages.
// The advanced sending chain is stored (inside one transaction with the
// identity when the stores offer Atomic) before the ciphertext is
// returned: a ciphertext Encrypt returned is never produced twice from
// the same chain key. A current state without a sending chain is not a
// session: Encrypt returns ErrNoSession.
func (m *Manager) Encrypt(ctx context.Context, addr Address, plaintext []byte) (Ciphertext, error) {
	o := m.newOp(addr, opEncrypt)
	o.plaintext = plaintext
	e := m.lockFor(o)
	err := m.exec(ctx, o)
	m.unlockFor(o, e)
	out := o.out
	o.free()
	if err != nil {
		return Ciphertext{}, err
	}
	return out, nil
}

// encryptIn is Encrypt's operation: o.plaintext in, o.out out.
func (m *Manager) encryptIn(ctx context.Context, st Stores, o *op) error {
	addr := o.addr
	rec, err := loadSession(ctx, st, addr)
	if err != nil {
		return err
	}
	if rec == nil || rec.current == nil || !rec.current.HasSenderChain() {
		return ErrNoSession
	}
	s := rec.current
	if p := s.PendingPreKey(); p != nil {
		created := time.Unix(int64(p.Timestamp), 0)
		if m.now().Sub(created) > MaxUnacknowledgedSessionAge {
			return ErrNoSession
		}
	}
	theirID := s.RemoteIdentity()
	if err := checkTrusted(ctx, st.Identity, addr, theirID, Sending); err != nil {
		return err
	}
	var addresses []byte
	// libsignal (≥ 0.91) adds addresses only to version 4 PreKey messages;
	// version 3 stacks such as go.mau.fi/libsignal do not know the field.
	if s.PendingPreKey() != nil && m.hasLocal && s.Version() == ratchet.VersionPQXDH {
		addresses, _ = addressesField(m.local, addr)
	}
	b, typ, err := s.EncryptWith(nil, o.plaintext, ratchet.EncryptOptions{Addresses: addresses, LegacyVersionByte: m.legacyV3Byte})
	if err != nil {
		return err
	}
	if _, err := st.Identity.SaveIdentity(ctx, addr, theirID); err != nil {
		return err
	}
	if err := st.Sessions.StoreSession(ctx, addr, rec); err != nil {
		return err
	}
	o.out = Ciphertext{Type: typ, Bytes: b}
	return nil
}
