package interop

// Sender key (group messaging) scenarios: PEER.md "Sender keys".
//
//   - group-libsignal (a→b, both list sender_keys): a group of three, Alice on
//     a, Bob and Carol on b. Alice and Bob each send their SKDM to the others
//     and then group messages on a random schedule with reordering, loss and
//     replays (which must get duplicate_message); Carol joins late (the SKDM
//     Alice makes then names her next iteration, and earlier messages get
//     duplicate_message at Carol); Alice resets her key halfway (a message of
//     the new chain gets no_sender_key until its SKDM is processed, after
//     which both chains decrypt); damaged messages are rejected without harm.
//   - group-whatsapp: the same in WhatsApp's legacy format ("format":
//     "whatsapp"), for peers listing sender_keys_whatsapp (this library and
//     go.mau.fi/libsignal).
//   - group-record (E⇒I): a group conversation between two E processes; with
//     messages in flight Alice's own record and Bob's record of Alice move to
//     new I processes with sender_key_export/sender_key_import (checked to
//     re-export byte for byte), and the conversation goes on there.

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"
)

const carolName = "ca201000-0000-4000-8000-0000000ca201"

func senderKeyScenarios() []Scenario {
	return []Scenario{
		{
			Name: "group-libsignal", Pairing: arrow,
			Applies: func(a, b *PeerSpec) string { return needFeature("sender_keys", a, b) },
			Run:     func(r *run) error { return runGroup(r, "libsignal") },
		},
		{
			Name: "group-whatsapp", Pairing: arrow,
			Applies: func(a, b *PeerSpec) string { return needFeature("sender_keys_whatsapp", a, b) },
			Run:     func(r *run) error { return runGroup(r, "whatsapp") },
		},
		{
			Name:    "group-record",
			Pairing: func(a, b *PeerSpec) string { return a.Name + "⇒" + b.Name },
			Applies: func(a, b *PeerSpec) string {
				for _, s := range []*PeerSpec{a, b} {
					if !s.Supports("sender_keys") || !s.Has("sender_key_export") || !s.Has("sender_key_import") {
						return s.Name + " cannot move sender key records"
					}
					if s.RecordFormat != "libsignal" {
						return s.Name + " has record format " + s.RecordFormat
					}
				}
				return ""
			},
			Run: runGroupRecord,
		},
	}
}

// gmsg is a group message in flight to one receiver.
type gmsg struct {
	from  int // sender index
	seq   int // per-sender sequence number
	chain int64
	ct    string
	pt    []byte
}

// group is a group conversation: members[i] sends to every other member
// that has processed its SKDM.
type group struct {
	r       *run
	format  string
	dist    string
	members []*party
	// queue[to] holds the messages in flight to member to.
	queue [][]gmsg
	// delivered[to] holds messages member to decrypted (for replays).
	delivered [][]gmsg
	// knows[to][from]: member to has processed from's current SKDM.
	knows [][]bool
	seq   []int
	chain []int64
}

func (g *group) params(extra map[string]any) map[string]any {
	p := map[string]any{"distribution_id": g.dist}
	if g.format != "libsignal" {
		p["format"] = g.format
	}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

// create has member i make its SKDM (fresh: a new key) and returns it.
func (g *group) create(i int, fresh bool) (Reply, error) {
	rep, err := g.members[i].peer.MustOK("sender_key_create", g.params(map[string]any{"fresh": fresh}))
	if err != nil {
		return nil, err
	}
	if g.format == "libsignal" && rep.Str("distribution_id") != g.dist {
		g.r.st.fail("%s sender_key_create: distribution_id %q", g.members[i].peer.Spec.Name, rep.Str("distribution_id"))
	}
	if fresh && rep.Int("iteration") != 0 {
		g.r.st.fail("%s sender_key_create fresh: iteration %d", g.members[i].peer.Spec.Name, rep.Int("iteration"))
	}
	if !fresh && rep.Int("iteration") != int64(g.seq[i]) {
		g.r.st.fail("%s sender_key_create: iteration %d after %d messages", g.members[i].peer.Spec.Name, rep.Int("iteration"), g.seq[i])
	}
	g.chain[i] = rep.Int("chain_id")
	return rep, nil
}

// process has member to process from's SKDM.
func (g *group) process(to, from int, skdm Reply) error {
	rep, err := g.members[to].peer.MustOK("sender_key_process", g.params(map[string]any{
		"sender": g.members[from].name, "sender_device": 1, "skdm": skdm.Str("skdm"),
	}))
	if err != nil {
		return err
	}
	g.r.check(rep.Int("chain_id") == skdm.Int("chain_id") && rep.Int("iteration") == skdm.Int("iteration"),
		"%s sender_key_process: chain %d iteration %d, SKDM says %d, %d", g.members[to].peer.Spec.Name,
		rep.Int("chain_id"), rep.Int("iteration"), skdm.Int("chain_id"), skdm.Int("iteration"))
	g.knows[to][from] = true
	return nil
}

func (g *group) plaintext(from int) []byte {
	switch g.r.rng.IntN(6) {
	case 0:
		return nil
	case 1:
		b := make([]byte, 1+g.r.rng.IntN(3000))
		for i := range b {
			b[i] = byte(g.r.rng.Uint32())
		}
		return b
	}
	return fmt.Appendf(nil, "group message %d from %s", g.seq[from], g.members[from].name)
}

// send has member from encrypt one message for the group.
func (g *group) send(from int) (gmsg, error) {
	pt := g.plaintext(from)
	p := g.members[from]
	rep, err := p.peer.MustOK("group_encrypt", g.params(map[string]any{"plaintext": hex.EncodeToString(pt)}))
	if err != nil {
		return gmsg{}, err
	}
	g.r.st.Sent++
	ct := rep.Str("ciphertext")
	if rep.Int("type") != 7 || rep.Int("version") != 3 || len(ct) < 2 || ct[:2] != "33" {
		g.r.st.fail("%s group_encrypt: type %d version %d first byte %.2s", p.peer.Spec.Name, rep.Int("type"), rep.Int("version"), ct)
	}
	m := gmsg{from: from, seq: g.seq[from], chain: g.chain[from], ct: ct, pt: pt}
	g.seq[from]++
	for to := range g.members {
		if to != from && g.knows[to][from] {
			g.queue[to] = append(g.queue[to], m)
		}
	}
	return m, nil
}

// decrypt delivers m to member to and checks the answer: the plaintext, or
// the error name want.
func (g *group) decrypt(to int, m gmsg, want string) error {
	p := g.members[to]
	rep, err := p.peer.Call("group_decrypt", g.params(map[string]any{
		"sender": g.members[m.from].name, "sender_device": 1, "ciphertext": m.ct,
	}))
	if err != nil {
		return err
	}
	switch {
	case want == "" && !rep.OK():
		g.r.st.fail("%s group_decrypt of %s's #%d (chain %d): %s (%s)", p.peer.Spec.Name, g.members[m.from].name, m.seq, m.chain, rep.Err(), rep.Name())
	case want == "":
		got, _ := hex.DecodeString(rep.Str("plaintext"))
		if !bytes.Equal(got, m.pt) {
			g.r.st.fail("%s group_decrypt of #%d: wrong plaintext", p.peer.Spec.Name, m.seq)
		} else if g.format == "libsignal" && rep.Str("distribution_id") != g.dist {
			g.r.st.fail("%s group_decrypt: distribution_id %q", p.peer.Spec.Name, rep.Str("distribution_id"))
		} else {
			g.r.st.OK++
		}
		g.delivered[to] = append(g.delivered[to], m)
	case rep.OK():
		g.r.st.fail("%s group_decrypt of #%d: accepted, want %s", p.peer.Spec.Name, m.seq, want)
	case want == "any" || rep.Name() == want:
		if want == "duplicate_message" {
			g.r.st.Dups++
		} else {
			g.r.st.OK++
		}
	default:
		g.r.st.fail("%s group_decrypt of #%d: %s (%s), want %s", p.peer.Spec.Name, m.seq, rep.Err(), rep.Name(), want)
	}
	return nil
}

// step delivers, drops or replays one message in flight to a random member,
// picking among the first 5 in its queue (reordering).
func (g *group) step() error {
	var cands []int
	for to := range g.queue {
		if len(g.queue[to]) > 0 {
			cands = append(cands, to)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	to := cands[g.r.rng.IntN(len(cands))]
	if d := g.delivered[to]; len(d) > 0 && g.r.rng.Float64() < 0.05 {
		return g.decrypt(to, d[max(0, len(d)-1-g.r.rng.IntN(20)):][0], "duplicate_message")
	}
	i := g.r.rng.IntN(min(5, len(g.queue[to])))
	m := g.queue[to][i]
	g.queue[to] = slices.Delete(g.queue[to], i, i+1)
	if g.r.rng.Float64() < 0.08 {
		g.r.st.Lost++
		return nil
	}
	return g.decrypt(to, m, "")
}

func (g *group) drain() error {
	for to := range g.queue {
		for len(g.queue[to]) > 0 {
			m := g.queue[to][0]
			g.queue[to] = g.queue[to][1:]
			if err := g.decrypt(to, m, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// corrupt delivers damaged forms of m to member to (each must be rejected),
// then the intact message must still decrypt.
func (g *group) corrupt(to int, m gmsg) error {
	ct, _ := hex.DecodeString(m.ct)
	var forms [][]byte
	for _, pos := range []int{1, len(ct) / 2, len(ct) - 65, len(ct) - 40, len(ct) - 1} {
		b := bytes.Clone(ct)
		b[pos] ^= 1 << g.r.rng.IntN(8)
		forms = append(forms, b)
	}
	forms = append(forms, ct[:len(ct)-1], ct[:64], append(bytes.Clone(ct), 0), nil)
	for _, v := range []byte{0x23, 0x43, 0x13} {
		b := bytes.Clone(ct)
		b[0] = v
		forms = append(forms, b)
	}
	for _, b := range forms {
		if len(b) == 0 {
			b = []byte{0x33}
		}
		if err := g.decrypt(to, gmsg{from: m.from, seq: m.seq, chain: m.chain, ct: hex.EncodeToString(b)}, "any"); err != nil {
			return err
		}
	}
	return g.decrypt(to, m, "")
}

func newGroup(r *run, format string, members ...*party) *group {
	n := len(members)
	g := &group{r: r, format: format, members: members, queue: make([][]gmsg, n), delivered: make([][]gmsg, n),
		knows: make([][]bool, n), seq: make([]int, n), chain: make([]int64, n)}
	for i := range g.knows {
		g.knows[i] = make([]bool, n)
	}
	u := r.rng.Uint64()
	g.dist = fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(u>>32), uint16(u>>16), u&0xfff, (u>>12)&0xfff, r.rng.Uint64()&0xffffffffffff)
	return g
}

// runGroup: Alice (r.a) and Bob (r.b) send in the group, Carol (r.b) joins
// late; see the file comment.
func runGroup(r *run, format string) error {
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
	g := newGroup(r, format, alice, bob, carol)
	const A, B, C = 0, 1, 2

	// No sender key yet: encrypting and decrypting fail with no_sender_key.
	rep, err := alice.peer.Call("group_encrypt", g.params(map[string]any{"plaintext_text": "x"}))
	if err != nil {
		return err
	}
	r.check(!rep.OK() && rep.Name() == "no_sender_key", "%s group_encrypt without a key: %v", r.a.Name, rep)

	skA, err := g.create(A, false)
	if err != nil {
		return err
	}
	early, err := g.send(A) // nobody knows Alice's key yet
	if err != nil {
		return err
	}
	if err := g.decrypt(B, early, "no_sender_key"); err != nil {
		return err
	}
	if err := g.process(B, A, skA); err != nil {
		return err
	}
	skB, err := g.create(B, false)
	if err != nil {
		return err
	}
	if err := g.process(A, B, skB); err != nil {
		return err
	}
	if err := g.decrypt(B, early, ""); err != nil { // now it decrypts
		return err
	}

	n := r.n
	var firstA gmsg
	for i := 0; i < n; i++ {
		switch i {
		case n / 3:
			// Carol joins: Alice's SKDM now names her next iteration,
			// Bob's current one too.
			if err := g.drainTo(C); err != nil {
				return err
			}
			for _, from := range []int{A, B} {
				sk, err := g.create(from, false)
				if err != nil {
					return err
				}
				if err := g.process(C, from, sk); err != nil {
					return err
				}
			}
			if firstA.ct != "" {
				if err := g.decrypt(C, firstA, "duplicate_message"); err != nil {
					return err
				}
			}
		case 2 * n / 3:
			// Alice resets her key.
			old := g.chain[A]
			sk, err := g.create(A, true)
			if err != nil {
				return err
			}
			r.check(g.chain[A] != old, "%s reset: same chain id %d", r.a.Name, old)
			for to := range g.knows {
				g.knows[to][A] = false
			}
			m, err := g.send(A)
			if err != nil {
				return err
			}
			if err := g.decrypt(B, m, "no_sender_key"); err != nil {
				return err
			}
			for _, to := range []int{B, C} {
				if err := g.process(to, A, sk); err != nil {
					return err
				}
				g.queue[to] = append(g.queue[to], m)
			}
		case n / 2:
			// Damaged messages change nothing.
			m, err := g.send(B)
			if err != nil {
				return err
			}
			for _, to := range []int{A, C} {
				g.queue[to] = slices.DeleteFunc(g.queue[to], func(q gmsg) bool { return q.from == B && q.seq == m.seq })
			}
			if err := g.corrupt(A, m); err != nil {
				return err
			}
			if err := g.decrypt(C, m, ""); err != nil {
				return err
			}
		}
		if g.r.rng.Float64() < 0.45 {
			from := []int{A, A, B}[g.r.rng.IntN(3)]
			m, err := g.send(from)
			if err != nil {
				return err
			}
			if from == A && m.seq == 1 {
				firstA = m
			}
		} else if err := g.step(); err != nil {
			return err
		}
	}
	if err := g.drain(); err != nil {
		return err
	}
	// Everything delivered once more: all duplicates now.
	for to := range g.delivered {
		for _, m := range g.delivered[to][max(0, len(g.delivered[to])-5):] {
			if err := g.decrypt(to, m, "duplicate_message"); err != nil {
				return err
			}
		}
	}
	return nil
}

// drainTo delivers everything in flight to member to.
func (g *group) drainTo(to int) error {
	for len(g.queue[to]) > 0 {
		m := g.queue[to][0]
		g.queue[to] = g.queue[to][1:]
		if err := g.decrypt(to, m, ""); err != nil {
			return err
		}
	}
	return nil
}

// moveRecord exports p's record of sender's key from its process and
// imports it into a new process of spec with p's name; the record must
// re-export unchanged there.
func (g *group) moveRecord(i int, sender int, spec *PeerSpec) error {
	p := g.members[i]
	params := g.params(map[string]any{"sender": g.members[sender].name, "sender_device": 1})
	exp, err := p.peer.MustOK("sender_key_export", params)
	if err != nil {
		return err
	}
	rec := exp.Str("record")
	if rec == "" {
		return fmt.Errorf("%s sender_key_export: no record", p.peer.Spec.Name)
	}
	np, err := g.r.newParty(spec, p.name, "all", map[string]any{"identity_priv": p.idPriv, "registration_id": p.regID})
	if err != nil {
		return err
	}
	params["record"] = rec
	if _, err := np.peer.MustOK("sender_key_import", params); err != nil {
		return err
	}
	delete(params, "record")
	again, err := np.peer.MustOK("sender_key_export", params)
	if err != nil {
		return err
	}
	g.r.check(again.Str("record") == rec, "%s re-exports an imported sender key record differently", spec.Name)
	if err := p.peer.Close(); err != nil {
		return err
	}
	g.members[i] = np
	return nil
}

// runGroupRecord: Alice sends to Bob, both on r.a; with messages in flight
// (some skipped keys stored at Bob) both records move to r.b processes.
func runGroupRecord(r *run) error {
	alice, err := r.newParty(r.a, aliceName, "all", nil)
	if err != nil {
		return err
	}
	bob, err := r.newParty(r.a, bobName, "all", nil)
	if err != nil {
		return err
	}
	g := newGroup(r, "libsignal", alice, bob)
	const A, B = 0, 1
	sk, err := g.create(A, false)
	if err != nil {
		return err
	}
	if err := g.process(B, A, sk); err != nil {
		return err
	}
	n := max(r.n/5, 20)
	for i := 0; i < n; i++ {
		if _, err := g.send(A); err != nil {
			return err
		}
		if i%2 == 1 {
			if err := g.step(); err != nil {
				return err
			}
		}
	}
	// Move both records while messages are in flight.
	if err := g.moveRecord(A, A, r.b); err != nil {
		return err
	}
	if err := g.moveRecord(B, A, r.b); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if _, err := g.send(A); err != nil {
			return err
		}
		if err := g.step(); err != nil {
			return err
		}
	}
	if err := g.drain(); err != nil {
		return err
	}
	for _, m := range g.delivered[B][:min(5, len(g.delivered[B]))] {
		if err := g.decrypt(B, m, "duplicate_message"); err != nil {
			return err
		}
	}
	// The new SKDM names the moved key's next iteration.
	_, err = g.create(A, false)
	return err
}
