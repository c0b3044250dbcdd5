package interop

// Sealed sender scenarios (feature sealed_sender, PEER.md "Sealed sender"):
// certificates made by one implementation and checked by the other, v1 and
// v2 envelopes with 1:1 and group inner messages, the server's split done
// by both, and the error order (expired and wrong-root certificates,
// self-sends, tampering, replays), each followed by a successful decrypt of
// the same message to show the failure changed nothing.

import (
	"bytes"
	"encoding/hex"
	"fmt"
)

const (
	// daveName is a member left out of v2 messages (carolName is the
	// sender key scenarios').
	daveName = "da5e0000-0000-4000-8000-00000000da5e"
	// sealedDistribution is the sender key group of the sealed scenarios.
	sealedDistribution = "5ea1ed00-0000-4000-8000-0000000000d1"
	// sealedNow and sealedExpiry are the receive time and the certificates'
	// expiry (ms since the epoch).
	sealedNow    = int64(1767225600000)
	sealedExpiry = int64(1769817600000)
)

// sealedScenarios are the sealed sender entries of the suite.
func sealedScenarios() []Scenario {
	return []Scenario{
		{
			Name: "sealed-1to1", Pairing: arrow,
			Applies: func(a, b *PeerSpec) string {
				return firstReason(needFeature("sealed_sender", a, b), needCommonAndRequirements(a, b))
			},
			Run: runSealedOneToOne,
		},
		{
			// Group inner messages need no 1:1 conversation (the SKDM is
			// handed over directly), so libsignal 0.72.1 and 0.103.0 pair too.
			Name: "sealed-group", Pairing: arrow,
			Applies: func(a, b *PeerSpec) string {
				return firstReason(needFeature("sealed_sender", a, b), needFeature("sender_keys", a, b))
			},
			Run: runSealedGroup,
		},
	}
}

// sealedCerts are a run's trust root and sender certificates.
type sealedCerts struct {
	trustRoot, otherRoot string
	server, serverPriv   string
	byName               map[string]string // sender certificate by party name
}

// newSealedCerts has a's implementation make the server certificate, and
// each party's own implementation its sender certificate; the other
// implementation validates every certificate at the expiry and 1 ms later.
func (r *run) newSealedCerts(parties ...*party) (*sealedCerts, error) {
	first := parties[0].peer
	sc, err := first.MustOK("server_certificate", map[string]any{"key_id": 31337})
	if err != nil {
		return nil, err
	}
	other, err := first.MustOK("server_certificate", nil)
	if err != nil {
		return nil, err
	}
	c := &sealedCerts{trustRoot: sc.Str("trust_root"), otherRoot: other.Str("trust_root"),
		server: sc.Str("server_certificate"), serverPriv: sc.Str("server_priv"), byName: map[string]string{}}
	for _, p := range parties {
		rep, err := p.peer.MustOK("sender_certificate", map[string]any{
			"server_certificate": c.server, "server_priv": c.serverPriv, "expiration": sealedExpiry,
			"sender_uuid": p.name, "sender_device": p.device, "sender_key": p.identity,
		})
		if err != nil {
			return nil, err
		}
		c.byName[p.name] = rep.Str("sender_certificate")
		r.check(rep.Int("server_key_id") == 31337 && rep.Str("sender_key") == p.identity,
			"%s sender_certificate fields: %v", p.peer.Spec.Name, rep)
		for _, q := range parties {
			if q.peer.Spec == p.peer.Spec {
				continue
			}
			for _, tc := range []struct {
				ts    int64
				root  string
				valid bool
			}{{sealedExpiry, c.trustRoot, true}, {sealedExpiry + 1, c.trustRoot, false}, {sealedNow, c.otherRoot, false}} {
				v, err := q.peer.MustOK("sender_certificate_validate", map[string]any{
					"sender_certificate": c.byName[p.name], "trust_root": tc.root, "timestamp": tc.ts})
				if err != nil {
					return nil, err
				}
				r.check(v.Bool("valid") == tc.valid && v.Str("sender_uuid") == p.name && v.Int("sender_device") == int64(p.device),
					"%s validates %s's certificate (time %d): %v", q.peer.Spec.Name, p.peer.Spec.Name, tc.ts, v)
			}
			break
		}
	}
	return c, nil
}

// sealedWant is what a sealed_decrypt must give.
type sealedWant struct {
	from       *party
	text       string
	innerType  int64
	hint       int64
	groupID    string // hex, "" for none
	version    int64
	inner      string // hex, checked when set
	expectName string // an error name instead of success
}

// sealedDecrypt has to decrypt msg and checks the result against want.
func (r *run) sealedDecrypt(to *party, msg string, c *sealedCerts, extra map[string]any, want sealedWant) error {
	params := map[string]any{"sealed": msg, "trust_root": c.trustRoot, "timestamp": sealedNow}
	for k, v := range extra {
		params[k] = v
	}
	rep, err := to.peer.Call("sealed_decrypt", params)
	if err != nil {
		return err
	}
	who := fmt.Sprintf("%s sealed_decrypt from %s", to.peer.Spec.Name, want.from.peer.Spec.Name)
	if want.expectName != "" {
		r.check(!rep.OK() && rep.Name() == want.expectName, "%s: want %s, got %v", who, want.expectName, rep)
		return nil
	}
	if !rep.OK() {
		r.st.fail("%s (%q): %v", who, want.text, rep)
		r.st.Sent++
		return nil
	}
	gid, _ := rep["group_id"].(string)
	ok := rep.Str("text") == want.text && rep.Str("sender_uuid") == want.from.name &&
		rep.Int("sender_device") == int64(want.from.device) && rep.Str("sender_key") == want.from.identity &&
		rep.Int("message_type") == want.innerType && rep.Int("content_hint") == want.hint &&
		gid == want.groupID && rep.Int("version") == want.version && rep.Int("expiration") == sealedExpiry &&
		(want.inner == "" || rep.Str("inner") == want.inner)
	r.check(ok, "%s: want %+v, got %v", who, want, rep)
	return nil
}

// flipHex flips one bit of byte i of a hex message.
func flipHex(msg string, i int) string {
	b, _ := hex.DecodeString(msg)
	b = bytes.Clone(b)
	b[i%len(b)] ^= 0x10
	return hex.EncodeToString(b)
}

// checkSplit has b's implementation split sent too and compares the result
// with the sender's.
func (r *run) checkSplit(splitter *party, sender Reply, sent string) {
	rep, err := splitter.peer.Call("sealed_multi_split", map[string]any{"sent": sent})
	if err != nil || !rep.OK() {
		r.check(false, "%s sealed_multi_split: %v %v", splitter.peer.Spec.Name, rep, err)
		return
	}
	r.check(marshalCompact(rep["received"]) == marshalCompact(sender["received"]) &&
		marshalCompact(rep["excluded"]) == marshalCompact(sender["excluded"]),
		"%s split differs from the sender's: %v vs %v", splitter.peer.Spec.Name, rep, sender)
}

func receivedFor(rep Reply, name string) string {
	list, _ := rep["received"].([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		if m["name"] == name {
			s, _ := m["message"].(string)
			return s
		}
	}
	return ""
}

// runSealedOneToOne: a PQXDH session, then sealed v1 messages both ways
// (PreKey, then Whisper inner messages) and v2 with one recipient, with the
// rejections of PEER.md's order in between.
func runSealedOneToOne(r *run) error {
	alice, err := r.newParty(r.a, aliceName, "all", nil)
	if err != nil {
		return err
	}
	bob, err := r.newParty(r.b, bobName, "all", nil)
	if err != nil {
		return err
	}
	c, err := r.newSealedCerts(alice, bob)
	if err != nil {
		return err
	}
	if _, err := r.handshake(alice, bob, commonProto(r.a, r.b), true, 10); err != nil {
		return err
	}
	rounds := min(max(r.n/50, 3), 10)
	for i := range rounds {
		// Alice → Bob, v1.
		text := fmt.Sprintf("sealed %d from alice", i)
		gid := ""
		params := map[string]any{"peer": bob.name, "sender_certificate": c.byName[alice.name], "plaintext_text": text, "content_hint": i % 3}
		if i%2 == 1 {
			gid = fmt.Sprintf("%064x", i)
			params["group_id"] = gid
		}
		e, err := alice.peer.MustOK("sealed_encrypt", params)
		if err != nil {
			return err
		}
		sealed := e.Str("sealed")
		wantType := int64(2)
		if i == 0 {
			wantType = 3
		}
		r.check(e.Int("inner_type") == wantType && e.Int("version") == 1 && len(sealed) > 2 && sealed[:2] == "11",
			"%s sealed_encrypt: %v", r.a.Name, e)
		want := sealedWant{from: alice, text: text, innerType: wantType, hint: int64(i % 3), groupID: gid, version: 1, inner: e.Str("inner")}
		if i == 0 {
			// Rejections first; none may change anything.
			for _, bad := range []struct {
				msg   string
				extra map[string]any
				name  string
			}{
				{sealed, map[string]any{"timestamp": sealedExpiry + 1}, "invalid_certificate"},
				{sealed, map[string]any{"trust_root": c.otherRoot}, "invalid_certificate"},
				{sealed, map[string]any{"local_uuid": alice.name, "local_device": alice.device}, "self_send"},
				{flipHex(sealed, 40), nil, "invalid_message"},
				{flipHex(sealed, len(sealed)/2-3), nil, "invalid_message"},
				{"51" + sealed[2:], nil, "invalid_message"},
			} {
				w := want
				w.expectName = bad.name
				if err := r.sealedDecrypt(bob, bad.msg, c, bad.extra, w); err != nil {
					return err
				}
			}
		}
		if err := r.sealedDecrypt(bob, sealed, c, nil, want); err != nil {
			return err
		}
		// Bob → Alice, v1 (Whisper from the start: Bob answers a session).
		text = fmt.Sprintf("sealed %d from bob", i)
		e, err = bob.peer.MustOK("sealed_encrypt", map[string]any{"peer": alice.name, "sender_certificate": c.byName[bob.name], "plaintext_text": text})
		if err != nil {
			return err
		}
		want = sealedWant{from: bob, text: text, innerType: 2, version: 1, inner: e.Str("inner")}
		if err := r.sealedDecrypt(alice, e.Str("sealed"), c, nil, want); err != nil {
			return err
		}
		if i == 1 {
			// A replayed Whisper message.
			want.expectName = "duplicate_message"
			if err := r.sealedDecrypt(alice, e.Str("sealed"), c, nil, want); err != nil {
				return err
			}
		}
	}
	// v2 with a single recipient device and a 1:1 inner message.
	text := "sealed v2, 1:1 inner"
	m, err := alice.peer.MustOK("sealed_encrypt_multi", map[string]any{
		"recipients":         []any{map[string]any{"name": bob.name, "device_id": bob.device}},
		"sender_certificate": c.byName[alice.name], "plaintext_text": text, "excluded": []string{daveName},
	})
	if err != nil {
		return err
	}
	r.checkSplit(bob, m, m.Str("sent"))
	msg := receivedFor(m, bob.name)
	r.check(msg != "" && msg[:2] == "22" && m.Int("inner_type") == 2, "%s sealed_encrypt_multi: %v", r.a.Name, m)
	want := sealedWant{from: alice, text: text, innerType: 2, version: 2, inner: m.Str("inner")}
	for _, i := range []int{5, 40, 60, len(msg)/2 - 1} { // C, AT (certificate key check), E, body
		w := want
		w.expectName = "invalid_message"
		if i == 40 {
			w.expectName = "invalid_certificate"
		}
		if err := r.sealedDecrypt(bob, flipHex(msg, i), c, nil, w); err != nil {
			return err
		}
	}
	return r.sealedDecrypt(bob, msg, c, nil, want)
}

// runSealedGroup: Alice (a) sends sealed group messages to Bob and Carol
// (b): v1 to Bob, v2 to both with an excluded member, split by both
// implementations, with rejections in between.
func runSealedGroup(r *run) error {
	alice, err := r.newParty(r.a, aliceName, "all", nil)
	if err != nil {
		return err
	}
	bob, err := r.newParty(r.b, bobName, "all", nil)
	if err != nil {
		return err
	}
	carol, err := r.newParty(r.b, carolName, "all", nil)
	if err != nil {
		return err
	}
	c, err := r.newSealedCerts(alice, bob)
	if err != nil {
		return err
	}
	// Alice needs Bob's and Carol's identity keys and registration ids:
	// their bundles give both (the 1:1 sessions are never used).
	for i, p := range []*party{bob, carol} {
		pk, err := p.peer.MustOK("prekeys", map[string]any{"signed_prekey_id": 20 + i, "kyber_prekey_id": 30 + i, "prekey_id": nil})
		if err != nil {
			return err
		}
		if _, err := alice.peer.MustOK("process_bundle", map[string]any{"peer": p.name, "bundle": pk["bundle"]}); err != nil {
			return err
		}
	}
	skdm, err := alice.peer.MustOK("sender_key_create", map[string]any{"distribution_id": sealedDistribution})
	if err != nil {
		return err
	}
	for _, p := range []*party{bob, carol} {
		if _, err := p.peer.MustOK("sender_key_process", map[string]any{"sender": alice.name, "skdm": skdm.Str("skdm")}); err != nil {
			return err
		}
	}
	groupID := "fa433ce9791f6057a77e1fc8d9543fc0b386e94c810ed092922a21211d62d926"
	rounds := min(max(r.n/50, 3), 10)
	for i := range rounds {
		// v1 to Bob.
		text := fmt.Sprintf("group v1 %d", i)
		e, err := alice.peer.MustOK("sealed_encrypt", map[string]any{"peer": bob.name, "sender_certificate": c.byName[alice.name],
			"plaintext_text": text, "distribution_id": sealedDistribution, "group_id": groupID, "content_hint": 2})
		if err != nil {
			return err
		}
		r.check(e.Int("inner_type") == 7, "%s sealed_encrypt (group): %v", r.a.Name, e)
		want := sealedWant{from: alice, text: text, innerType: 7, hint: 2, groupID: groupID, version: 1, inner: e.Str("inner")}
		if i == 0 {
			w := want
			w.expectName = "invalid_certificate"
			if err := r.sealedDecrypt(bob, e.Str("sealed"), c, map[string]any{"timestamp": sealedExpiry + 1}, w); err != nil {
				return err
			}
			w.expectName = "invalid_message"
			if err := r.sealedDecrypt(carol, e.Str("sealed"), c, nil, w); err != nil { // not addressed to Carol
				return err
			}
		}
		if err := r.sealedDecrypt(bob, e.Str("sealed"), c, nil, want); err != nil {
			return err
		}
		if i == 0 {
			w := want
			w.expectName = "duplicate_message"
			if err := r.sealedDecrypt(bob, e.Str("sealed"), c, nil, w); err != nil {
				return err
			}
		}
		// v2 to Bob and Carol, Dave excluded.
		text = fmt.Sprintf("group v2 %d", i)
		m, err := alice.peer.MustOK("sealed_encrypt_multi", map[string]any{
			"recipients":         []any{bob.name, map[string]any{"name": carol.name, "device_id": 1}},
			"sender_certificate": c.byName[alice.name], "plaintext_text": text, "distribution_id": sealedDistribution,
			"group_id": groupID, "content_hint": 1, "excluded": []string{daveName},
		})
		if err != nil {
			return err
		}
		ex, _ := m["excluded"].([]any)
		r.check(len(ex) == 1 && ex[0] == daveName && m.Int("inner_type") == 7, "%s sealed_encrypt_multi: %v", r.a.Name, m)
		r.checkSplit(bob, m, m.Str("sent"))
		toBob, toCarol := receivedFor(m, bob.name), receivedFor(m, carol.name)
		want = sealedWant{from: alice, text: text, innerType: 7, hint: 1, groupID: groupID, version: 2, inner: m.Str("inner")}
		if i == 0 {
			w := want
			w.expectName = "invalid_message"
			for _, bad := range []string{toCarol, flipHex(toBob, 10), flipHex(toBob, len(toBob)/2-2)} {
				if err := r.sealedDecrypt(bob, bad, c, nil, w); err != nil {
					return err
				}
			}
			w.expectName = "invalid_certificate"
			if err := r.sealedDecrypt(bob, toBob, c, map[string]any{"trust_root": c.otherRoot}, w); err != nil {
				return err
			}
		}
		if err := r.sealedDecrypt(bob, toBob, c, nil, want); err != nil {
			return err
		}
		if err := r.sealedDecrypt(carol, toCarol, c, nil, want); err != nil {
			return err
		}
	}
	return nil
}
