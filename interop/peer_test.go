package interop

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// callTimeout bounds one request/reply round trip with a peer process.
const callTimeout = 60 * time.Second

// Peer is one running peer process speaking the JSON-lines protocol of
// PEER.md.
type Peer struct {
	Spec *PeerSpec
	// Timeout bounds each round trip (default callTimeout).
	Timeout time.Duration

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte
	stderr *tailBuffer
	nextID int
	dead   error

	closed   bool
	waitOnce sync.Once
	waitDone chan struct{}
	waitRes  error
}

// Reply is one decoded reply line.
type Reply map[string]any

// OK reports the reply's "ok" field.
func (r Reply) OK() bool { b, _ := r["ok"].(bool); return b }

// Name is the error name of a failed reply.
func (r Reply) Name() string { s, _ := r["name"].(string); return s }

// Err is the error message of a failed reply.
func (r Reply) Err() string { s, _ := r["error"].(string); return s }

// Str returns the string field k ("" if absent or not a string).
func (r Reply) Str(k string) string { s, _ := r[k].(string); return s }

// Int returns the integer field k (-1 if absent or not a number).
func (r Reply) Int(k string) int64 {
	n, ok := r[k].(json.Number)
	if !ok {
		return -1
	}
	v, err := n.Int64()
	if err != nil {
		return -1
	}
	return v
}

// Bool returns the boolean field k.
func (r Reply) Bool(k string) bool { b, _ := r[k].(bool); return b }

// Bytes decodes the hex field k.
func (r Reply) Bytes(k string) ([]byte, error) {
	s, ok := r[k].(string)
	if !ok {
		return nil, fmt.Errorf("field %q: not a string", k)
	}
	return hex.DecodeString(s)
}

// Strings returns the string-list field k.
func (r Reply) Strings(k string) []string {
	l, _ := r[k].([]any)
	out := make([]string, 0, len(l))
	for _, v := range l {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func (r Reply) String() string {
	b, _ := json.Marshal(map[string]any(r))
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}

// tailBuffer keeps the last 8 KiB written to it (a peer's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 8192 {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-8192:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// StartPeer starts a process for spec and waits for its ready line.
func StartPeer(spec *PeerSpec) (*Peer, error) {
	if len(spec.argv) == 0 {
		return nil, fmt.Errorf("peer %s was not prepared", spec.Name)
	}
	cmd := exec.Command(spec.argv[0], spec.argv[1:]...)
	cmd.Dir = spec.dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &Peer{Spec: spec, cmd: cmd, stdin: stdin, lines: make(chan []byte, 16), stderr: &tailBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	go func() {
		r := bufio.NewReaderSize(stdout, 1<<20)
		for {
			line, err := r.ReadBytes('\n')
			if len(line) > 0 {
				p.lines <- bytes.TrimRight(line, "\r\n")
			}
			if err != nil {
				close(p.lines)
				return
			}
		}
	}()
	ready, err := p.readReply()
	if err != nil {
		p.Kill()
		return nil, fmt.Errorf("%s: waiting for ready: %w", spec.Name, err)
	}
	if !ready.OK() || ready.Str("event") != "ready" {
		p.Kill()
		return nil, fmt.Errorf("%s: first line is not a ready event: %v", spec.Name, ready)
	}
	return p, nil
}

func (p *Peer) readReply() (Reply, error) {
	select {
	case line, ok := <-p.lines:
		if !ok {
			return nil, fmt.Errorf("%s exited: %v; stderr: %s", p.Spec.Name, p.waitErr(), p.stderrTail())
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		var r Reply
		if err := dec.Decode(&r); err != nil || r == nil {
			return nil, fmt.Errorf("%s: reply is not a JSON object: %.200q", p.Spec.Name, line)
		}
		return r, nil
	case <-time.After(p.timeout()):
		return nil, fmt.Errorf("%s: no reply within %v; stderr: %s", p.Spec.Name, p.timeout(), p.stderrTail())
	}
}

func (p *Peer) timeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout
	}
	return callTimeout
}

// wait reaps the process once; waitFor waits at most d for it.
func (p *Peer) wait() {
	p.waitOnce.Do(func() {
		p.waitDone = make(chan struct{})
		go func() {
			p.waitRes = p.cmd.Wait()
			close(p.waitDone)
		}()
	})
}

func (p *Peer) waitFor(d time.Duration) (error, bool) {
	p.wait()
	select {
	case <-p.waitDone:
		return p.waitRes, true
	case <-time.After(d):
		return nil, false
	}
}

func (p *Peer) waitErr() error {
	if err, ok := p.waitFor(2 * time.Second); ok {
		return err
	}
	return errors.New("still running")
}

func (p *Peer) stderrTail() string {
	s := strings.TrimSpace(p.stderr.String())
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	return s
}

// Call sends one request and returns its reply. An error means the peer broke
// the protocol (died, timed out, answered out of order); a reply with ok=false
// is not an error.
func (p *Peer) Call(cmd string, params map[string]any) (Reply, error) {
	if p.dead != nil {
		return nil, p.dead
	}
	p.nextID++
	id := p.nextID
	req := map[string]any{"id": id, "cmd": cmd}
	for k, v := range params {
		req[k] = v
	}
	line, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	r, err := p.roundTrip(append(line, '\n'))
	if err != nil {
		return nil, err
	}
	if got := r.Int("id"); got != int64(id) {
		p.dead = fmt.Errorf("%s: reply id %v, want %d: %v", p.Spec.Name, r["id"], id, r)
		return nil, p.dead
	}
	return r, nil
}

// CallRaw writes raw bytes (which should hold exactly one line) and returns
// the one reply line.
func (p *Peer) CallRaw(line []byte) (Reply, error) {
	if p.dead != nil {
		return nil, p.dead
	}
	return p.roundTrip(line)
}

func (p *Peer) roundTrip(line []byte) (Reply, error) {
	if _, err := p.stdin.Write(line); err != nil {
		p.dead = fmt.Errorf("%s: write: %w; stderr: %s", p.Spec.Name, err, p.stderrTail())
		return nil, p.dead
	}
	r, err := p.readReply()
	if err != nil {
		p.dead = err
		return nil, err
	}
	return r, nil
}

// MustOK calls cmd and turns a failed reply into an error.
func (p *Peer) MustOK(cmd string, params map[string]any) (Reply, error) {
	r, err := p.Call(cmd, params)
	if err != nil {
		return nil, err
	}
	if !r.OK() {
		return r, fmt.Errorf("%s %s: %s (%s)", p.Spec.Name, cmd, r.Err(), r.Name())
	}
	return r, nil
}

// Close asks the peer to quit and waits for it (killing it if it hangs).
func (p *Peer) Close() error {
	if p.cmd.Process == nil || p.closed {
		return nil
	}
	p.closed = true
	var err error
	if p.dead == nil {
		_, err = p.Call("quit", nil)
	}
	_ = p.stdin.Close()
	werr, ok := p.waitFor(10 * time.Second)
	if !ok {
		_ = p.cmd.Process.Kill()
		p.waitFor(10 * time.Second)
		return fmt.Errorf("%s did not exit after quit", p.Spec.Name)
	}
	if err == nil {
		err = werr
	}
	return err
}

// Kill stops the process at once.
func (p *Peer) Kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
		_ = p.stdin.Close()
		p.wait()
	}
}
