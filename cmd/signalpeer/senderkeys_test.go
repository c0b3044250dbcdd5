package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSenderKeyCommands(t *testing.T) {
	const dist = "d1571b00-0000-4000-8000-0000000000d1"
	for _, format := range []string{"libsignal", "whatsapp"} {
		alice, bob := newPeer(), newPeer()
		mustOK(t, alice, map[string]any{"cmd": "init", "name": "alice"})
		mustOK(t, bob, map[string]any{"cmd": "init", "name": "bob"})
		info := mustOK(t, alice, map[string]any{"cmd": "info"})
		assert.Contains(t, info["features"], "sender_keys")
		assert.Contains(t, info["commands"], "group_decrypt")

		r := call(t, alice, map[string]any{"cmd": "group_encrypt", "distribution_id": dist, "plaintext_text": "x", "format": format})
		assert.Equal(t, "no_sender_key", r["name"])

		c := mustOK(t, alice, map[string]any{"cmd": "sender_key_create", "distribution_id": dist, "format": format})
		assert.Equal(t, dist, c["distribution_id"])
		assert.EqualValues(t, 0, c["iteration"])
		p := mustOK(t, bob, map[string]any{"cmd": "sender_key_process", "sender": "alice", "sender_device": 1, "skdm": c["skdm"], "distribution_id": dist, "format": format})
		assert.Equal(t, dist, p["distribution_id"])
		assert.Equal(t, c["chain_id"], p["chain_id"])

		e := mustOK(t, alice, map[string]any{"cmd": "group_encrypt", "distribution_id": dist, "plaintext_text": "hi all", "format": format})
		assert.EqualValues(t, 7, e["type"])
		assert.EqualValues(t, 3, e["version"])
		d := mustOK(t, bob, map[string]any{"cmd": "group_decrypt", "sender": "alice", "ciphertext": e["ciphertext"], "distribution_id": dist, "format": format})
		assert.Equal(t, "hi all", d["text"])
		assert.Equal(t, dist, d["distribution_id"])
		r = call(t, bob, map[string]any{"cmd": "group_decrypt", "sender": "alice", "ciphertext": e["ciphertext"], "distribution_id": dist, "format": format})
		assert.Equal(t, "duplicate_message", r["name"])
		r = call(t, bob, map[string]any{"cmd": "group_decrypt", "sender": "carol", "ciphertext": e["ciphertext"], "distribution_id": dist, "format": format})
		assert.Equal(t, "no_sender_key", r["name"])
		r = call(t, bob, map[string]any{"cmd": "group_decrypt", "sender": "alice", "ciphertext": "3300", "distribution_id": dist, "format": format})
		assert.Equal(t, "invalid_message", r["name"])

		// Record moves: Alice's own record to a new process.
		x := mustOK(t, alice, map[string]any{"cmd": "sender_key_export", "distribution_id": dist, "format": format})
		require.NotNil(t, x["record"])
		alice2 := newPeer()
		mustOK(t, alice2, map[string]any{"cmd": "init", "name": "alice"})
		mustOK(t, alice2, map[string]any{"cmd": "sender_key_import", "distribution_id": dist, "record": x["record"], "format": format})
		e = mustOK(t, alice2, map[string]any{"cmd": "group_encrypt", "distribution_id": dist, "plaintext_text": "moved", "format": format})
		d = mustOK(t, bob, map[string]any{"cmd": "group_decrypt", "sender": "alice", "ciphertext": e["ciphertext"], "distribution_id": dist, "format": format})
		assert.Equal(t, "moved", d["text"])
		none := mustOK(t, bob, map[string]any{"cmd": "sender_key_export", "sender": "carol", "distribution_id": dist, "format": format})
		assert.Nil(t, none["record"])
		r = call(t, bob, map[string]any{"cmd": "sender_key_import", "sender": "carol", "distribution_id": dist, "record": "0a0208", "format": format})
		assert.Equal(t, "invalid_record", r["name"])

		// Reset.
		f := mustOK(t, alice2, map[string]any{"cmd": "sender_key_create", "distribution_id": dist, "fresh": true, "format": format})
		assert.NotEqual(t, c["skdm"], f["skdm"])
		assert.EqualValues(t, 0, f["iteration"])
	}
}
