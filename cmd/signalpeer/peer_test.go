package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func call(t *testing.T, p *peer, req map[string]any) map[string]any {
	t.Helper()
	line, err := json.Marshal(req)
	require.NoError(t, err)
	reply, _ := p.handleLine(line)
	// Round-trip through JSON as a runner would see it.
	b, err := json.Marshal(reply)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

func mustOK(t *testing.T, p *peer, req map[string]any) map[string]any {
	t.Helper()
	r := call(t, p, req)
	require.Equal(t, true, r["ok"], "%v -> %v", req, r)
	return r
}

func TestConversationBetweenPeers(t *testing.T) {
	for _, kyber := range []bool{true, false} {
		alice, bob := newPeer(), newPeer()
		mustOK(t, alice, map[string]any{"id": 1, "cmd": "init", "name": "alice", "trust": "tofu"})
		mustOK(t, bob, map[string]any{"id": 1, "cmd": "init", "name": "bob"})
		pk := mustOK(t, bob, map[string]any{"id": 2, "cmd": "prekeys", "kyber": kyber, "prekey_id": 7})
		mustOK(t, alice, map[string]any{"id": 3, "cmd": "process_bundle", "peer": "bob", "bundle": pk["bundle"]})
		ct := mustOK(t, alice, map[string]any{"id": 4, "cmd": "encrypt", "peer": "bob", "plaintext_text": "hello"})
		assert.EqualValues(t, 3, ct["type"])
		if kyber {
			assert.EqualValues(t, 4, ct["version"])
		} else {
			assert.EqualValues(t, 3, ct["version"])
		}
		pt := mustOK(t, bob, map[string]any{"id": 5, "cmd": "decrypt", "peer": map[string]any{"name": "alice", "device_id": 1}, "ciphertext": ct["ciphertext"]})
		assert.Equal(t, "hello", pt["text"])
		// Duplicate.
		r := call(t, bob, map[string]any{"id": 6, "cmd": "decrypt", "peer": "alice", "ciphertext": ct["ciphertext"], "type": 3})
		assert.Equal(t, "duplicate_message", r["name"])
		reply := mustOK(t, bob, map[string]any{"id": 7, "cmd": "encrypt", "peer": "alice", "plaintext": "00ff"})
		assert.EqualValues(t, 2, reply["type"])
		pt = mustOK(t, alice, map[string]any{"id": 8, "cmd": "decrypt", "peer": "bob", "ciphertext": reply["ciphertext"], "type": "whisper"})
		assert.Equal(t, "00ff", pt["plaintext"])
		assert.Nil(t, pt["text"])

		// Export, delete, import, continue.
		rec := mustOK(t, alice, map[string]any{"cmd": "session_export", "peer": "bob"})
		mustOK(t, alice, map[string]any{"cmd": "session_delete", "peer": "bob"})
		info := mustOK(t, alice, map[string]any{"cmd": "session_info", "peer": "bob"})
		assert.Equal(t, false, info["has_session"])
		mustOK(t, alice, map[string]any{"cmd": "session_import", "peer": "bob", "record": rec["record"]})
		ct = mustOK(t, alice, map[string]any{"cmd": "encrypt", "peer": "bob", "plaintext_text": "after import"})
		pt = mustOK(t, bob, map[string]any{"cmd": "decrypt", "peer": "alice", "ciphertext": ct["ciphertext"]})
		assert.Equal(t, "after import", pt["text"])
		id := mustOK(t, bob, map[string]any{"cmd": "identity", "peer": "alice"})
		assert.NotNil(t, id["identity_key"])
	}
}

func TestFingerprintCommands(t *testing.T) {
	p := newPeer()
	// libsignal's known-answer case (libsignal rust/protocol/src/fingerprint.rs, fingerprint_v2).
	local := "0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868"
	remote := "05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b"
	r := mustOK(t, p, map[string]any{"cmd": "fingerprint", "local_id_text": "+14152222222", "local_key": local, "remote_id_text": "+14153333333", "remote_key": remote})
	assert.Equal(t, "300354477692869396892869876765458257569162576843440918079131", r["displayable"])
	r2 := mustOK(t, p, map[string]any{"cmd": "fingerprint", "local_id_text": "+14153333333", "local_key": remote, "remote_id_text": "+14152222222", "remote_key": local})
	m := mustOK(t, p, map[string]any{"cmd": "fingerprint_compare", "mine": r["scannable"], "theirs": r2["scannable"]})
	assert.Equal(t, true, m["match"])
	m = mustOK(t, p, map[string]any{"cmd": "fingerprint_compare", "mine": r["scannable"], "theirs": r["scannable"]})
	assert.Equal(t, false, m["match"])
}

func TestBadInputNeverCrashes(t *testing.T) {
	p := newPeer()
	mustOK(t, p, map[string]any{"cmd": "init"})
	for _, line := range []string{
		`not json`, `[]`, `null`, `42`, `{"cmd": 5}`, `{"id": 1}`, `{"id": 1, "cmd": "nope"}`,
		`{"cmd": "encrypt"}`, `{"cmd": "encrypt", "peer": 5}`, `{"cmd": "encrypt", "peer": "x", "plaintext": "zz"}`,
		`{"cmd": "encrypt", "peer": "x", "plaintext": "00"}`,
		`{"cmd": "decrypt", "peer": "x", "ciphertext": ""}`,
		`{"cmd": "decrypt", "peer": "x", "ciphertext": "4400"}`,
		`{"cmd": "decrypt", "peer": "x", "ciphertext": "44", "type": 3}`,
		`{"cmd": "decrypt", "peer": "x", "ciphertext": "34010203040506070809", "type": "whisper"}`,
		`{"cmd": "decrypt", "peer": "x", "ciphertext": "00", "type": 9}`,
		`{"cmd": "process_bundle", "peer": "x", "bundle": {}}`,
		`{"cmd": "process_bundle", "peer": "x", "bundle": {"identity_key": "05"}}`,
		`{"cmd": "process_bundle", "peer": "x", "bundle": "nope"}`,
		`{"cmd": "session_import", "peer": "x", "record": "0a0501"}`,
		`{"cmd": "prekeys", "signed_prekey_priv": "00"}`,
		`{"cmd": "prekeys", "kyber_priv": "0800"}`,
		`{"cmd": "prekeys", "prekey_id": -1}`,
		`{"cmd": "fingerprint", "local_id": "00", "remote_id": "00", "remote_key": "05"}`,
		`{"cmd": "fingerprint", "iterations": 1, "local_id": "00", "remote_id": "00", "remote_key": "0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868"}`,
		`{"cmd": "fingerprint_compare", "mine": "00", "theirs": "00"}`,
		`{"cmd": "init", "trust": "maybe"}`,
	} {
		reply, quit := p.handleLine([]byte(line))
		assert.False(t, quit)
		assert.Equal(t, false, reply["ok"], line)
		assert.NotEmpty(t, reply["name"], line)
	}
}

func TestRunLoop(t *testing.T) {
	in := strings.NewReader("{\"id\":1,\"cmd\":\"info\"}\n\ngarbage\n{\"id\":\"q\",\"cmd\":\"quit\"}\n{\"id\":3,\"cmd\":\"info\"}\n")
	var out bytes.Buffer
	require.NoError(t, run(in, &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 4, out.String())
	assert.Contains(t, lines[0], `"event":"ready"`)
	assert.Contains(t, lines[1], `"id":1,"implementation"`)
	assert.Contains(t, lines[2], `"id":null`)
	assert.Contains(t, lines[3], `"id":"q"`)
}

func FuzzHandleLine(f *testing.F) {
	f.Add([]byte(`{"id":1,"cmd":"decrypt","peer":"x","ciphertext":"4400"}`))
	f.Add([]byte(`{"cmd":"process_bundle","peer":"x","bundle":{"identity_key":"05"}}`))
	f.Add([]byte(`{"cmd":"fingerprint_compare","mine":"0800","theirs":"00"}`))
	p := newPeer()
	if r, _ := p.handleLine([]byte(`{"cmd":"init"}`)); r["ok"] != true {
		f.Fatal("init failed")
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		reply, _ := p.handleLine(line)
		if _, ok := reply["ok"]; !ok {
			t.Fatal("reply without ok")
		}
		if _, err := json.Marshal(reply); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSPQRBetweenPeers(t *testing.T) {
	alice, bob := newPeer(), newPeer()
	mustOK(t, alice, map[string]any{"cmd": "init", "name": "a11ce000-0000-4000-8000-00000000a11c", "spqr": true})
	mustOK(t, bob, map[string]any{"cmd": "init", "name": "b0b00000-0000-4000-8000-000000000b0b", "spqr": true})
	pk := mustOK(t, bob, map[string]any{"cmd": "prekeys"})
	mustOK(t, alice, map[string]any{"cmd": "process_bundle", "peer": "b0b00000-0000-4000-8000-000000000b0b", "bundle": pk["bundle"]})
	for i := range 20 {
		from, to, fromName, toName := alice, bob, "a11ce000-0000-4000-8000-00000000a11c", "b0b00000-0000-4000-8000-000000000b0b"
		if i%2 == 1 {
			from, to, fromName, toName = bob, alice, toName, fromName
		}
		ct := mustOK(t, from, map[string]any{"cmd": "encrypt", "peer": toName, "plaintext_text": "x"})
		pt := mustOK(t, to, map[string]any{"cmd": "decrypt", "peer": fromName, "ciphertext": ct["ciphertext"]})
		assert.Equal(t, "x", pt["text"])
	}
	r := call(t, alice, map[string]any{"cmd": "init", "spqr": "yes"})
	assert.Equal(t, "bad_request", r["name"])
}
