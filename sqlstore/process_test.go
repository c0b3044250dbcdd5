package sqlstore_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ratchetlab/signal/session"
	"github.com/ratchetlab/signal/sqlstore"
	"github.com/stretchr/testify/require"
)

// Environment of the child processes that TestMain runs instead of the
// tests.
const (
	childEnv  = "SQLSTORE_TEST_CHILD" // "receive" or "send"
	driverEnv = "SQLSTORE_TEST_DRIVER"
	dbEnv     = "SQLSTORE_TEST_DB"
	streamEnv = "SQLSTORE_TEST_STREAM"
	ackEnv    = "SQLSTORE_TEST_ACK"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		run := childReceive
		if mode == "send" {
			run = childSend
		}
		if err := run(); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	code := m.Run()
	runAtExit()
	os.Exit(code)
}

// delivery is one message as the transport hands it to a receiver.
type delivery struct {
	Seq   int
	Type  session.MessageType
	Bytes []byte
}

// childReceive receives the stream in $SQLSTORE_TEST_STREAM from alice,
// saving each plaintext in the same transaction, from the position in the
// acknowledgement file $SQLSTORE_TEST_ACK on (a transport redelivers what
// was not acknowledged). After each message it writes the next position to
// the file and prints "ack N". A message that is a duplicate was saved
// before the previous process died between commit and acknowledgement.
func childReceive() error {
	ctx := context.Background()
	b, err := os.ReadFile(os.Getenv(streamEnv))
	if err != nil {
		return err
	}
	stream, err := decodeStream(b)
	if err != nil {
		return err
	}
	ackFile := os.Getenv(ackEnv)
	next := 0
	if b, err := os.ReadFile(ackFile); err == nil {
		if next, err = strconv.Atoi(string(b)); err != nil {
			return err
		}
	}
	s, err := sqlstore.Open(ctx, os.Getenv(driverEnv), os.Getenv(dbEnv))
	if err != nil {
		return err
	}
	defer s.Close()
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(out, "ack %d\n", next)
	out.Flush()
	for ; next < len(stream); next++ {
		d := stream[next]
		err := receive(ctx, s, aliceAddr, session.Ciphertext{Type: d.Type, Bytes: d.Bytes}, saveMessage("alice"))
		if err != nil && !errors.Is(err, session.ErrDuplicateMessage) {
			return fmt.Errorf("message %d (seq %d): %w", next, d.Seq, err)
		}
		tmp := ackFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(strconv.Itoa(next+1)), 0o600); err != nil {
			return err
		}
		if err := os.Rename(tmp, ackFile); err != nil {
			return err
		}
		fmt.Fprintf(out, "ack %d\n", next+1)
		out.Flush()
	}
	return nil
}

// sendCount is how many messages the sending child sends.
const sendCount = 200

// childSend sends sendCount messages to alice, each as soon as there is a
// session, and writes them to the stream file $SQLSTORE_TEST_STREAM.
func childSend() error {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, os.Getenv(driverEnv), os.Getenv(dbEnv))
	if err != nil {
		return err
	}
	defer s.Close()
	var out []byte
	for i := 0; i < sendCount; {
		ct, err := send(ctx, s, aliceAddr, body(i))
		if errors.Is(err, session.ErrNoSession) {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		if err != nil {
			return fmt.Errorf("send %d: %w", i, err)
		}
		out = binary.BigEndian.AppendUint32(out, uint32(i))
		out = append(out, byte(ct.Type))
		out = binary.BigEndian.AppendUint32(out, uint32(len(ct.Bytes)))
		out = append(out, ct.Bytes...)
		i++
	}
	return os.WriteFile(os.Getenv(streamEnv), out, 0o600)
}

// conversation is Alice's side and the messages she sent Bob.
type conversation struct {
	alice *session.Manager
	msgs  []delivery // in sending order
}

// converse sets up Bob in s and has Alice (in memory) send him n
// messages. Alice's first replyAt messages are PreKey messages; then, if
// replyAt > 0, Bob receives message 0 (in s) and answers, and Alice's
// remaining messages are Whisper messages of a new chain. Message 0 is
// then already received and not in the returned list.
func converse(t testing.TB, s *sqlstore.Store, k *bobKeys, n, replyAt int) *conversation {
	t.Helper()
	ctx := context.Background()
	k.install(t, s)
	_, err := s.DB().Exec(messagesTable)
	require.NoError(t, err)
	c := &conversation{alice: newAlice(t, k, 0)}
	enc := func(seq int) delivery {
		ct, err := c.alice.Encrypt(ctx, bobAddr, body(seq))
		require.NoError(t, err)
		return delivery{Seq: seq, Type: ct.Type, Bytes: ct.Bytes}
	}
	if replyAt == 0 {
		replyAt = n
	}
	for seq := range replyAt {
		c.msgs = append(c.msgs, enc(seq))
	}
	require.Equal(t, session.PreKeyType, c.msgs[0].Type)
	if replyAt < n {
		first := c.msgs[0]
		c.msgs = c.msgs[1:]
		require.NoError(t, receive(ctx, s, aliceAddr, session.Ciphertext{Type: first.Type, Bytes: first.Bytes}, saveMessage("alice")))
		c.reply(t, s)
		for seq := replyAt; seq < n; seq++ {
			c.msgs = append(c.msgs, enc(seq))
		}
		require.Equal(t, session.WhisperType, c.msgs[len(c.msgs)-1].Type)
	}
	return c
}

// reply has Bob (in s) answer Alice, who must decrypt it.
func (c *conversation) reply(t testing.TB, s *sqlstore.Store) {
	t.Helper()
	ctx := context.Background()
	ct, err := send(ctx, s, aliceAddr, []byte("reply from bob"))
	require.NoError(t, err)
	pt, err := c.alice.Decrypt(ctx, bobAddr, ct)
	require.NoError(t, err)
	require.Equal(t, "reply from bob", string(pt))
}

// lossyReordered drops about one message in fifty (never the first) and
// shuffles the rest within windows of ten; the first message stays first.
func lossyReordered(r *rand.Rand, msgs []delivery) (out []delivery, dropped []int) {
	out = append(out, msgs[0])
	for _, m := range msgs[1:] {
		if r.IntN(50) == 0 {
			dropped = append(dropped, m.Seq)
			continue
		}
		out = append(out, m)
	}
	for i := 1; i < len(out); i += 10 {
		w := out[i:min(i+10, len(out))]
		r.Shuffle(len(w), func(a, b int) { w[a], w[b] = w[b], w[a] })
	}
	return out, dropped
}

// finish checks that every delivered message was saved exactly once and
// no dropped one was, then that the conversation continues: Bob answers,
// and Alice's next message is received and saved.
func (c *conversation) finish(t testing.TB, s *sqlstore.Store, delivered []delivery, dropped []int, extra int) {
	t.Helper()
	ctx := context.Background()
	counts := map[int]int{}
	rows, err := s.DB().Query("SELECT seq, body FROM messages WHERE sender = 'alice'")
	require.NoError(t, err)
	for rows.Next() {
		var seq int
		var b string
		require.NoError(t, rows.Scan(&seq, &b))
		require.Equal(t, string(body(seq)), b)
		counts[seq]++
	}
	require.NoError(t, rows.Err())
	rows.Close()
	for _, d := range delivered {
		require.Equal(t, 1, counts[d.Seq], "message %d saved once", d.Seq)
		delete(counts, d.Seq)
	}
	for _, seq := range dropped {
		require.Zero(t, counts[seq], "dropped message %d saved", seq)
	}
	require.LessOrEqual(t, len(counts), extra, "unexpected saved messages %v", counts)

	c.reply(t, s)
	seq := 1_000_000
	ct, err := c.alice.Encrypt(ctx, bobAddr, body(seq))
	require.NoError(t, err)
	require.Equal(t, session.WhisperType, ct.Type)
	require.NoError(t, receive(ctx, s, aliceAddr, ct, saveMessage("alice")))
	require.Equal(t, 1, countMessages(t, s, "alice", seq))
}

// child starts this test binary as a receiving child process.
func child(t testing.TB, tg target, stream, ack string) *exec.Cmd {
	return childMode(t, "receive", tg, stream, ack)
}

func childMode(t testing.TB, mode string, tg target, stream, ack string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, driverEnv+"="+tg.driver, dbEnv+"="+tg.dsn,
		streamEnv+"="+stream, ackEnv+"="+ack,
		// The race detector's default is to sleep a second at exit.
		"GORACE=atexit_sleep_ms=0")
	cmd.Stderr = os.Stderr
	return cmd
}

// writeStream writes a stream file: for each message its sequence
// number, type and length (big-endian uint32, byte, uint32) and bytes. (A
// binary format, because JSON decoding under the race detector made each
// child start take a second.)
func writeStream(t testing.TB, path string, stream []delivery) {
	var b []byte
	for _, d := range stream {
		b = binary.BigEndian.AppendUint32(b, uint32(d.Seq))
		b = append(b, byte(d.Type))
		b = binary.BigEndian.AppendUint32(b, uint32(len(d.Bytes)))
		b = append(b, d.Bytes...)
	}
	require.NoError(t, os.WriteFile(path, b, 0o600))
}

func decodeStream(b []byte) ([]delivery, error) {
	var out []delivery
	for len(b) > 0 {
		if len(b) < 9 {
			return nil, errors.New("truncated stream")
		}
		n := binary.BigEndian.Uint32(b[5:9])
		if uint32(len(b)-9) < n {
			return nil, errors.New("truncated stream")
		}
		out = append(out, delivery{Seq: int(binary.BigEndian.Uint32(b)), Type: session.MessageType(b[4]), Bytes: b[9 : 9+n]})
		b = b[9+n:]
	}
	return out, nil
}

// TestCrashRecovery receives a stream of 2,000 messages from one peer
// (PreKey messages first, then, after a reply, Whisper messages of a new
// chain; lossy and reordered) in a child process whose handler saves each
// plaintext in the same transaction, and kills the child with SIGKILL at
// 50 random points, restarting it each time. At the end every delivered
// message was saved exactly once and the conversation continues.
func TestCrashRecovery(t *testing.T) {
	forEachDB(t, func(t *testing.T, tg target) {
		const n, kills = 2000, 50
		seed := uint64(time.Now().UnixNano())
		t.Logf("seed %d", seed)
		r := rand.New(rand.NewPCG(seed, 0))
		s := tg.open(t)
		c := converse(t, s, newBobKeys(t, 1), n, n/2)
		stream, dropped := lossyReordered(r, c.msgs)
		dir := t.TempDir()
		streamFile, ackFile := filepath.Join(dir, "stream.json"), filepath.Join(dir, "ack")
		writeStream(t, streamFile, stream)

		// Kill points: positions in the stream, each reached by a child
		// before a random delay of up to 3 ms and SIGKILL.
		points := r.Perm(len(stream) - 1)[:kills]
		for i := range points {
			points[i]++
		}
		slices.Sort(points)
		start := time.Now()
		killed := 0
		for run := 0; ; run++ {
			cmd := child(t, tg, streamFile, ackFile)
			out, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			sc := bufio.NewScanner(out)
			done := false
			for sc.Scan() {
				line := sc.Text()
				pos, err := strconv.Atoi(strings.TrimPrefix(line, "ack "))
				require.NoError(t, err, line)
				if pos == len(stream) {
					done = true
				}
				if killed < kills && pos >= points[killed] {
					time.Sleep(time.Duration(r.IntN(3000)) * time.Microsecond)
					require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
					killed++
					break
				}
			}
			err = cmd.Wait()
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() {
				continue
			}
			require.NoError(t, err, "child run %d", run)
			if done {
				break
			}
		}
		t.Logf("%s: %d messages delivered (%d dropped), %d kills, %v", tg.name, len(stream), len(dropped), killed, time.Since(start))
		require.Equal(t, kills, killed)
		// Message 0 was received before the children ran.
		c.finish(t, s, append(stream, delivery{Seq: 0}), dropped, 0)
	})
}

// TestConcurrentProcesses has four processes receive one peer's messages
// at the same time over one database, as several servers of one account
// would: each message goes to one random process, one in ten to a second
// one as well (a redelivery), and each process receives its share in
// stream order. The first messages are PreKey messages, so the processes
// also race to set up the session. A fifth process sends Alice 200
// messages meanwhile (each as soon as the session exists), advancing the
// same session record. Every message must be saved exactly once, no
// process may fail to decrypt, Alice must read all 200 messages in order,
// and the conversation continues.
func TestConcurrentProcesses(t *testing.T) {
	forEachDB(t, func(t *testing.T, tg target) {
		const n, procs = 800, 4
		seed := uint64(time.Now().UnixNano())
		t.Logf("seed %d", seed)
		r := rand.New(rand.NewPCG(seed, 1))
		s := tg.open(t)
		c := converse(t, s, newBobKeys(t, 1), n, 0)
		stream, dropped := lossyReordered(r, c.msgs)
		shares := make([][]delivery, procs)
		for _, d := range stream {
			p := r.IntN(procs)
			shares[p] = append(shares[p], d)
			if r.IntN(10) == 0 {
				q := (p + 1 + r.IntN(procs-1)) % procs
				shares[q] = append(shares[q], d)
			}
		}
		dir := t.TempDir()
		var cmds []*exec.Cmd
		for i, share := range shares {
			streamFile := filepath.Join(dir, fmt.Sprintf("stream%d", i))
			writeStream(t, streamFile, share)
			cmd := child(t, tg, streamFile, filepath.Join(dir, fmt.Sprintf("ack%d", i)))
			cmds = append(cmds, cmd)
		}
		sent := filepath.Join(dir, "sent")
		cmds = append(cmds, childMode(t, "send", tg, sent, ""))
		start := time.Now()
		for _, cmd := range cmds {
			require.NoError(t, cmd.Start())
		}
		for i, cmd := range cmds {
			require.NoError(t, cmd.Wait(), "process %d", i)
		}
		t.Logf("%s: %d messages to %d processes, %d sent by a fifth, %v", tg.name, len(stream), procs, sendCount, time.Since(start))
		b, err := os.ReadFile(sent)
		require.NoError(t, err)
		replies, err := decodeStream(b)
		require.NoError(t, err)
		require.Len(t, replies, sendCount)
		for i, d := range replies {
			pt, err := c.alice.Decrypt(context.Background(), bobAddr, session.Ciphertext{Type: d.Type, Bytes: d.Bytes})
			require.NoError(t, err, "Bob's message %d", i)
			require.Equal(t, body(i), pt)
		}
		c.finish(t, s, stream, dropped, 0)
	})
}
