package session

import (
	"context"
	"fmt"

	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/pqxdh"
	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/ratchet"
	"github.com/ratchetlab/signal/x3dh"
)

// ProcessBundle starts a session with a peer from its pre-key bundle
// (Alice's side of PQXDH, or of X3DH if enabled). The bundle's signatures
// were checked when it was parsed (prekey.ParseBundle). The peer's identity
// must be trusted for sending. The new state becomes current; a previous
// one is archived. The identity and the record are written in one
// transaction when the stores offer Atomic.
func (m *Manager) ProcessBundle(ctx context.Context, addr Address, b *prekey.Bundle) error {
	defer m.unlock(addr, m.lock(addr))
	ids := m.stores.Identity
	theirID := b.IdentityKey()
	ours, err := ids.IdentityKeyPair(ctx)
	if err != nil {
		return err
	}
	regID, err := ids.LocalRegistrationID(ctx)
	if err != nil {
		return err
	}
	base, err := keys.GeneratePrivateKey()
	if err != nil {
		return err
	}
	opkID, opk, hasOPK := b.PreKey()
	p := &ratchet.AliceParams{
		LocalIdentity:  ours.PublicKey(),
		RemoteIdentity: theirID,
		BaseKey:        base.PublicKey(),
		PendingPreKey: ratchet.PendingPreKey{
			PreKeyID: opkID, HasPreKeyID: hasOPK, SignedPreKeyID: b.SignedPreKeyID(),
			Timestamp: uint64(m.now().Unix()),
		},
		TheirRatchetKey:      b.SignedPreKey(),
		LocalRegistrationID:  regID,
		RemoteRegistrationID: b.RegistrationID(),
	}
	if kyberID, kyberKey, ok := b.KyberPreKey(); ok {
		sec, msg, err := pqxdh.Initiate(ours, base, pqxdh.BobKeys{
			IdentityKey: theirID, SignedPreKey: b.SignedPreKey(), OneTimePreKey: opk, KyberPreKey: kyberKey,
		})
		if err != nil {
			return fmt.Errorf("%w: %w", ErrKeyAgreement, err)
		}
		p.Version = ratchet.VersionPQXDH
		p.RootKey, p.ChainKey = sec.RootKey(), sec.ChainKey()
		if m.spqr {
			k := sec.SPQRKey()
			p.SPQRKey = &k
		}
		sec.Clear()
		p.PendingKyberPreKey = &ratchet.PendingKyberPreKey{PreKeyID: kyberID, Ciphertext: msg.KyberCiphertext}
	} else {
		if !m.allowX3DH {
			return ErrX3DHDisabled
		}
		sec, _, err := x3dh.Initiate(ours, base, x3dh.BobKeys{
			IdentityKey: theirID, SignedPreKey: b.SignedPreKey(), OneTimePreKey: opk,
		})
		if err != nil {
			return fmt.Errorf("%w: %w", ErrKeyAgreement, err)
		}
		p.Version = ratchet.VersionX3DH
		p.RootKey, p.ChainKey = sec.RootKey(), sec.ChainKey()
		sec.Clear()
	}
	state, err := ratchet.NewAlice(p)
	clear(p.RootKey[:])
	clear(p.ChainKey[:])
	if p.SPQRKey != nil {
		clear(p.SPQRKey[:])
	}
	if err != nil {
		return err
	}
	return m.run(ctx, addr, func(ctx context.Context, st Stores, _ bool) error {
		if err := checkTrusted(ctx, st.Identity, addr, theirID, Sending); err != nil {
			return err
		}
		rec, err := loadSession(ctx, st, addr)
		if err != nil {
			return err
		}
		if rec == nil {
			rec = NewRecord()
		}
		// A clone, so that a transaction run again starts afresh.
		if err := rec.promote(state.Clone()); err != nil {
			return err
		}
		if _, err := st.Identity.SaveIdentity(ctx, addr, theirID); err != nil {
			return err
		}
		return st.Sessions.StoreSession(ctx, addr, rec)
	})
}
