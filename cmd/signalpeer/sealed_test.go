package main

import (
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/internal/testvectors"
)

// TestSealedVectorsThroughCommands replays libsignal_sealed_sender.json as
// a runner would: Bob from his fixed keys, every message through
// sealed_decrypt, the negative cases' error names, the split and the
// certificate checks.
func TestSealedVectorsThroughCommands(t *testing.T) {
	v, err := testvectors.SealedSender()
	require.NoError(t, err)
	h := hex.EncodeToString
	bobV := v.Recipients["bob"]
	var pk map[string]any
	require.NoError(t, json.Unmarshal(bobV.PreKeys, &pk))
	bundle := pk["bundle"].(map[string]any)

	bob := newPeer()
	mustOK(t, bob, map[string]any{"cmd": "init", "name": bobV.Name, "device_id": bobV.DeviceID,
		"identity_priv": h(bobV.IdentityPriv), "registration_id": bobV.RegistrationID, "spqr": true})
	mustOK(t, bob, map[string]any{"cmd": "prekeys",
		"signed_prekey_id": bundle["signed_prekey_id"], "signed_prekey_priv": pk["signed_prekey_priv"],
		"signed_prekey_signature": bundle["signed_prekey_signature"],
		"prekey_id":               bundle["prekey_id"], "prekey_priv": pk["prekey_priv"],
		"kyber_prekey_id": bundle["kyber_prekey_id"], "kyber_priv": pk["kyber_priv"],
		"kyber_prekey_signature": bundle["kyber_prekey_signature"]})
	root := h(v.TrustRoot.Pub)

	info := mustOK(t, bob, map[string]any{"cmd": "info"})
	assert.Contains(t, info["features"], "sealed_sender")
	assert.Contains(t, info["commands"], "sealed_decrypt")

	for _, m := range v.V1 {
		d := mustOK(t, bob, map[string]any{"cmd": "sealed_decrypt", "sealed": h(m.Sealed), "trust_root": root, "timestamp": v.Timestamp})
		assert.Equal(t, h(m.Expected.Plaintext), d["plaintext"], m.Name)
		assert.EqualValues(t, m.Expected.MessageType, d["message_type"], m.Name)
		assert.EqualValues(t, m.Expected.ContentHint, d["content_hint"], m.Name)
		assert.Equal(t, v.Sender.Name, d["sender_uuid"], m.Name)
		assert.Equal(t, "+15550100001", d["sender_e164"], m.Name)
		assert.EqualValues(t, 1, d["version"], m.Name)
		if m.Expected.GroupID == nil {
			assert.Nil(t, d["group_id"], m.Name)
		} else {
			assert.Equal(t, h(m.Expected.GroupID), d["group_id"], m.Name)
		}
		if m.Name == "prekey_carrying_skdm" {
			mustOK(t, bob, map[string]any{"cmd": "sender_key_process", "sender": v.Sender.Name, "skdm": d["plaintext"]})
		}
	}
	for _, w := range []testvectors.SealedSenderV2{v.V2.SingleRecipientOneToOne, v.V2.Group} {
		d := mustOK(t, bob, map[string]any{"cmd": "sealed_decrypt", "sealed": h(w.Received[0].Message), "trust_root": root, "timestamp": v.Timestamp})
		assert.Equal(t, *w.Expected.PlaintextText, d["text"])
		assert.EqualValues(t, 2, d["version"])
		split := mustOK(t, bob, map[string]any{"cmd": "sealed_multi_split", "sent": h(w.Sent)})
		recv := split["received"].([]any)
		require.Len(t, recv, len(w.Received))
		for i, r := range w.Received {
			e := recv[i].(map[string]any)
			assert.Equal(t, r.Name, e["name"])
			assert.Equal(t, h(r.Message), e["message"])
		}
	}
	for _, n := range v.Negative {
		req := map[string]any{"cmd": "sealed_decrypt", "sealed": h(n.Sealed), "trust_root": root, "timestamp": n.Timestamp}
		if n.TrustRoot != nil {
			req["trust_root"] = h(n.TrustRoot)
		}
		r := call(t, bob, req)
		assert.Equal(t, false, r["ok"], n.Name)
		assert.Equal(t, n.Expect, r["name"], n.Name)
		if n.ThenWithTrustRoot2 != nil {
			req["trust_root"] = h(v.TrustRoot2.Pub)
			d := mustOK(t, bob, req)
			assert.Equal(t, h(n.ThenWithTrustRoot2.Plaintext), d["plaintext"])
		}
	}
	for name, c := range v.Certificates {
		for _, r := range []string{h(v.TrustRoot.Pub), h(v.TrustRoot2.Pub)} {
			at := mustOK(t, bob, map[string]any{"cmd": "sender_certificate_validate", "sender_certificate": h(c.Certificate), "trust_root": r, "timestamp": c.Expiration})
			late := mustOK(t, bob, map[string]any{"cmd": "sender_certificate_validate", "sender_certificate": h(c.Certificate), "trust_root": r, "timestamp": c.Expiration + 1})
			assert.Equal(t, false, late["valid"], name)
			if at["valid"] == true {
				assert.Equal(t, c.SenderUUID, at["sender_uuid"], name)
			}
		}
	}
	r := call(t, bob, map[string]any{"cmd": "sealed_decrypt", "sealed": "zz", "trust_root": root})
	assert.Equal(t, "bad_request", r["name"])
}

// TestSealedCommandsBetweenPeers runs v1 and v2, 1:1 and group, between two
// of our peers.
func TestSealedCommandsBetweenPeers(t *testing.T) {
	const (
		aliceID = "a11ce000-0000-4000-8000-00000000a11c"
		bobID   = "b0b00000-0000-4000-8000-000000000b0b"
		dist    = "d1571b00-0000-4000-8000-0000000000d1"
	)
	alice, bob := newPeer(), newPeer()
	mustOK(t, alice, map[string]any{"cmd": "init", "name": aliceID})
	mustOK(t, bob, map[string]any{"cmd": "init", "name": bobID})
	sc := mustOK(t, alice, map[string]any{"cmd": "server_certificate", "key_id": 9})
	exp := 4102444800000
	cert := mustOK(t, alice, map[string]any{"cmd": "sender_certificate", "server_certificate": sc["server_certificate"],
		"server_priv": sc["server_priv"], "expiration": exp, "sender_e164": "+15550001"})
	assert.Equal(t, aliceID, cert["sender_uuid"])
	assert.EqualValues(t, 9, cert["server_key_id"])
	val := mustOK(t, bob, map[string]any{"cmd": "sender_certificate_validate", "sender_certificate": cert["sender_certificate"], "trust_root": sc["trust_root"], "timestamp": exp})
	assert.Equal(t, true, val["valid"])

	pk := mustOK(t, bob, map[string]any{"cmd": "prekeys"})
	mustOK(t, alice, map[string]any{"cmd": "process_bundle", "peer": bobID, "bundle": pk["bundle"]})
	e := mustOK(t, alice, map[string]any{"cmd": "sealed_encrypt", "peer": bobID, "sender_certificate": cert["sender_certificate"],
		"plaintext_text": "sealed hello", "content_hint": 1})
	assert.EqualValues(t, 3, e["inner_type"])
	r := call(t, bob, map[string]any{"cmd": "sealed_decrypt", "sealed": e["sealed"], "trust_root": sc["trust_root"], "timestamp": exp + 1})
	assert.Equal(t, "invalid_certificate", r["name"])
	r = call(t, bob, map[string]any{"cmd": "sealed_decrypt", "sealed": e["sealed"], "trust_root": sc["trust_root"], "local_uuid": aliceID})
	assert.Equal(t, "self_send", r["name"])
	d := mustOK(t, bob, map[string]any{"cmd": "sealed_decrypt", "sealed": e["sealed"], "trust_root": sc["trust_root"]})
	assert.Equal(t, "sealed hello", d["text"])
	assert.Equal(t, "+15550001", d["sender_e164"])
	u := mustOK(t, bob, map[string]any{"cmd": "sealed_unseal", "sealed": e["sealed"]})
	assert.Equal(t, e["inner"], u["inner"])

	// Group: Alice's SKDM inside a 1:1 message, then v1 and v2 group sends.
	skdm := mustOK(t, alice, map[string]any{"cmd": "sender_key_create", "distribution_id": dist})
	mustOK(t, bob, map[string]any{"cmd": "sender_key_process", "sender": aliceID, "skdm": skdm["skdm"]})
	g := mustOK(t, alice, map[string]any{"cmd": "sealed_encrypt", "peer": bobID, "sender_certificate": cert["sender_certificate"],
		"plaintext_text": "group v1", "distribution_id": dist, "group_id": "abcd", "content_hint": 2})
	assert.EqualValues(t, 7, g["inner_type"])
	d = mustOK(t, bob, map[string]any{"cmd": "sealed_decrypt", "sealed": g["sealed"], "trust_root": sc["trust_root"]})
	assert.Equal(t, "group v1", d["text"])
	assert.Equal(t, "abcd", d["group_id"])
	assert.Equal(t, dist, d["distribution_id"])
	m := mustOK(t, alice, map[string]any{"cmd": "sealed_encrypt_multi", "recipients": []any{bobID}, "sender_certificate": cert["sender_certificate"],
		"plaintext_text": "group v2", "distribution_id": dist, "excluded": []string{"ca201000-0000-4000-8000-0000000ca201"}})
	assert.Equal(t, []any{"ca201000-0000-4000-8000-0000000ca201"}, m["excluded"])
	recv := m["received"].([]any)
	require.Len(t, recv, 1)
	d = mustOK(t, bob, map[string]any{"cmd": "sealed_decrypt", "sealed": recv[0].(map[string]any)["message"], "trust_root": sc["trust_root"]})
	assert.Equal(t, "group v2", d["text"])
	r = call(t, bob, map[string]any{"cmd": "sealed_decrypt", "sealed": recv[0].(map[string]any)["message"], "trust_root": sc["trust_root"]})
	assert.Equal(t, "duplicate_message", r["name"])
	r = call(t, alice, map[string]any{"cmd": "sealed_encrypt_multi", "recipients": []any{bobID, "ca201000-0000-4000-8000-0000000ca201"},
		"sender_certificate": cert["sender_certificate"], "plaintext_text": "x"})
	assert.Equal(t, "bad_request", r["name"])
}
