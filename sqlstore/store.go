package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/session"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Driver names accepted by Open.
const (
	// SQLite is modernc.org/sqlite's driver name.
	SQLite = "sqlite"
	// Postgres is the name of pgx's database/sql driver.
	Postgres = "pgx"
)

// DefaultMaxAttempts is how many times Atomic runs a function that keeps
// failing with transient errors before it returns the last error.
const DefaultMaxAttempts = 10

// ErrNoLocalIdentity is returned by IdentityKeyPair and
// LocalRegistrationID before SetLocalIdentity was called on the database.
var ErrNoLocalIdentity = errors.New("sqlstore: no local identity (call SetLocalIdentity)")

type dialect struct {
	postgres   bool
	migrations string
}

// rebind turns the ? placeholders of q into PostgreSQL's $1, $2, ...
func (d *dialect) rebind(q string) string {
	if !d.postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Option configures a Store.
type Option func(*Store)

// WithTrustPolicy sets how IsTrustedIdentity decides (default
// session.TrustOnFirstUse).
func WithTrustPolicy(p session.TrustPolicy) Option { return func(s *Store) { s.trust = p } }

// WithMaxAttempts sets how many times Atomic runs a function that fails
// with transient errors (default DefaultMaxAttempts; at least 1).
func WithMaxAttempts(n int) Option { return func(s *Store) { s.maxAttempts = max(n, 1) } }

// WithFaultHook installs a hook, meant for tests, that every store method
// calls after its SQL statement ran, with the method's name; Atomic calls it
// with "commit" before committing. A non-nil error from the hook is
// returned by the method as if the database had failed.
func WithFaultHook(hook func(op string) error) Option { return func(s *Store) { s.fault = hook } }

// Store keeps the stores of package session in one SQL database. It is
// safe for concurrent use, and several processes may share its database.
type Store struct {
	db          *sql.DB
	d           *dialect
	trust       session.TrustPolicy
	maxAttempts int
	fault       func(op string) error
	// writeMu makes this process's SQLite writers queue in process rather
	// than poll the file lock.
	writeMu sync.Mutex

	idMu  sync.Mutex
	idKey *keys.PrivateKey
	regID uint32
}

// Open opens the database and brings its schema up to date. driver is
// SQLite, with dsn a file name (or a "file:" URI), or Postgres, with dsn a
// pgx connection string ("host=/run/pg dbname=signal" or a postgres://
// URL; add search_path to use a schema other than public).
//
// For SQLite, Open sets WAL mode, a busy timeout of 10 s, synchronous=FULL
// and BEGIN IMMEDIATE transactions unless the URI sets them.
func Open(ctx context.Context, driver, dsn string, opts ...Option) (*Store, error) {
	s := &Store{maxAttempts: DefaultMaxAttempts}
	switch driver {
	case SQLite:
		s.d = &dialect{migrations: "sqlite"}
		dsn = sqliteDSN(dsn)
	case Postgres:
		s.d = &dialect{postgres: true, migrations: "postgres"}
	default:
		return nil, fmt.Errorf("sqlstore: unsupported driver %q (want %q or %q)", driver, SQLite, Postgres)
	}
	for _, o := range opts {
		o(s)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, err
	}
	s.db = db
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// sqliteDSN adds the settings sqlstore relies on to a SQLite file name.
func sqliteDSN(dsn string) string {
	if !strings.HasPrefix(dsn, "file:") {
		dsn = "file:" + dsn
	}
	base, query, _ := strings.Cut(dsn, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return dsn // let the driver report it
	}
	set := func(k, v string) {
		if !q.Has(k) {
			q.Set(k, v)
		}
	}
	set("_txlock", "immediate")
	set("_busy_timeout", "10000")
	set("_journal_mode", "WAL")
	set("_synchronous", "FULL")
	return base + "?" + q.Encode()
}

// DB returns the underlying database, for the application's own tables.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Stores returns a session.Stores with s in every role, Atomic included.
func (s *Store) Stores() session.Stores {
	v := &view{s: s, q: s.db}
	return v.stores()
}

// SetLocalIdentity records our identity key pair and registration id.
func (s *Store) SetLocalIdentity(ctx context.Context, identity *keys.PrivateKey, registrationID uint32) error {
	unlock := s.lockWriter()
	defer unlock()
	_, err := s.db.ExecContext(ctx, s.d.rebind(`INSERT INTO local_identity (id, private_key, registration_id) VALUES (1, ?, ?)
ON CONFLICT (id) DO UPDATE SET private_key = excluded.private_key, registration_id = excluded.registration_id`),
		identity.Bytes(), int64(registrationID))
	if err != nil {
		return err
	}
	s.idMu.Lock()
	s.idKey, s.regID = identity, registrationID
	s.idMu.Unlock()
	return nil
}

func (s *Store) lockWriter() func() {
	if s.d.postgres {
		return func() {}
	}
	s.writeMu.Lock()
	return s.writeMu.Unlock
}

type txKey struct{}

type txState struct {
	s      *Store
	tx     *sql.Tx
	view   *view
	stores session.Stores
}

// Tx returns the transaction of the Atomic call whose function received
// ctx, or nil outside one. The application writes its own rows through it
// so that they commit (or not) together with the session.
func Tx(ctx context.Context) *sql.Tx {
	if st, ok := ctx.Value(txKey{}).(*txState); ok {
		return st.tx
	}
	return nil
}

// Atomic implements session.Atomic. fn's writes, and the application's
// writes through Tx(ctx), commit together if and only if fn returns nil.
// Transactions for one address are serialized across processes: by the
// database's single write lock for SQLite (BEGIN IMMEDIATE), by a
// transaction-scoped advisory lock on the address for PostgreSQL. fn is run
// again, in a new transaction, after a transient failure of fn or of the
// commit, at most the configured number of attempts in all.
//
// Called with a ctx that already carries a transaction of s, Atomic runs
// fn in that transaction; likewise every store of s (from Stores) called
// with such a ctx reads and writes in that transaction. Inside fn, other
// writes to the database must go through Tx(ctx): on SQLite a second
// transaction would wait for this one.
func (s *Store) Atomic(ctx context.Context, addr session.Address, fn func(ctx context.Context, tx session.Stores) error) error {
	if st, ok := ctx.Value(txKey{}).(*txState); ok && st.s == s {
		return fn(ctx, st.stores)
	}
	return s.retry(ctx, func() error { return s.atomicOnce(ctx, addr, fn) })
}

// retry runs f until it succeeds, fails with an error that is not
// transient, or has run maxAttempts times, backing off between attempts.
func (s *Store) retry(ctx context.Context, f func() error) error {
	backoff := time.Millisecond
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || attempt >= s.maxAttempts || !IsTransient(err) {
			return err
		}
		t := time.NewTimer(backoff/2 + rand.N(backoff))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff = min(2*backoff, 200*time.Millisecond)
	}
}

func (s *Store) atomicOnce(ctx context.Context, addr session.Address, fn func(ctx context.Context, tx session.Stores) error) error {
	unlock := s.lockWriter()
	defer unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if s.d.postgres {
		// Mixing in the schema keeps accounts kept in different schemas of
		// one database from waiting for each other.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1::bigint # hashtextextended(current_schema(), 0))", addressLockKey(addr)); err != nil {
			return err
		}
	}
	v := &view{s: s, q: tx, ids: make(map[session.Address]cachedIdentity)}
	st := &txState{s: s, tx: tx, view: v, stores: v.stores()}
	if err := fn(context.WithValue(ctx, txKey{}, st), st.stores); err != nil {
		return err
	}
	if err := s.hook("commit"); err != nil {
		return err
	}
	return tx.Commit()
}

// addressLockKey is the advisory lock key of an address. Two addresses
// with the same key only wait for each other.
func addressLockKey(addr session.Address) int64 {
	h := fnv.New64a()
	h.Write([]byte("sqlstore.session\x00"))
	h.Write([]byte(addr.Name))
	h.Write([]byte{0, byte(addr.DeviceID >> 24), byte(addr.DeviceID >> 16), byte(addr.DeviceID >> 8), byte(addr.DeviceID)})
	return int64(h.Sum64())
}

func (s *Store) hook(op string) error {
	if s.fault == nil {
		return nil
	}
	return s.fault(op)
}
