package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ratchetlab/signal/session"
	"github.com/ratchetlab/signal/sqlstore"
	"github.com/stretchr/testify/require"
)

// transientError is what a fault hook injects: a write that failed for a
// reason that may not come back (a dropped connection, a busy database).
type transientError struct{ op string }

func (e transientError) Error() string   { return "injected transient failure in " + e.op }
func (e transientError) Temporary() bool { return true }

var errPermanent = errors.New("injected permanent failure")

// faults fails the armed-th store call (counting from 1) once.
type faults struct {
	mu        sync.Mutex
	armed     bool
	failAt    int
	calls     int
	permanent bool
	fired     string
}

func (f *faults) hook(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.armed {
		return nil
	}
	f.calls++
	if f.calls != f.failAt {
		return nil
	}
	f.fired = op
	if f.permanent {
		return fmt.Errorf("%s: %w", op, errPermanent)
	}
	return transientError{op}
}

// TestFaultInjection runs a conversation (two PreKey messages received, a
// reply sent, a Whisper message received) once for every store call,
// making that call fail. A transient failure is retried by Atomic and
// every operation succeeds; a permanent one fails the operation, leaves
// nothing behind, and the same message delivered again is received. Every
// message is saved exactly once and the sessions stay in step.
func TestFaultInjection(t *testing.T) {
	for _, permanent := range []bool{false, true} {
		name := "transient"
		if permanent {
			name = "permanent"
		}
		t.Run(name, func(t *testing.T) {
			forEachDB(t, func(t *testing.T, tg0 target) {
				total := 0
				for failAt := 1; ; failAt++ {
					tg := tg0
					if failAt > 1 {
						// A fresh database for each run.
						if tg.driver == sqlstore.SQLite {
							tg = sqliteTarget(t)
						} else {
							tg = postgresTarget(t)
						}
					}
					f := &faults{failAt: failAt, permanent: permanent}
					if !faultRun(t, tg, f) {
						total = failAt - 1
						break
					}
				}
				t.Logf("%s: a %s failure injected at each of %d store calls", tg0.name, name, total)
				require.Greater(t, total, 15)
			})
		})
	}
}

// faultRun runs the conversation with f's fault and reports whether it
// fired.
func faultRun(t *testing.T, tg target, f *faults) bool {
	ctx := context.Background()
	s := tg.open(t, sqlstore.WithFaultHook(f.hook))
	k := newBobKeys(t, 1)
	k.install(t, s)
	_, err := s.DB().Exec(messagesTable)
	require.NoError(t, err)
	alice := newAlice(t, k, 0)
	f.mu.Lock()
	f.armed = true
	f.mu.Unlock()

	deliver := func(seq int, ct session.Ciphertext) {
		t.Helper()
		err := receive(ctx, s, aliceAddr, ct, saveMessage("alice"))
		if f.permanent && err != nil {
			require.ErrorIs(t, err, errPermanent, "call %d (%s)", f.failAt, f.fired)
			require.Zero(t, countMessages(t, s, "alice", seq))
			err = receive(ctx, s, aliceAddr, ct, saveMessage("alice"))
		}
		require.NoError(t, err, "call %d (%s)", f.failAt, f.fired)
		require.Equal(t, 1, countMessages(t, s, "alice", seq), "call %d (%s)", f.failAt, f.fired)
	}
	encrypt := func(seq int) session.Ciphertext {
		ct, err := alice.Encrypt(ctx, bobAddr, body(seq))
		require.NoError(t, err)
		return ct
	}
	m1, m2 := encrypt(1), encrypt(2)
	deliver(2, m2)
	deliver(1, m1)
	ct, err := send(ctx, s, aliceAddr, []byte("reply"))
	if f.permanent && err != nil {
		require.ErrorIs(t, err, errPermanent)
		ct, err = send(ctx, s, aliceAddr, []byte("reply"))
	}
	require.NoError(t, err, "call %d (%s)", f.failAt, f.fired)
	pt, err := alice.Decrypt(ctx, bobAddr, ct)
	require.NoError(t, err, "call %d (%s)", f.failAt, f.fired)
	require.Equal(t, "reply", string(pt))
	m3 := encrypt(3)
	require.Equal(t, session.WhisperType, m3.Type)
	deliver(3, m3)

	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fired != ""
}

// TestAtomicRetryBound checks that a function failing transiently every
// time runs exactly the configured number of times, and that a permanent
// error is not retried.
func TestAtomicRetryBound(t *testing.T) {
	s := sqliteTarget(t).open(t, sqlstore.WithMaxAttempts(4))
	runs := 0
	err := s.Atomic(context.Background(), aliceAddr, func(context.Context, session.Stores) error {
		runs++
		return transientError{"test"}
	})
	require.ErrorAs(t, err, new(transientError))
	require.Equal(t, 4, runs)
	runs = 0
	err = s.Atomic(context.Background(), aliceAddr, func(context.Context, session.Stores) error {
		runs++
		return errPermanent
	})
	require.ErrorIs(t, err, errPermanent)
	require.Equal(t, 1, runs)
}

// TestSQLiteBusy holds SQLite's write lock from another connection (as
// another process would) for longer than the busy timeout: the receive
// meets SQLITE_BUSY, retries, and succeeds once the lock is released.
func TestSQLiteBusy(t *testing.T) {
	ctx := context.Background()
	tg := sqliteTarget(t)
	setup := tg.open(t)
	k := newBobKeys(t, 1)
	c := converse(t, setup, k, 2, 0)
	setup.Close()

	short := tg
	short.dsn = "file:" + tg.dsn + "?_busy_timeout=20"
	s := short.open(t)
	other, err := sql.Open(sqlstore.SQLite, "file:"+tg.dsn+"?_txlock=immediate")
	require.NoError(t, err)
	defer other.Close()
	tx, err := other.BeginTx(ctx, nil)
	require.NoError(t, err)
	released := make(chan struct{})
	go func() {
		time.Sleep(150 * time.Millisecond)
		tx.Rollback()
		close(released)
	}()
	attempts := 0
	err = s.Atomic(ctx, aliceAddr, func(ctx context.Context, tx session.Stores) error {
		attempts++
		m, err := session.New(tx)
		if err != nil {
			return err
		}
		pt, err := m.Decrypt(ctx, aliceAddr, session.Ciphertext{Type: c.msgs[0].Type, Bytes: c.msgs[0].Bytes})
		if err != nil {
			return err
		}
		return saveMessage("alice")(ctx, pt)
	})
	<-released
	require.NoError(t, err)
	require.Equal(t, 1, countMessages(t, s, "alice", 0))
	// BEGIN IMMEDIATE fails before fn runs; fn ran once.
	require.Equal(t, 1, attempts)
	require.True(t, sqlstore.IsTransient(busyError(t, tg.dsn)))
}

// busyError returns the error of a BEGIN IMMEDIATE on a database whose
// write lock another connection holds.
func busyError(t *testing.T, path string) error {
	ctx := context.Background()
	a, err := sql.Open(sqlstore.SQLite, "file:"+path+"?_txlock=immediate")
	require.NoError(t, err)
	defer a.Close()
	b, err := sql.Open(sqlstore.SQLite, "file:"+path+"?_txlock=immediate&_busy_timeout=0")
	require.NoError(t, err)
	defer b.Close()
	tx, err := a.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback()
	_, err = b.BeginTx(ctx, nil)
	require.Error(t, err)
	return err
}
