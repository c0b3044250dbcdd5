package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/session"
	"github.com/ratchetlab/signal/sqlstore"
	"github.com/stretchr/testify/require"
)

// benchFixture is Bob's database with established sessions with a number
// of peers, kept across the runs of a benchmark so that set-up is paid
// once. Each peer has answered Bob, so its messages are Whisper messages.
type benchFixture struct {
	s     *sqlstore.Store
	tg    target
	addrs []session.Address
	peers []*session.Manager
	seq   int
}

var (
	fixturesMu sync.Mutex
	fixtures   = map[string]*benchFixture{}
)

func fixture(b *testing.B, tg func(testing.TB) target, peers int) *benchFixture {
	b.Helper()
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	key := fmt.Sprintf("%s/%d", b.Name(), peers)
	if f, ok := fixtures[key]; ok {
		return f
	}
	ctx := context.Background()
	// The fixture outlives this run of the benchmark (later runs and
	// -count repetitions use it), so its database is removed by TestMain.
	tgt := tg(b)
	dsn := tgt.dsn
	if tgt.driver == sqlstore.SQLite {
		// No automatic checkpoints, so that the WAL's growth is what a
		// run wrote (walMark truncates it before each run).
		dsn += "?_pragma=wal_autocheckpoint(0)"
	}
	s, err := sqlstore.Open(ctx, tgt.driver, dsn)
	require.NoError(b, err)
	k := newBobKeys(b, 0)
	k.install(b, s)
	_, err = s.DB().Exec(messagesTable)
	require.NoError(b, err)
	bundle, err := prekey.NewBundle(k.regID, bobAddr.DeviceID, k.id.PublicKey(), k.signed, nil, k.kyber)
	require.NoError(b, err)
	f := &benchFixture{s: s, tg: tgt}
	for i := range peers {
		addr := session.Address{Name: fmt.Sprintf("peer-%04d", i), DeviceID: 1}
		id, err := keys.GeneratePrivateKey()
		require.NoError(b, err)
		m, err := session.New(session.NewMemoryStore(id, uint32(i+1), session.TrustOnFirstUse).Stores())
		require.NoError(b, err)
		require.NoError(b, m.ProcessBundle(ctx, bobAddr, bundle))
		ct, err := m.Encrypt(ctx, bobAddr, body(0))
		require.NoError(b, err)
		require.NoError(b, receive(ctx, s, addr, ct, saveMessage(addr.Name)))
		reply, err := send(ctx, s, addr, []byte("hi"))
		require.NoError(b, err)
		_, err = m.Decrypt(ctx, bobAddr, reply)
		require.NoError(b, err)
		f.addrs = append(f.addrs, addr)
		f.peers = append(f.peers, m)
	}
	f.seq = 1
	fixtures[key] = f
	return f
}

type benchMsg struct {
	peer int
	ct   session.Ciphertext
}

// prepare encrypts n messages, round robin over the peers.
func (f *benchFixture) prepare(b *testing.B, n int) []benchMsg {
	ctx := context.Background()
	msgs := make([]benchMsg, n)
	for i := range msgs {
		p := i % len(f.peers)
		ct, err := f.peers[p].Encrypt(ctx, bobAddr, body(f.seq))
		require.NoError(b, err)
		f.seq++
		msgs[i] = benchMsg{p, ct}
	}
	return msgs
}

// rowBytes reports the bytes of the rows one received message rewrites or
// adds: the peer's session row (its record is rewritten whole) and the
// application's message row.
func (f *benchFixture) rowBytes(b *testing.B) float64 {
	var rec, msg float64
	require.NoError(b, f.s.DB().QueryRow("SELECT AVG(LENGTH(record) + LENGTH(name) + 8) FROM sessions").Scan(&rec))
	require.NoError(b, f.s.DB().QueryRow("SELECT AVG(LENGTH(body) + LENGTH(sender) + 8) FROM messages").Scan(&msg))
	return rec + msg
}

// walMark returns the database's write-ahead log position: for SQLite
// the size of the WAL file, after a checkpoint that truncates it; for
// PostgreSQL the server's WAL insert position (server-wide, so the
// benchmark should be the only client).
func (f *benchFixture) walMark(b *testing.B, reset bool) int64 {
	if f.tg.driver == sqlstore.SQLite {
		if reset {
			_, err := f.s.DB().Exec("PRAGMA wal_checkpoint(TRUNCATE)")
			require.NoError(b, err)
		}
		fi, err := os.Stat(f.tg.dsn + "-wal")
		require.NoError(b, err)
		return fi.Size()
	}
	var lsn int64
	require.NoError(b, f.s.DB().QueryRow("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint").Scan(&lsn))
	return lsn
}

// BenchmarkReceive measures receiving a Whisper message and saving its
// plaintext in the same transaction (Atomic: decrypt, session write,
// message insert, commit), with SQLite (WAL, synchronous=FULL) and with
// PostgreSQL, from one peer and from 1,000 peers at once. It reports
// messages per second, the bytes of the rows a message rewrites or adds
// (row-B/msg) and the bytes the database wrote to its write-ahead log per
// message (wal-B/msg).
func BenchmarkReceive(b *testing.B) {
	for _, db := range []struct {
		name string
		tg   func(testing.TB) target
	}{{"sqlite", lastingSQLite}, {"postgres", lastingPostgres}} {
		b.Run(db.name+"/1peer", func(b *testing.B) {
			f := fixture(b, db.tg, 1)
			msgs := f.prepare(b, b.N)
			ctx := context.Background()
			wal := f.walMark(b, true)
			b.ReportAllocs()
			b.ResetTimer()
			for _, m := range msgs {
				if err := receive(ctx, f.s, f.addrs[m.peer], m.ct, saveMessage(f.addrs[m.peer].Name)); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(f.rowBytes(b), "row-B/msg")
			b.ReportMetric(float64(f.walMark(b, false)-wal)/float64(b.N), "wal-B/msg")
		})
		b.Run(db.name+"/1000peers", func(b *testing.B) {
			f := fixture(b, db.tg, 1000)
			msgs := f.prepare(b, b.N)
			ctx := context.Background()
			var next atomic.Int64
			workers := 4 * runtime.GOMAXPROCS(0)
			var wg sync.WaitGroup
			var failed atomic.Value
			wal := f.walMark(b, true)
			b.ReportAllocs()
			b.ResetTimer()
			for range workers {
				wg.Go(func() {
					for {
						i := int(next.Add(1)) - 1
						if i >= len(msgs) {
							return
						}
						m := msgs[i]
						if err := receive(ctx, f.s, f.addrs[m.peer], m.ct, saveMessage(f.addrs[m.peer].Name)); err != nil {
							failed.Store(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			if err := failed.Load(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(f.rowBytes(b), "row-B/msg")
			b.ReportMetric(float64(f.walMark(b, false)-wal)/float64(b.N), "wal-B/msg")
		})
	}
}

// atExit holds cleanups that TestMain runs after all tests and benchmarks.
var (
	atExitMu sync.Mutex
	atExit   []func()
)

func runAtExit() {
	atExitMu.Lock()
	defer atExitMu.Unlock()
	for _, f := range atExit {
		f()
	}
}

// lastingSQLite is like sqliteTarget, but the file stays until TestMain
// ends.
func lastingSQLite(t testing.TB) target {
	dir, err := os.MkdirTemp("", "sqlstore-bench")
	require.NoError(t, err)
	atExitMu.Lock()
	atExit = append(atExit, func() { os.RemoveAll(dir) })
	atExitMu.Unlock()
	return target{name: "sqlite", driver: sqlstore.SQLite, dsn: filepath.Join(dir, "signal.db")}
}

// lastingPostgres is like postgresTarget, but the schema stays until
// TestMain ends.
func lastingPostgres(t testing.TB) target {
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		t.Skip(skipPostgres)
	}
	schema, scoped := newSchema(t, dsn)
	atExitMu.Lock()
	atExit = append(atExit, func() { dropSchema(dsn, schema) })
	atExitMu.Unlock()
	return target{name: "postgres", driver: sqlstore.Postgres, dsn: scoped}
}
