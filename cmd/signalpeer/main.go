// Command signalpeer is this library's interop peer: one Signal party driven
// over the JSON-lines protocol of interop/PEER.md, so that a runner can
// pair it with other implementations (libsignal through Node,
// go.mau.fi/libsignal) on scenarios.
//
// It reads one JSON request per line on standard input and answers each
// with exactly one JSON line on standard output. No input makes it crash:
// malformed JSON, unknown commands, wrong types, bad hex and garbage
// ciphertexts all get an error line. It exits 0 when standard input closes
// or on {"cmd": "quit"}.
//
// It uses only the library's public API. As a test tool it accepts X3DH
// (version 3) sessions as well as PQXDH.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

const maxLine = 64 << 20

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "signalpeer:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out io.Writer) error {
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	p := newPeer()
	if err := enc.Encode(map[string]any{"id": nil, "ok": true, "event": "ready", "implementation": implementation, "version": version}); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 1<<20), maxLine)
	for sc.Scan() {
		line := sc.Bytes()
		if len(trimSpace(line)) == 0 {
			continue
		}
		reply, quit := p.handleLine(line)
		if err := enc.Encode(reply); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if quit {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		// An over-long line: answer it and stop, since the stream cannot
		// be resynchronized.
		_ = enc.Encode(map[string]any{"id": nil, "ok": false, "error": err.Error(), "name": "bad_request"})
		_ = w.Flush()
		return nil
	}
	return nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
