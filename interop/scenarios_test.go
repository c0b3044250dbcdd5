package interop

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// run is the context of one scenario run for one pairing.
type run struct {
	t    *testing.T
	st   *Stats
	rng  *mrand.Rand
	a, b *PeerSpec
	n    int // messages per scenario
	// spqr: both peers list "spqr", so every party is initialized with
	// "spqr": true and every session runs the triple ratchet.
	spqr bool
}

// Party names are Signal service ids (ACI UUID strings, the ones of the
// libsignal 0.103.0 transcript): libsignal ≥ 0.91 puts the addresses field
// (SignalMessage field 6) into PreKey messages only when both names parse as
// service ids, and this library does the same, so the field is exercised.
const (
	aliceName = "a11ce000-0000-4000-8000-00000000a11c"
	bobName   = "b0b00000-0000-4000-8000-000000000b0b"
)

// noteEpochs notes in the table how far SPQR got in an SPQR conversation.
func (r *run) noteEpochs(c *Convo) {
	if c.SPQR {
		r.st.note("SPQR epoch %d", c.MaxEpoch)
	}
}

// newConvo starts a conversation for the run's handshake proto.
func (r *run) newConvo(alice, bob *party, proto string) *Convo {
	c := NewConvo(r.rng, alice, bob, protoVersion(proto), r.st)
	c.SPQR = r.spqr && proto == "pqxdh" // X3DH sessions are always classical
	return c
}

// Scenario is one entry of the suite. Applies returns "" when the scenario
// runs for the ordered pairing (a, b), or why it does not.
type Scenario struct {
	Name string
	// Single scenarios use one peer (a == b); other pairings are not listed.
	Single  bool
	Pairing func(a, b *PeerSpec) string
	Applies func(a, b *PeerSpec) string
	Run     func(r *run) error
}

func arrow(a, b *PeerSpec) string { return a.Name + "→" + b.Name }

// scenarios is the whole suite, in table order.
func scenarios() []Scenario {
	var out []Scenario
	for _, proto := range []string{"pqxdh", "x3dh"} {
		for _, opk := range []bool{true, false} {
			name := proto + "+opk"
			if !opk {
				name = proto + "-opk"
			}
			out = append(out, Scenario{
				Name: name, Pairing: arrow,
				Applies: func(a, b *PeerSpec) string { return firstReason(needFeature(proto, a, b), requirementsMet(a, b)) },
				Run:     func(r *run) error { return runHandshake(r, proto, opk, nil) },
			})
		}
	}
	out = append(out, Scenario{
		Name: "spqr-lossy", Pairing: arrow,
		Applies: func(a, b *PeerSpec) string { return needFeature("spqr", a, b) },
		Run:     runSPQRLossy,
	})
	for _, proto := range []string{"pqxdh", "x3dh"} {
		for side, sideName := range []string{"alice", "bob"} {
			out = append(out, Scenario{
				Name:    "record-" + proto + "-" + sideName,
				Pairing: func(a, b *PeerSpec) string { return a.Name + "⇒" + b.Name },
				Applies: func(a, b *PeerSpec) string { return recordApplies(proto, a, b) },
				Run:     func(r *run) error { return runRecord(r, proto, side) },
			})
		}
	}
	out = append(out,
		Scenario{Name: "tofu", Pairing: arrow, Applies: needCommonAndRequirements, Run: runTOFU},
		Scenario{Name: "corrupt", Pairing: arrow, Applies: needCommonAndRequirements, Run: runCorrupt},
		Scenario{
			Name: "fingerprint", Pairing: arrow,
			Applies: func(a, b *PeerSpec) string {
				for _, s := range []*PeerSpec{a, b} {
					if !s.Has("fingerprint") || !s.Has("fingerprint_compare") {
						return s.Name + " has no fingerprint command"
					}
				}
				return ""
			},
			Run: runFingerprint,
		},
		Scenario{
			Name: "robustness", Single: true,
			Pairing: func(a, _ *PeerSpec) string { return a.Name },
			Applies: func(a, b *PeerSpec) string { return "" },
			Run:     runRobustness,
		},
	)
	out = append(out, senderKeyScenarios()...)
	for _, proto := range []string{"pqxdh", "x3dh"} {
		out = append(out, Scenario{
			Name: "transcript-" + proto, Single: true,
			Pairing: func(a, _ *PeerSpec) string { return "recording→" + a.Name },
			Applies: func(a, _ *PeerSpec) string {
				return firstReason(needFeature(proto, a, a), requirementsMet(a, recording072))
			},
			Run: func(r *run) error { return runTranscript(r, transcript072, proto, false) },
		})
	}
	for _, tc := range []struct{ name, session string }{{"transcript-spqr+opk", "pqxdh_otpk"}, {"transcript-spqr-opk", "pqxdh_no_otpk"}} {
		session := tc.session
		out = append(out, Scenario{
			Name: tc.name, Single: true,
			Pairing: func(a, _ *PeerSpec) string { return "recording→" + a.Name },
			Applies: func(a, _ *PeerSpec) string { return needFeature("spqr", a, a) },
			Run:     func(r *run) error { return runTranscript(r, transcript0103, session, true) },
		})
	}
	out = append(out, sealedScenarios()...)
	return out
}

// recordApplies says whether a proto session started between two e peers
// can be continued by i after session_export/session_import. The session
// runs SPQR when both e and i list "spqr" (useSPQR); e must support proto,
// i must support every feature e requires of all sessions; a classical
// session (X3DH, or PQXDH without SPQR) needs an i that supports proto and
// requires nothing more, or one that lists "continues_classical" (libsignal
// 0.103 neither starts nor accepts classical sessions but continues stored
// ones).
func recordApplies(proto string, e, i *PeerSpec) string {
	if e.RecordFormat == "" || i.RecordFormat == "" {
		return "no session_export/session_import"
	}
	if e.RecordFormat != i.RecordFormat {
		return fmt.Sprintf("record formats differ: %s, %s", e.RecordFormat, i.RecordFormat)
	}
	if why := needFeature(proto, e, e); why != "" {
		return why
	}
	for _, f := range e.Requires {
		if !i.Supports(f) {
			return fmt.Sprintf("%s's sessions run %s, %s lacks it", e.Name, f, i.Name)
		}
	}
	if proto == "pqxdh" && useSPQR(e, i) {
		return needFeature(proto, i, i)
	}
	if i.Supports("continues_classical") {
		return ""
	}
	if !i.Supports(proto) {
		return i.Name + " lacks " + proto
	}
	if len(i.Requires) > 0 {
		return fmt.Sprintf("the session is classical, %s requires %s", i.Name, strings.Join(i.Requires, ", "))
	}
	return ""
}

// wantCurrentState is the has_current_state p reports for a session with
// the given SPQR use: libsignal ≥ 0.92 counts only sessions with SPQR state
// as usable for sending (SessionUsabilityRequirements::Spqr), although it
// still continues classical ones it has stored.
func wantCurrentState(p *PeerSpec, spqr bool) bool {
	return spqr || !slices.Contains(p.Requires, "spqr")
}

func needFeature(f string, a, b *PeerSpec) string {
	for _, s := range []*PeerSpec{a, b} {
		if !s.Supports(f) {
			return s.Name + " lacks " + f
		}
	}
	return ""
}

// commonProto is the strongest handshake both peers support.
func commonProto(a, b *PeerSpec) string {
	for _, p := range []string{"pqxdh", "x3dh"} {
		if a.Supports(p) && b.Supports(p) {
			return p
		}
	}
	return ""
}

func needCommonAndRequirements(a, b *PeerSpec) string {
	if commonProto(a, b) == "" {
		return "no common handshake"
	}
	return requirementsMet(a, b)
}

// firstReason returns the first non-empty reason.
func firstReason(reasons ...string) string {
	for _, r := range reasons {
		if r != "" {
			return r
		}
	}
	return ""
}

// recording072 stands for the recorded libsignal 0.72.1 conversations of the
// transcript scenarios: classical sessions, no SPQR.
var recording072 = &PeerSpec{Name: "the 0.72.1 recording", Features: []string{"pqxdh", "x3dh"}}

func protoVersion(proto string) int64 {
	if proto == "pqxdh" {
		return 4
	}
	return 3
}

// newParty starts a peer process and initializes it as name.
func (r *run) newParty(spec *PeerSpec, name, trust string, extra map[string]any) (*party, error) {
	p, err := StartPeer(spec)
	if err != nil {
		return nil, err
	}
	r.t.Cleanup(func() {
		if err := p.Close(); err != nil {
			r.st.fail("%s: %v", spec.Name, err)
		}
	})
	params := map[string]any{"name": name, "device_id": 1, "trust": trust}
	if r.spqr {
		params["spqr"] = true
	}
	for k, v := range extra {
		params[k] = v
	}
	rep, err := p.MustOK("init", params)
	if err != nil {
		return nil, err
	}
	if rep.Str("name") != name || rep.Int("device_id") != 1 {
		r.st.fail("%s init: name/device_id not echoed: %v", spec.Name, rep)
	}
	return &party{
		peer: p, name: name, device: 1, trust: trust,
		regID: rep.Int("registration_id"), identity: rep.Str("identity_key"), idPriv: rep.Str("identity_priv"),
	}, nil
}

// handshake has bob publish a bundle (ids offset by base) and alice process it.
func (r *run) handshake(alice, bob *party, proto string, opk bool, base int) (Reply, error) {
	params := map[string]any{"signed_prekey_id": base + 1, "kyber": proto == "pqxdh", "kyber_prekey_id": base + 2, "prekey_id": nil}
	if opk {
		params["prekey_id"] = base + 3
	}
	pk, err := bob.peer.MustOK("prekeys", params)
	if err != nil {
		return nil, err
	}
	bundle, _ := pk["bundle"].(map[string]any)
	if bundle == nil {
		return nil, fmt.Errorf("%s prekeys: no bundle", bob.peer.Spec.Name)
	}
	if (bundle["kyber_prekey"] != nil) != (proto == "pqxdh") {
		r.st.fail("%s prekeys: kyber_prekey presence wrong for %s", bob.peer.Spec.Name, proto)
	}
	if (bundle["prekey"] != nil) != opk {
		r.st.fail("%s prekeys: prekey presence wrong (opk=%v)", bob.peer.Spec.Name, opk)
	}
	if id, _ := bundle["identity_key"].(string); id != bob.identity {
		r.st.fail("%s prekeys: bundle identity_key differs from init's", bob.peer.Spec.Name)
	}
	if _, err := alice.peer.MustOK("process_bundle", map[string]any{"peer": bob.name, "peer_device": bob.device, "bundle": bundle}); err != nil {
		return nil, err
	}
	alice.initiator, alice.canSend = true, true
	return pk, nil
}

// check counts one verification.
func (r *run) check(ok bool, format string, args ...any) {
	if ok {
		r.st.OK++
	} else {
		r.st.fail(format, args...)
	}
	r.st.Sent++
}

// checkIdentity verifies that p recorded other's identity key.
func (r *run) checkIdentity(p, other *party) error {
	rep, err := p.peer.MustOK("identity", map[string]any{"peer": other.name, "peer_device": other.device})
	if err != nil {
		return err
	}
	if got := rep.Str("identity_key"); got != other.identity {
		r.st.fail("%s identity(%s) = %q, want %s", p.peer.Spec.Name, other.name, got, other.identity)
	}
	return nil
}

// checkSessionInfo verifies that p has a session with other, and a current
// one when wantCurrent.
func (r *run) checkSessionInfo(p, other *party, wantCurrent bool) error {
	rep, err := p.peer.MustOK("session_info", map[string]any{"peer": other.name, "peer_device": other.device})
	if err != nil {
		return err
	}
	if !rep.Bool("has_session") || rep.Bool("has_current_state") != wantCurrent {
		r.st.fail("%s session_info(%s): want has_session, has_current_state %v: %v", p.peer.Spec.Name, other.name, wantCurrent, rep)
	}
	if id, ok := rep["remote_registration_id"]; ok && id != nil && rep.Int("remote_registration_id") != other.regID {
		r.st.fail("%s session_info(%s): remote_registration_id %v, want %d", p.peer.Spec.Name, other.name, id, other.regID)
	}
	return nil
}

// runHandshake: session from a bundle, then n messages on a random schedule.
func runHandshake(r *run, proto string, opk bool, tune func(*Convo)) error {
	alice, err := r.newParty(r.a, aliceName, "all", nil)
	if err != nil {
		return err
	}
	bob, err := r.newParty(r.b, bobName, "all", nil)
	if err != nil {
		return err
	}
	if _, err := r.handshake(alice, bob, proto, opk, 10); err != nil {
		return err
	}
	c := r.newConvo(alice, bob, proto)
	n := r.n
	if tune != nil {
		tune(c)
		n = r.n * 4
	}
	if err := c.Run(n, true); err != nil {
		return err
	}
	if err := c.PingPong(); err != nil {
		return err
	}
	r.noteEpochs(c)
	if err := r.checkIdentity(alice, bob); err != nil {
		return err
	}
	if err := r.checkSessionInfo(alice, bob, true); err != nil {
		return err
	}
	if bob.canSend {
		if err := r.checkIdentity(bob, alice); err != nil {
			return err
		}
		return r.checkSessionInfo(bob, alice, true)
	}
	return nil
}

// runSPQRLossy: an SPQR session with four times the messages, 20 % loss
// (SPQR sends its keys in erasure-coded chunks, so loss is what it must
// survive) and deliveries that keep up with sends (the default schedule lets
// the messages in flight pile up, so that round trips, and with them SPQR
// epochs, take hundreds of messages). An epoch takes about 45 messages each
// way in lockstep traffic (spqr src/v1/chunked/states.rs); the ratchet must get past epoch 10.
func runSPQRLossy(r *run) error {
	var c *Convo
	err := runHandshake(r, "pqxdh", true, func(cv *Convo) { c, cv.Loss, cv.SendRate, cv.Burst = cv, 0.2, 0.4, 0.04 })
	if err != nil || c == nil {
		return err
	}
	if r.n >= 500 {
		r.check(c.MaxEpoch >= 10, "SPQR reached only epoch %d in %d messages", c.MaxEpoch, 4*r.n)
	}
	return nil
}

// runRecord: the party on side moves from implementation r.a to r.b by
// session_export/session_import in the middle of a conversation (with
// messages in flight); the counterpart stays on r.a.
func runRecord(r *run, proto string, side int) error {
	alice, err := r.newParty(r.a, aliceName, "all", nil)
	if err != nil {
		return err
	}
	bob, err := r.newParty(r.a, bobName, "all", nil)
	if err != nil {
		return err
	}
	pk, err := r.handshake(alice, bob, proto, true, 10)
	if err != nil {
		return err
	}
	c := r.newConvo(alice, bob, proto)
	first := r.n / 4
	if err := c.Run(first, false); err != nil {
		return err
	}
	mover, other := c.p[side], c.p[1-side]
	if !mover.canSend {
		return fmt.Errorf("%s has no session after %d messages", mover.name, first)
	}
	exp, err := mover.peer.MustOK("session_export", map[string]any{"peer": other.name, "peer_device": other.device})
	if err != nil {
		return err
	}
	rec := exp.Str("record")
	if rec == "" {
		return fmt.Errorf("%s session_export: no record", r.a.Name)
	}
	spqr := r.spqr && proto == "pqxdh"
	libsignalRecords := r.a.RecordFormat == "libsignal" // else opaque (go.mau.fi/libsignal's JSON)
	if libsignalRecords {
		r.check(checkRecordSPQR(rec, spqr) == nil, "%s session_export: %v", r.a.Name, checkRecordSPQR(rec, spqr))
	}
	moved, err := r.newParty(r.b, mover.name, "all", map[string]any{
		"identity_priv": mover.idPriv, "registration_id": mover.regID,
	})
	if err != nil {
		return err
	}
	if moved.identity != mover.identity {
		r.st.fail("%s init with identity_priv gives identity %s, %s gave %s", r.b.Name, moved.identity, r.a.Name, mover.identity)
	}
	if side == 1 {
		// A moving device keeps its pre-keys: re-provision the signed and Kyber
		// pre-keys (PreKey messages still in flight name them).
		priv, _ := pk["private"].(map[string]any)
		bundle, _ := pk["bundle"].(map[string]any)
		params := map[string]any{
			"signed_prekey_id": bundle["signed_prekey_id"], "signed_prekey_priv": priv["signed_prekey_priv"],
			"signed_prekey_signature": bundle["signed_prekey_signature"], "prekey_id": nil, "kyber": proto == "pqxdh",
		}
		if proto == "pqxdh" {
			params["kyber_prekey_id"] = bundle["kyber_prekey_id"]
			params["kyber_priv"] = priv["kyber_priv"]
			params["kyber_prekey_signature"] = bundle["kyber_prekey_signature"]
		}
		if _, err := moved.peer.MustOK("prekeys", params); err != nil {
			return err
		}
	}
	imp, err := moved.peer.MustOK("session_import", map[string]any{"peer": other.name, "peer_device": other.device, "record": rec})
	if err != nil {
		return err
	}
	wantCurrent := wantCurrentState(r.b, spqr)
	r.check(imp.Bool("has_current_state") == wantCurrent, "%s session_import: has_current_state %v, want %v", r.b.Name, imp.Bool("has_current_state"), wantCurrent)
	if err := mover.peer.Close(); err != nil {
		r.st.fail("%s: %v", r.a.Name, err)
	}
	moved.initiator, moved.canSend, moved.gotReply = mover.initiator, true, mover.gotReply
	c.p[side] = moved
	if err := r.checkSessionInfo(moved, other, wantCurrent); err != nil {
		return err
	}
	if err := c.Run(r.n-first, true); err != nil {
		return err
	}
	if err := c.PingPong(); err != nil {
		return err
	}
	r.noteEpochs(c)
	exp, err = moved.peer.MustOK("session_export", map[string]any{"peer": other.name, "peer_device": other.device})
	if err != nil {
		return err
	}
	rec = exp.Str("record")
	if !libsignalRecords {
		return nil
	}
	r.check(checkRecordSPQR(rec, spqr) == nil, "%s session_export after the move: %v", r.b.Name, checkRecordSPQR(rec, spqr))
	return nil
}

// checkRecordSPQR checks a RecordStructure (hex): its current session
// (field 1, a SessionStructure) holds a non-empty SPQR state
// (pq_ratchet_state, field 15) exactly when spqr is set.
func checkRecordSPQR(recHex string, spqr bool) error {
	rec, err := hex.DecodeString(recHex)
	if err != nil {
		return err
	}
	f, err := pbFields(rec)
	if err != nil {
		return fmt.Errorf("RecordStructure: %w", err)
	}
	cur, ok := f[1]
	if !ok {
		return fmt.Errorf("record without current session")
	}
	sf, err := pbFields(cur)
	if err != nil {
		return fmt.Errorf("SessionStructure: %w", err)
	}
	state := sf[15]
	switch {
	case spqr && len(state) == 0:
		return fmt.Errorf("SPQR session, but pq_ratchet_state (field 15) is empty")
	case !spqr && len(state) > 0:
		return fmt.Errorf("classical session, but pq_ratchet_state (field 15) has %d bytes", len(state))
	}
	return nil
}

// runTOFU: under trust "tofu", a changed identity is rejected both when
// receiving (a PreKey message from a re-initialized alice) and when sending
// (a bundle from a re-initialized bob); the original session keeps working.
func runTOFU(r *run) error {
	proto := commonProto(r.a, r.b)
	alice, err := r.newParty(r.a, aliceName, "tofu", nil)
	if err != nil {
		return err
	}
	bob, err := r.newParty(r.b, bobName, "tofu", nil)
	if err != nil {
		return err
	}
	if _, err := r.handshake(alice, bob, proto, true, 10); err != nil {
		return err
	}
	c := r.newConvo(alice, bob, proto)
	c.Loss, c.Dup = 0, 0
	if err := c.Run(20, true); err != nil {
		return err
	}
	if err := r.checkIdentity(bob, alice); err != nil {
		return err
	}

	// A new alice (same name, new identity) sends: bob must refuse.
	alice2, err := r.newParty(r.a, aliceName, "all", nil)
	if err != nil {
		return err
	}
	if _, err := r.handshake(alice2, bob, proto, true, 100); err != nil {
		return err
	}
	enc, err := alice2.peer.MustOK("encrypt", map[string]any{"peer": bob.name, "plaintext_text": "impostor"})
	if err != nil {
		return err
	}
	dec, err := bob.peer.Call("decrypt", map[string]any{"peer": alice.name, "ciphertext": enc.Str("ciphertext")})
	if err != nil {
		return err
	}
	r.check(!dec.OK() && dec.Name() == "untrusted_identity",
		"%s decrypt from re-initialized alice (%s): %v, want untrusted_identity", r.b.Name, r.a.Name, dec)
	if err := r.checkIdentity(bob, alice); err != nil {
		return err
	}
	if err := c.Run(10, true); err != nil {
		return err
	}

	// A new bob (same name, new identity) publishes a bundle: alice must refuse it.
	bob2, err := r.newParty(r.b, bobName, "all", nil)
	if err != nil {
		return err
	}
	params := map[string]any{"signed_prekey_id": 201, "prekey_id": 203, "kyber": proto == "pqxdh", "kyber_prekey_id": 202}
	pk, err := bob2.peer.MustOK("prekeys", params)
	if err != nil {
		return err
	}
	pb, err := alice.peer.Call("process_bundle", map[string]any{"peer": bob.name, "bundle": pk["bundle"]})
	if err != nil {
		return err
	}
	r.check(!pb.OK() && pb.Name() == "untrusted_identity",
		"%s process_bundle from re-initialized bob (%s): %v, want untrusted_identity", r.a.Name, r.b.Name, pb)
	if err := r.checkIdentity(alice, bob); err != nil {
		return err
	}
	if err := c.Run(10, true); err != nil {
		return err
	}
	return c.PingPong()
}

// runCorrupt: corrupted and garbage ciphertexts are rejected with an error
// and change nothing: the original message still decrypts afterwards.
func runCorrupt(r *run) error {
	proto := commonProto(r.a, r.b)
	alice, err := r.newParty(r.a, aliceName, "all", nil)
	if err != nil {
		return err
	}
	bob, err := r.newParty(r.b, bobName, "all", nil)
	if err != nil {
		return err
	}
	if _, err := r.handshake(alice, bob, proto, true, 10); err != nil {
		return err
	}
	c := r.newConvo(alice, bob, proto)
	c.Loss, c.Dup, c.Burst = 0, 0, 0
	if err := c.Run(10, true); err != nil {
		return err
	}
	for from := range 2 {
		if !c.p[from].canSend {
			continue
		}
		if err := c.Send(from); err != nil {
			return err
		}
		q := c.inflight[from]
		if len(q) == 0 {
			continue
		}
		m := q[len(q)-1]
		rcv, snd := c.p[1-from], c.p[from]
		for _, bad := range corruptions(r.rng, m.ct, m.typ, rcv.peer.Spec.MACOverReserialization) {
			rep, err := rcv.peer.Call("decrypt", map[string]any{"peer": snd.name, "ciphertext": hex.EncodeToString(bad.ct), "type": bad.typ})
			if err != nil {
				return fmt.Errorf("%s on %s: %w", rcv.peer.Spec.Name, bad.what, err)
			}
			r.check(!rep.OK() && rep.Name() != "", "%s accepted %s (type %d) of a %d-byte type-%d message from %s: %v",
				rcv.peer.Spec.Name, bad.what, bad.typ, len(m.ct), m.typ, snd.peer.Spec.Name, rep)
		}
		if err := c.Deliver(from, len(q)-1); err != nil {
			return err
		}
	}
	if err := c.Run(20, true); err != nil {
		return err
	}
	return c.PingPong()
}

type corrupted struct {
	what string
	ct   []byte
	typ  int64
}

// corruptions returns damaged variants of ct. Byte 0 is left alone in the
// bit flips (its low nibble is not covered by go.mau.fi/libsignal's MAC), and
// PreKey messages only get structural damage, since their outer fields (such
// as the registration id) are not authenticated.
//
// With tailOnly the bit flips hit only the last ciphertext block and the
// MAC (see PeerSpec.MACOverReserialization).
func corruptions(rng *mrand.Rand, ct []byte, typ int64, tailOnly bool) []corrupted {
	var out []corrupted
	add := func(what string, b []byte, t int64) { out = append(out, corrupted{what, b, t}) }
	clone := func() []byte { return bytes.Clone(ct) }
	add("truncation by 1", ct[:len(ct)-1], typ)
	add("truncation by 8 (no MAC)", ct[:len(ct)-8], typ)
	add("first half", ct[:len(ct)/2], typ)
	add("version byte only", ct[:1], typ)
	add("empty", []byte{}, typ)
	add("appended byte", append(clone(), 0), typ)
	v := clone()
	v[0] = 0x14 // version 1
	add("version 1", v, typ)
	v = clone()
	v[0] = 0x74 // unknown version 7
	add("version 7", v, typ)
	random := make([]byte, len(ct))
	_, _ = rand.Read(random)
	random[0] = ct[0]
	add("random body", random, typ)
	zero := make([]byte, len(ct))
	zero[0] = ct[0]
	add("zero body", zero, typ)
	other := int64(5) - typ // 2 <-> 3
	add("wrong type", clone(), other)
	if typ == 2 {
		for range 24 {
			v := clone()
			i := 1 + rng.IntN(len(v)-1)
			if tailOnly && len(v) > 25 {
				i = len(v) - 24 + rng.IntN(24)
			}
			v[i] ^= 1 << rng.IntN(8)
			add(fmt.Sprintf("bit flip at %d", i), v, typ)
		}
		v := clone()
		for i := len(v) - 8; i < len(v); i++ {
			v[i] ^= 0xff
		}
		add("inverted MAC", v, typ)
	}
	return out
}

// runFingerprint: safety numbers computed on both sides for the same inputs
// are equal, and each side's scannable form matches the other's.
func runFingerprint(r *run) error {
	alice, err := r.newParty(r.a, aliceName, "all", nil)
	if err != nil {
		return err
	}
	bob, err := r.newParty(r.b, bobName, "all", nil)
	if err != nil {
		return err
	}
	stranger, err := r.newParty(r.b, "stranger", "all", nil)
	if err != nil {
		return err
	}
	randID := func() string {
		b := make([]byte, 16)
		for i := range b {
			b[i] = byte(r.rng.UintN(256))
		}
		return hex.EncodeToString(b)
	}
	cases := []struct {
		name             string
		version, iters   int
		aliceID, bobID   string
		text             bool
		aliceKey, bobKey string
	}{
		{"v1 e164", 1, 5200, "+14152222222", "+14153333333", true, alice.identity, bob.identity},
		{"v2 uuid", 2, 5200, randID(), randID(), false, alice.identity, bob.identity},
		{"v2 1024 iterations", 2, 1024, randID(), randID(), false, alice.identity, bob.identity},
	}
	idParam := func(prefix, id string, text bool) map[string]any {
		if text {
			return map[string]any{prefix + "_text": id}
		}
		return map[string]any{prefix: id}
	}
	fp := func(p *party, version, iters int, local, remote map[string]any, localKey, remoteKey string) (Reply, error) {
		params := map[string]any{"version": version, "iterations": iters, "remote_key": remoteKey}
		if localKey != "" {
			params["local_key"] = localKey
		}
		for k, v := range local {
			params[k] = v
		}
		for k, v := range remote {
			params[k] = v
		}
		return p.peer.MustOK("fingerprint", params)
	}
	for _, tc := range cases {
		aLocal, aRemote := idParam("local_id", tc.aliceID, tc.text), idParam("remote_id", tc.bobID, tc.text)
		bLocal, bRemote := idParam("local_id", tc.bobID, tc.text), idParam("remote_id", tc.aliceID, tc.text)
		// Alice's view on implementation a (own key implied), Bob's on b.
		fa, err := fp(alice, tc.version, tc.iters, aLocal, aRemote, "", bob.identity)
		if err != nil {
			return err
		}
		fb, err := fp(bob, tc.version, tc.iters, bLocal, bRemote, "", alice.identity)
		if err != nil {
			return err
		}
		da, db := fa.Str("displayable"), fb.Str("displayable")
		r.check(len(da) == 60 && strings.Trim(da, "0123456789") == "", "%s %s: displayable %q is not 60 digits", r.a.Name, tc.name, da)
		r.check(da == db, "%s: displayable differs: %s says %s, %s says %s", tc.name, r.a.Name, da, r.b.Name, db)
		for _, cmp := range []struct {
			p           *party
			mine, their string
		}{{alice, fa.Str("scannable"), fb.Str("scannable")}, {bob, fb.Str("scannable"), fa.Str("scannable")}} {
			rep, err := cmp.p.peer.MustOK("fingerprint_compare", map[string]any{"mine": cmp.mine, "theirs": cmp.their})
			if err != nil {
				return err
			}
			r.check(rep.Bool("match"), "%s: %s fingerprint_compare of the other side's scannable: no match", tc.name, cmp.p.peer.Spec.Name)
		}
		// The same computation (Alice's view) on b gives identical bytes.
		fb2, err := fp(bob, tc.version, tc.iters, aLocal, aRemote, alice.identity, bob.identity)
		if err != nil {
			return err
		}
		r.check(fb2.Str("displayable") == da && fb2.Str("scannable") == fa.Str("scannable"),
			"%s: Alice's view differs: %s %s/%s, %s %s/%s", tc.name, r.a.Name, da, fa.Str("scannable"), r.b.Name, fb2.Str("displayable"), fb2.Str("scannable"))
		// A different key on Bob's side must not match.
		fx, err := fp(bob, tc.version, tc.iters, bLocal, bRemote, "", stranger.identity)
		if err != nil {
			return err
		}
		r.check(fx.Str("displayable") != da, "%s: displayable unchanged with another remote key", tc.name)
		rep, err := alice.peer.MustOK("fingerprint_compare", map[string]any{"mine": fa.Str("scannable"), "theirs": fx.Str("scannable")})
		if err != nil {
			return err
		}
		r.check(!rep.Bool("match"), "%s: %s matched a fingerprint over another key", tc.name, r.a.Name)
	}
	return nil
}

// runRobustness: malformed requests get exactly one error line each (with
// the request's id where there is one) and the peer keeps working.
func runRobustness(r *run) error {
	p, err := StartPeer(r.a)
	if err != nil {
		return err
	}
	r.t.Cleanup(func() {
		if err := p.Close(); err != nil {
			r.st.fail("%s: %v", r.a.Name, err)
		}
	})
	p.Timeout = 15 * time.Second // a missing reply is a failure, not worth a minute
	big := `{"id":"big","cmd":"info","pad":"` + strings.Repeat("a", 17<<20) + `"}`
	cases := []struct {
		line   string
		id     any // expected id (nil = null)
		wantOK bool
	}{
		{"not json", nil, false},
		{"[1,2]", nil, false},
		{"42", nil, false},
		{`"str"`, nil, false},
		{"null", nil, false},
		{"{}", nil, false},
		{`{"id":1,"cmd":5}`, "1", false},
		{`{"id":2,"cmd":"no_such_command"}`, "2", false},
		{`{"id":3,"cmd":"encrypt","peer":"x","plaintext_text":"x"}`, "3", false}, // before init
		{`{"id":4,"cmd":"init","identity_priv":"zz"}`, "4", false},
		{`{"id":5,"cmd":"init","identity_priv":"0102"}`, "5", false},
		{`{"id":6,"cmd":"init","registration_id":"x"}`, "6", false},
		{`{"id":7,"cmd":"init","name":"me"}`, "7", true},
		{`{"id":8,"cmd":"encrypt","peer":5,"plaintext":"00"}`, "8", false},
		{`{"id":9,"cmd":"encrypt","peer":"x","plaintext":"0g"}`, "9", false},
		{`{"id":10,"cmd":"encrypt","peer":"nobody","plaintext":"00"}`, "10", false},
		{`{"id":11,"cmd":"decrypt","peer":"x","ciphertext":"0"}`, "11", false},
		{`{"id":12,"cmd":"decrypt","peer":"x","ciphertext":""}`, "12", false},
		{`{"id":13,"cmd":"decrypt","peer":"x","ciphertext":"33"}`, "13", false},
		{`{"id":14,"cmd":"decrypt","peer":"x","ciphertext":"34"}`, "14", false},
		{`{"id":15,"cmd":"decrypt","peer":"x","ciphertext":"4400","type":3}`, "15", false},
		{`{"id":16,"cmd":"decrypt","peer":"x","ciphertext":"3a0a","type":2}`, "16", false},
		{`{"id":17,"cmd":"decrypt","peer":"x","ciphertext":"` + strings.Repeat("ff", 200) + `"}`, "17", false},
		{`{"id":18,"cmd":"decrypt","peer":"x","ciphertext":"3308","type":"bogus"}`, "18", false},
		{`{"id":19,"cmd":"process_bundle","peer":"x","bundle":"nope"}`, "19", false},
		{`{"id":20,"cmd":"process_bundle","peer":"x","bundle":{}}`, "20", false},
		{`{"id":21,"cmd":"process_bundle","peer":"x","bundle":{"registration_id":1,"device_id":1,"identity_key":"05","signed_prekey_id":1,"signed_prekey":"05","signed_prekey_signature":"00"}}`, "21", false},
		{`{"id":22,"cmd":"prekeys","signed_prekey_id":-1}`, "22", false},
		{`{"id":23,"cmd":"prekeys","signed_prekey_id":"one"}`, "23", false},
		{`{"id":24,"cmd":"session_import","peer":"x","record":"ffff"}`, "24", false},
		{`{"id":26,"cmd":"fingerprint_compare","mine":"00","theirs":"zz"}`, "26", false},
		{`{"id":27,"cmd":"fingerprint","remote_key":"05"}`, "27", false},
		{`{"id":28,"cmd":"session_info","peer":{"name":7}}`, "28", false},
		{`{"id":{"nested":[1,"x"]},"cmd":"info"}`, `{"nested":[1,"x"]}`, true},
		{`{"id":"s","cmd":"identity","peer":{"name":"x","device_id":2}}`, `"s"`, true},
		{big, `"big"`, true},
	}
	for _, tc := range cases {
		rep, err := p.CallRaw([]byte(tc.line + "\n"))
		if err != nil {
			return fmt.Errorf("%s on %.80q: %w", r.a.Name, tc.line, err)
		}
		gotID := "null"
		if v, ok := rep["id"]; ok && v != nil {
			gotID = marshalCompact(v)
		}
		wantID := "null"
		if tc.id != nil {
			wantID = tc.id.(string)
		}
		r.check(gotID == wantID, "%s on %.80q: reply id %s, want %s", r.a.Name, tc.line, gotID, wantID)
		r.check(rep.OK() == tc.wantOK, "%s on %.80q: ok=%v, want %v: %v", r.a.Name, tc.line, rep.OK(), tc.wantOK, rep)
		if !rep.OK() {
			r.check(rep.Name() != "" && rep.Err() != "", "%s on %.80q: error reply without name or error: %v", r.a.Name, tc.line, rep)
		}
	}
	rep, err := p.MustOK("info", nil)
	if err != nil {
		return err
	}
	r.check(rep.Str("implementation") == r.a.Implementation, "%s: info changed", r.a.Name)
	return nil
}
