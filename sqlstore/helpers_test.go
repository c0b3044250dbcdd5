package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/session"
	"github.com/ratchetlab/signal/sqlstore"
	"github.com/stretchr/testify/require"
)

// dsnEnv names the environment variable with the PostgreSQL DSN for tests.
const dsnEnv = "SQLSTORE_POSTGRES_DSN"

const skipPostgres = "PostgreSQL tests need " + dsnEnv + "; run sqlstore/ci, or eval \"$(sqlstore/scripts/postgres start)\" first"

// target is one database to test against: a driver and a DSN that the
// test and its child processes open.
type target struct {
	name   string
	driver string
	dsn    string
}

func (tg target) open(t testing.TB, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), tg.driver, tg.dsn, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// sqliteTarget is a new SQLite file in a temporary directory.
func sqliteTarget(t testing.TB) target {
	return target{name: "sqlite", driver: sqlstore.SQLite, dsn: filepath.Join(t.TempDir(), "signal.db")}
}

// postgresTarget is a new, empty schema in the test database, dropped at
// the end of the test. It skips the test if no DSN is set.
func postgresTarget(t testing.TB) target {
	t.Helper()
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		t.Skip(skipPostgres)
	}
	schema, scoped := newSchema(t, dsn)
	t.Cleanup(func() { dropSchema(dsn, schema) })
	return target{name: "postgres", driver: sqlstore.Postgres, dsn: scoped}
}

// newSchema creates an empty schema in the database of dsn and returns
// its name and a DSN whose search_path selects it.
func newSchema(t testing.TB, dsn string) (schema, scoped string) {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	schema = "t_" + hex.EncodeToString(b[:])
	admin, err := sql.Open(sqlstore.Postgres, dsn)
	require.NoError(t, err)
	defer admin.Close()
	_, err = admin.Exec("CREATE SCHEMA " + schema)
	require.NoError(t, err)
	if strings.Contains(dsn, "://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return schema, dsn + sep + "search_path=" + schema
	}
	return schema, dsn + " search_path=" + schema
}

func dropSchema(dsn, schema string) {
	admin, err := sql.Open(sqlstore.Postgres, dsn)
	if err != nil {
		return
	}
	defer admin.Close()
	admin.Exec("DROP SCHEMA " + schema + " CASCADE")
}

// forEachDB runs f against SQLite and against PostgreSQL.
func forEachDB(t *testing.T, f func(t *testing.T, tg target)) {
	t.Run("sqlite", func(t *testing.T) { f(t, sqliteTarget(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, postgresTarget(t)) })
}

var (
	aliceAddr = session.Address{Name: "alice", DeviceID: 1}
	bobAddr   = session.Address{Name: "bob", DeviceID: 1}
)

// bobKeys are Bob's long-term and pre-keys, created once per test and
// written into each of his stores.
type bobKeys struct {
	id     *keys.PrivateKey
	regID  uint32
	signed *prekey.SignedPreKeyRecord
	kyber  *prekey.KyberPreKeyRecord
	pre    []*prekey.PreKeyRecord
}

func newBobKeys(t testing.TB, preKeys int) *bobKeys {
	t.Helper()
	id, err := keys.GeneratePrivateKey()
	require.NoError(t, err)
	signed, err := prekey.GenerateSignedPreKey(id, 7, time.Now())
	require.NoError(t, err)
	kyber, err := prekey.GenerateKyberPreKey(id, 9, kem.Kyber1024, time.Now())
	require.NoError(t, err)
	pre, err := prekey.GeneratePreKeys(100, preKeys)
	require.NoError(t, err)
	return &bobKeys{id: id, regID: 2222, signed: signed, kyber: kyber, pre: pre}
}

// install writes Bob's keys into s.
func (k *bobKeys) install(t testing.TB, s *sqlstore.Store) {
	t.Helper()
	ctx := context.Background()
	st := s.Stores()
	require.NoError(t, s.SetLocalIdentity(ctx, k.id, k.regID))
	require.NoError(t, st.SignedPreKeys.StoreSignedPreKey(ctx, k.signed))
	require.NoError(t, st.KyberPreKeys.StoreKyberPreKey(ctx, k.kyber))
	for _, p := range k.pre {
		require.NoError(t, st.PreKeys.StorePreKey(ctx, p))
	}
}

// bundle returns Bob's bundle with one-time pre-key i.
func (k *bobKeys) bundle(t testing.TB, i int) *prekey.Bundle {
	t.Helper()
	b, err := prekey.NewBundle(k.regID, bobAddr.DeviceID, k.id.PublicKey(), k.signed, k.pre[i], k.kyber)
	require.NoError(t, err)
	return b
}

// newAlice returns an in-memory Manager for a peer that has processed
// Bob's bundle with one-time pre-key i.
func newAlice(t testing.TB, k *bobKeys, i int) *session.Manager {
	t.Helper()
	id, err := keys.GeneratePrivateKey()
	require.NoError(t, err)
	m, err := session.New(session.NewMemoryStore(id, 1111, session.TrustOnFirstUse).Stores())
	require.NoError(t, err)
	require.NoError(t, m.ProcessBundle(context.Background(), bobAddr, k.bundle(t, i)))
	return m
}

// receive decrypts ct from a peer with Manager.Receive over s: handle
// runs with the plaintext inside the transaction (Atomic) that advances
// the session, which commits if and only if handle succeeds.
func receive(ctx context.Context, s *sqlstore.Store, from session.Address, ct session.Ciphertext, handle func(ctx context.Context, pt []byte) error) error {
	m, err := session.New(s.Stores())
	if err != nil {
		return err
	}
	return m.Receive(ctx, from, ct, handle)
}

// send encrypts from s to a peer; the Manager commits the advanced
// sending chain (through Atomic) before it returns the ciphertext.
func send(ctx context.Context, s *sqlstore.Store, to session.Address, pt []byte) (session.Ciphertext, error) {
	m, err := session.New(s.Stores())
	if err != nil {
		return session.Ciphertext{}, err
	}
	return m.Encrypt(ctx, to, pt)
}

// messagesTable is the application's table in the tests.
const messagesTable = `CREATE TABLE IF NOT EXISTS messages (sender TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL)`

// saveMessage is a handler that saves "<seq> <text>" plaintexts from
// sender in the caller's transaction. $1 placeholders are understood by
// both SQLite and PostgreSQL.
func saveMessage(sender string) func(ctx context.Context, pt []byte) error {
	return func(ctx context.Context, pt []byte) error {
		var seq int
		if _, err := fmt.Sscanf(string(pt), "%d ", &seq); err != nil {
			return fmt.Errorf("unexpected plaintext %q", pt)
		}
		_, err := sqlstore.Tx(ctx).ExecContext(ctx, "INSERT INTO messages (sender, seq, body) VALUES ($1, $2, $3)", sender, seq, string(pt))
		return err
	}
}

func body(seq int) []byte { return fmt.Appendf(nil, "%d message number %d", seq, seq) }
