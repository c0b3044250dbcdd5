package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/session"
)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// view implements every store of package session over a database (each
// call its own transaction) or over one transaction.
type view struct {
	s *Store
	q querier
	// ids caches peer identities read or written in this transaction
	// (only in a transaction: outside one, another writer may change them).
	ids map[session.Address]cachedIdentity
}

type cachedIdentity struct {
	key keys.PublicKey
	ok  bool
}

func (v *view) stores() session.Stores {
	return session.Stores{
		Identity: v, PreKeys: v, SignedPreKeys: v, KyberPreKeys: v, Sessions: v,
		SenderKeys: v, Atomic: v.s,
	}
}

// in returns the view of the transaction that ctx carries, if it is one
// of this Store's: a store used inside an Atomic function with that
// function's ctx writes in its transaction (rather than waiting for it,
// which on SQLite would never end).
func (v *view) in(ctx context.Context) *view {
	if st, ok := ctx.Value(txKey{}).(*txState); ok && st.s == v.s {
		return st.view
	}
	return v
}

func (v *view) inTx() bool {
	_, ok := v.q.(*sql.Tx)
	return ok
}

// exec runs a write. Outside a transaction, SQLite writers of this process
// queue on the Store's mutex.
func (v *view) exec(ctx context.Context, op, query string, args ...any) (sql.Result, error) {
	if !v.inTx() {
		defer v.s.lockWriter()()
	}
	res, err := v.q.ExecContext(ctx, v.s.d.rebind(query), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	if err := v.s.hook(op); err != nil {
		return nil, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return res, nil
}

// get reads one blob; ok is false if there is no row.
func (v *view) get(ctx context.Context, op, query string, args ...any) (b []byte, ok bool, err error) {
	err = v.q.QueryRowContext(ctx, v.s.d.rebind(query), args...).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	} else {
		ok = err == nil
	}
	if err == nil {
		err = v.s.hook(op)
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return b, ok, nil
}

func (v *view) local(ctx context.Context) (*keys.PrivateKey, uint32, error) {
	s := v.s
	s.idMu.Lock()
	k, id := s.idKey, s.regID
	s.idMu.Unlock()
	if k != nil {
		return k, id, nil
	}
	var b []byte
	var reg int64
	err := v.q.QueryRowContext(ctx, "SELECT private_key, registration_id FROM local_identity WHERE id = 1").Scan(&b, &reg)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, ErrNoLocalIdentity
	}
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: local identity: %w", err)
	}
	k, err = keys.ParsePrivateKey(b)
	clear(b)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: local identity: %w", err)
	}
	s.idMu.Lock()
	s.idKey, s.regID = k, uint32(reg)
	s.idMu.Unlock()
	return k, uint32(reg), nil
}

// IdentityKeyPair implements session.IdentityStore.
func (v *view) IdentityKeyPair(ctx context.Context) (*keys.PrivateKey, error) {
	v = v.in(ctx)
	k, _, err := v.local(ctx)
	return k, err
}

// LocalRegistrationID implements session.IdentityStore.
func (v *view) LocalRegistrationID(ctx context.Context) (uint32, error) {
	v = v.in(ctx)
	_, id, err := v.local(ctx)
	return id, err
}

// Identity implements session.IdentityStore.
func (v *view) Identity(ctx context.Context, addr session.Address) (keys.PublicKey, bool, error) {
	v = v.in(ctx)
	if c, hit := v.ids[addr]; hit {
		return c.key, c.ok, nil
	}
	b, ok, err := v.get(ctx, "Identity", "SELECT public_key FROM identities WHERE name = ? AND device_id = ?",
		addr.Name, int64(addr.DeviceID))
	if err != nil {
		return keys.PublicKey{}, false, err
	}
	if !ok {
		v.cacheIdentity(addr, keys.PublicKey{}, false)
		return keys.PublicKey{}, false, nil
	}
	k, err := keys.ParsePublicKey(b)
	if err != nil {
		return keys.PublicKey{}, false, fmt.Errorf("sqlstore: stored identity of %s: %w", addr, err)
	}
	v.cacheIdentity(addr, k, true)
	return k, true, nil
}

// SaveIdentity implements session.IdentityStore.
func (v *view) SaveIdentity(ctx context.Context, addr session.Address, key keys.PublicKey) (bool, error) {
	v = v.in(ctx)
	old, ok, err := v.Identity(ctx, addr)
	if err != nil {
		return false, err
	}
	if ok && old == key {
		return false, nil
	}
	_, err = v.exec(ctx, "SaveIdentity", `INSERT INTO identities (name, device_id, public_key) VALUES (?, ?, ?)
ON CONFLICT (name, device_id) DO UPDATE SET public_key = excluded.public_key`,
		addr.Name, int64(addr.DeviceID), key.Bytes())
	if err != nil {
		return false, err
	}
	v.cacheIdentity(addr, key, true)
	return ok, nil
}

func (v *view) cacheIdentity(addr session.Address, key keys.PublicKey, ok bool) {
	if v.ids != nil {
		v.ids[addr] = cachedIdentity{key, ok}
	}
}

// IsTrustedIdentity implements session.IdentityStore: under
// session.TrustOnFirstUse a key is trusted if none is recorded for addr or
// it is the recorded one; under session.TrustAll every key is.
func (v *view) IsTrustedIdentity(ctx context.Context, addr session.Address, key keys.PublicKey, _ session.Direction) (bool, error) {
	v = v.in(ctx)
	if v.s.trust == session.TrustAll {
		return true, nil
	}
	old, ok, err := v.Identity(ctx, addr)
	if err != nil {
		return false, err
	}
	return !ok || old == key, nil
}

func (v *view) loadRecord(ctx context.Context, op, table string, id uint32, lock bool) ([]byte, error) {
	q := "SELECT record FROM " + table + " WHERE id = ?"
	if lock && v.s.d.postgres && v.inTx() {
		// Another process consuming the same one-time pre-key waits here
		// and then finds it gone.
		q += " FOR UPDATE"
	}
	b, ok, err := v.get(ctx, op, q, int64(id))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %d", session.ErrInvalidPreKeyID, id)
	}
	return b, nil
}

type marshaler interface{ MarshalBinary() ([]byte, error) }

func (v *view) storeRecord(ctx context.Context, op, table string, id uint32, r marshaler) error {
	b, err := r.MarshalBinary()
	if err != nil {
		return err
	}
	_, err = v.exec(ctx, op, "INSERT INTO "+table+" (id, record) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET record = excluded.record",
		int64(id), b)
	clear(b)
	return err
}

// LoadPreKey implements session.PreKeyStore.
func (v *view) LoadPreKey(ctx context.Context, id uint32) (*prekey.PreKeyRecord, error) {
	v = v.in(ctx)
	b, err := v.loadRecord(ctx, "LoadPreKey", "pre_keys", id, true)
	if err != nil {
		return nil, err
	}
	return prekey.ParsePreKeyRecord(b)
}

// StorePreKey implements session.PreKeyStore.
func (v *view) StorePreKey(ctx context.Context, r *prekey.PreKeyRecord) error {
	v = v.in(ctx)
	return v.storeRecord(ctx, "StorePreKey", "pre_keys", r.ID(), r)
}

// RemovePreKey implements session.PreKeyStore. Removing an absent pre-key
// is not an error.
func (v *view) RemovePreKey(ctx context.Context, id uint32) error {
	v = v.in(ctx)
	_, err := v.exec(ctx, "RemovePreKey", "DELETE FROM pre_keys WHERE id = ?", int64(id))
	return err
}

// LoadSignedPreKey implements session.SignedPreKeyStore.
func (v *view) LoadSignedPreKey(ctx context.Context, id uint32) (*prekey.SignedPreKeyRecord, error) {
	v = v.in(ctx)
	b, err := v.loadRecord(ctx, "LoadSignedPreKey", "signed_pre_keys", id, false)
	if err != nil {
		return nil, err
	}
	return prekey.ParseSignedPreKeyRecord(b)
}

// StoreSignedPreKey implements session.SignedPreKeyStore.
func (v *view) StoreSignedPreKey(ctx context.Context, r *prekey.SignedPreKeyRecord) error {
	v = v.in(ctx)
	return v.storeRecord(ctx, "StoreSignedPreKey", "signed_pre_keys", r.ID(), r)
}

// LoadKyberPreKey implements session.KyberPreKeyStore.
func (v *view) LoadKyberPreKey(ctx context.Context, id uint32) (*prekey.KyberPreKeyRecord, error) {
	v = v.in(ctx)
	b, err := v.loadRecord(ctx, "LoadKyberPreKey", "kyber_pre_keys", id, false)
	if err != nil {
		return nil, err
	}
	return prekey.ParseKyberPreKeyRecord(b)
}

// StoreKyberPreKey implements session.KyberPreKeyStore.
func (v *view) StoreKyberPreKey(ctx context.Context, r *prekey.KyberPreKeyRecord) error {
	v = v.in(ctx)
	return v.storeRecord(ctx, "StoreKyberPreKey", "kyber_pre_keys", r.ID(), r)
}

// MarkKyberPreKeyUsed implements session.KyberPreKeyStore. Kyber pre-keys
// are kept (libsignal's last-resort keys); a base key used a second time
// with the same pair of pre-keys returns session.ErrReusedBaseKey, also
// when two processes mark it at once (the second waits for the first's
// row and then inserts nothing).
func (v *view) MarkKyberPreKeyUsed(ctx context.Context, id, signedID uint32, base keys.PublicKey) error {
	v = v.in(ctx)
	res, err := v.exec(ctx, "MarkKyberPreKeyUsed", `INSERT INTO kyber_pre_keys_used (kyber_id, signed_id, base_key) VALUES (?, ?, ?)
ON CONFLICT (kyber_id, signed_id, base_key) DO NOTHING`, int64(id), int64(signedID), base.Bytes())
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: MarkKyberPreKeyUsed: %w", err)
	}
	if n == 0 {
		return session.ErrReusedBaseKey
	}
	return nil
}

// LoadSession implements session.SessionStore.
func (v *view) LoadSession(ctx context.Context, addr session.Address) (*session.Record, error) {
	v = v.in(ctx)
	b, ok, err := v.get(ctx, "LoadSession", "SELECT record FROM sessions WHERE name = ? AND device_id = ?",
		addr.Name, int64(addr.DeviceID))
	if err != nil || !ok {
		return nil, err
	}
	return session.ParseRecord(b)
}

// StoreSession implements session.SessionStore.
func (v *view) StoreSession(ctx context.Context, addr session.Address, r *session.Record) error {
	v = v.in(ctx)
	b, err := r.MarshalBinary()
	if err != nil {
		return err
	}
	_, err = v.exec(ctx, "StoreSession", `INSERT INTO sessions (name, device_id, record) VALUES (?, ?, ?)
ON CONFLICT (name, device_id) DO UPDATE SET record = excluded.record`, addr.Name, int64(addr.DeviceID), b)
	clear(b)
	return err
}
