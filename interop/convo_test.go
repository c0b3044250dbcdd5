package interop

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Stats is one row of the result table.
type Stats struct {
	Scenario string
	Pairing  string
	Sent     int // messages encrypted (or checks made, for non-message scenarios)
	OK       int // messages decrypted to the expected plaintext (or checks passed)
	Lost     int // messages dropped on purpose
	Dups     int // replays rejected with duplicate_message, as required
	Known    int // rejections explained by a documented KnownIssue of the receiver
	Failures int // anything unexpected
	Skipped  string
	Notes    []string
	details  []string
}

func (s *Stats) fail(format string, args ...any) {
	s.Failures++
	if len(s.details) < 25 {
		s.details = append(s.details, fmt.Sprintf(format, args...))
	}
}

func (s *Stats) note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	for _, old := range s.Notes {
		if old == n {
			return
		}
	}
	s.Notes = append(s.Notes, n)
}

// party is one side of a conversation.
type party struct {
	peer      *Peer
	name      string // own address name ("alice", "bob")
	device    int
	initiator bool // processed the other's bundle
	canSend   bool // has a session
	gotReply  bool // has decrypted something from the other side
	regID     int64
	identity  string // hex identity key
	idPriv    string // hex identity private key
	trust     string
}

// message is one ciphertext in flight.
type message struct {
	seq   int
	from  int
	ct    []byte
	typ   int64
	plain []byte
	skips int
}

// Convo drives a two-party conversation on a seeded random schedule and
// checks every outcome against the expected plaintexts.
type Convo struct {
	rng      *rand.Rand
	p        [2]*party
	version  int64 // expected message version (3 X3DH, 4 PQXDH)
	inflight [2][]*message
	recent   [2][]*message // last successfully delivered, per sender
	st       *Stats
	seq      int

	// SPQR: the sessions run the triple ratchet, so every SignalMessage must
	// carry an SPQR v1 message (pq_ratchet, field 5); without it none may.
	// PreKey messages of SPQR sessions between service-id names must also
	// carry the addresses (field 6) of sender and receiver. Checked on every
	// encryption (checkWire).
	SPQR bool
	// MaxEpoch is the highest SPQR epoch seen in a sent message's header.
	MaxEpoch uint64

	// Schedule parameters.
	Window   int     // reordering window (deliver any of the first Window in flight)
	MaxSkips int     // a message passed over this often is delivered next
	Loss     float64 // probability that a delivery is a drop instead
	Dup      float64 // probability that a delivery is followed by a replay
	Burst    float64 // probability of a simultaneous-send burst
	// SendRate is the probability that a step sends (bursts included) rather
	// than delivers. With the default 0.5, bursts make sends outnumber
	// deliveries, so the messages in flight pile up and every reply comes
	// late (long-latency traffic); below about 0.4 deliveries keep up.
	SendRate float64
	// MaxInFlight bounds the pile-up: when this many messages are in flight,
	// steps only deliver until a quarter of them is left (0 = unbounded).
	// Without it, replies come ever later and a long conversation has few
	// DH ratchet steps and SPQR epochs.
	MaxInFlight int
	catchUp     bool
}

// NewConvo returns a conversation between alice (p[0]) and bob (p[1]).
func NewConvo(rng *rand.Rand, alice, bob *party, version int64, st *Stats) *Convo {
	return &Convo{
		rng: rng, p: [2]*party{alice, bob}, version: version, st: st,
		Window: 5, MaxSkips: 3, Loss: 0.05, Dup: 0.05, Burst: 0.08, SendRate: 0.5, MaxInFlight: 40,
	}
}

func (c *Convo) plaintext(from int) []byte {
	c.seq++
	dir := "alice→bob"
	if from == 1 {
		dir = "bob→alice"
	}
	switch x := c.rng.IntN(100); {
	case x < 3:
		return []byte{}
	case x < 70:
		words := []string{"ratchet", "chain", "root", "kdf", "signal", "hello", "🔐", "é", "key", "skip"}
		var b strings.Builder
		fmt.Fprintf(&b, "%s #%d:", dir, c.seq)
		for range c.rng.IntN(12) {
			b.WriteString(" " + words[c.rng.IntN(len(words))])
		}
		return []byte(b.String())
	case x < 95:
		b := make([]byte, c.rng.IntN(300))
		for i := range b {
			b[i] = byte(c.rng.UintN(256))
		}
		return b
	default:
		b := make([]byte, 1000+c.rng.IntN(6000))
		for i := range b {
			b[i] = byte(c.rng.UintN(256))
		}
		return b
	}
}

// Send encrypts one message from p[from] and checks type and version.
func (c *Convo) Send(from int) error {
	s, o := c.p[from], c.p[1-from]
	pt := c.plaintext(from)
	r, err := s.peer.Call("encrypt", map[string]any{"peer": o.name, "peer_device": o.device, "plaintext": hex.EncodeToString(pt)})
	if err != nil {
		return err
	}
	c.st.Sent++
	if !r.OK() {
		c.st.fail("%s encrypt #%d: %s (%s)", s.peer.Spec.Name, c.seq, r.Err(), r.Name())
		return nil
	}
	ct, err := r.Bytes("ciphertext")
	if err != nil || len(ct) == 0 {
		c.st.fail("%s encrypt #%d: bad ciphertext field", s.peer.Spec.Name, c.seq)
		return nil
	}
	wantType := int64(2)
	if s.initiator && !s.gotReply {
		wantType = 3 // PreKey messages until the peer has answered
	}
	if got := r.Int("type"); got != wantType {
		c.st.fail("%s encrypt #%d: type %d, want %d", s.peer.Spec.Name, c.seq, got, wantType)
	}
	if got := r.Int("version"); got != c.version {
		c.st.fail("%s encrypt #%d: version %d, want %d", s.peer.Spec.Name, c.seq, got, c.version)
	}
	if got := int64(ct[0] >> 4); got != c.version {
		c.st.fail("%s encrypt #%d: first byte %#02x, want version %d", s.peer.Spec.Name, c.seq, ct[0], c.version)
	}
	if err := c.checkWire(s, o, ct, r.Int("type")); err != nil {
		c.st.fail("%s encrypt #%d (type %d): %v", s.peer.Spec.Name, c.seq, r.Int("type"), err)
	}
	c.inflight[from] = append(c.inflight[from], &message{seq: c.seq, from: from, ct: ct, typ: r.Int("type"), plain: pt})
	return nil
}

// decrypt asks p[to] to decrypt m, randomly with or without the type hint.
func (c *Convo) decrypt(m *message) (Reply, error) {
	rcv, snd := c.p[1-m.from], c.p[m.from]
	params := map[string]any{"peer": snd.name, "peer_device": snd.device, "ciphertext": hex.EncodeToString(m.ct)}
	if c.rng.IntN(2) == 0 {
		params["type"] = m.typ
	}
	return rcv.peer.Call("decrypt", params)
}

func (c *Convo) knownIssue(receiver *party, m *message) *KnownIssue {
	for i := range receiver.peer.Spec.KnownIssues {
		if k := &receiver.peer.Spec.KnownIssues[i]; k.Applies(m.ct) {
			return k
		}
	}
	return nil
}

// Deliver hands the in-flight message at index i of direction from to its
// receiver and checks the outcome.
func (c *Convo) Deliver(from, i int) error {
	q := c.inflight[from]
	m := q[i]
	for _, earlier := range q[:i] {
		earlier.skips++
	}
	c.inflight[from] = append(q[:i:i], q[i+1:]...)
	rcv := c.p[1-from]
	r, err := c.decrypt(m)
	if err != nil {
		return err
	}
	if k := c.knownIssue(rcv, m); k != nil {
		if !r.OK() && r.Name() == k.Want {
			c.st.Known++
			c.st.note("%s", k.ID)
		} else {
			c.st.fail("%s decrypt #%d from %s: known issue %s did not reproduce: %v", rcv.peer.Spec.Name, m.seq, c.p[from].peer.Spec.Name, k.ID, r)
		}
		return nil
	}
	if !r.OK() {
		c.st.fail("%s decrypt #%d (type %d) from %s: %s (%s)", rcv.peer.Spec.Name, m.seq, m.typ, c.p[from].peer.Spec.Name, r.Err(), r.Name())
		return nil
	}
	got, err := r.Bytes("plaintext")
	if err != nil || !bytes.Equal(got, m.plain) {
		c.st.fail("%s decrypt #%d: wrong plaintext", rcv.peer.Spec.Name, m.seq)
		return nil
	}
	if v := r.Int("version"); v != c.version {
		c.st.fail("%s decrypt #%d: version %d, want %d", rcv.peer.Spec.Name, m.seq, v, c.version)
	}
	c.st.OK++
	rcv.canSend = true
	rcv.gotReply = true
	c.recent[from] = append(c.recent[from], m)
	if len(c.recent[from]) > 2 {
		c.recent[from] = c.recent[from][1:]
	}
	return nil
}

// Replay redelivers a recently delivered message, which must be rejected as
// a duplicate, leaving the session working.
func (c *Convo) Replay(from int) error {
	if len(c.recent[from]) == 0 {
		return nil
	}
	m := c.recent[from][c.rng.IntN(len(c.recent[from]))]
	rcv := c.p[1-from]
	r, err := c.decrypt(m)
	if err != nil {
		return err
	}
	if r.OK() || r.Name() != "duplicate_message" {
		c.st.fail("%s replay of #%d from %s: got %v, want duplicate_message", rcv.peer.Spec.Name, m.seq, c.p[from].peer.Spec.Name, r)
		return nil
	}
	c.st.Dups++
	return nil
}

// pick chooses which in-flight message of direction from to deliver next.
func (c *Convo) pick(from int) int {
	q := c.inflight[from]
	if q[0].skips >= c.MaxSkips {
		return 0
	}
	return c.rng.IntN(min(c.Window, len(q)))
}

func (c *Convo) deliverOne(from int) error {
	i := c.pick(from)
	if c.rng.Float64() < c.Loss {
		q := c.inflight[from]
		for _, earlier := range q[:i] {
			earlier.skips++
		}
		c.inflight[from] = append(q[:i:i], q[i+1:]...)
		c.st.Lost++
		return nil
	}
	if err := c.Deliver(from, i); err != nil {
		return err
	}
	if c.rng.Float64() < c.Dup {
		return c.Replay(from)
	}
	return nil
}

// Run sends at least n messages on a random schedule (interleaving,
// reordering, loss, replays, simultaneous sends), then delivers what is left
// in flight when drain is set.
func (c *Convo) Run(n int, drain bool) error {
	target := c.st.Sent + n
	for c.st.Sent < target {
		both := c.p[0].canSend && c.p[1].canSend
		x := c.rng.Float64()
		if inFlight := len(c.inflight[0]) + len(c.inflight[1]); c.MaxInFlight > 0 {
			if inFlight >= c.MaxInFlight {
				c.catchUp = true
			} else if inFlight <= c.MaxInFlight/4 {
				c.catchUp = false
			}
			if c.catchUp {
				x = 1 // deliver
			}
		}
		var err error
		switch {
		case both && x < c.Burst:
			// Simultaneous ratchet steps: both send before either receives.
			for range 1 + c.rng.IntN(3) {
				if err = c.Send(0); err != nil {
					return err
				}
			}
			for range 1 + c.rng.IntN(3) {
				if err = c.Send(1); err != nil {
					return err
				}
			}
		case x < c.SendRate:
			from := c.rng.IntN(2)
			if !c.p[from].canSend {
				from = 1 - from
			}
			if c.p[from].canSend {
				err = c.Send(from)
			}
		default:
			from := c.rng.IntN(2)
			if len(c.inflight[from]) == 0 {
				from = 1 - from
			}
			if len(c.inflight[from]) > 0 {
				err = c.deliverOne(from)
			}
		}
		if err != nil {
			return err
		}
		if !c.p[0].canSend && !c.p[1].canSend {
			return fmt.Errorf("no party can send")
		}
	}
	if drain {
		return c.Drain()
	}
	return nil
}

// Drain delivers everything in flight (still reordered, no loss).
func (c *Convo) Drain() error {
	for len(c.inflight[0])+len(c.inflight[1]) > 0 {
		from := c.rng.IntN(2)
		if len(c.inflight[from]) == 0 {
			from = 1 - from
		}
		if err := c.Deliver(from, c.pick(from)); err != nil {
			return err
		}
	}
	return nil
}

// PingPong sends one message each way, delivered at once, as a final health
// check of the session.
func (c *Convo) PingPong() error {
	for from := range 2 {
		if !c.p[from].canSend {
			continue
		}
		if err := c.Send(from); err != nil {
			return err
		}
		if n := len(c.inflight[from]); n > 0 {
			if err := c.Deliver(from, n-1); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkWire checks the fields of the SignalMessage in ct (type 2, or the one
// inside a type-3 PreKeySignalMessage) that SPQR and recent libsignal add:
// pq_ratchet (field 5) is present and starts with SPQR version byte 0x01
// exactly when c.SPQR; in SPQR sessions a PreKey message between service-id
// names carries addresses (field 6) = sender service id (17-byte fixed-width
// binary) || sender device (1 byte) || receiver service id || receiver device.
func (c *Convo) checkWire(s, o *party, ct []byte, typ int64) error {
	if len(ct) < 1 {
		return fmt.Errorf("empty message")
	}
	sm := ct
	if typ == 3 {
		f, err := pbFields(ct[1:])
		if err != nil {
			return fmt.Errorf("PreKeySignalMessage: %w", err)
		}
		if sm = f[4]; sm == nil {
			return fmt.Errorf("PreKeySignalMessage without message (field 4)")
		}
	}
	if len(sm) < 1+8 {
		return fmt.Errorf("SignalMessage of %d bytes", len(sm))
	}
	f, err := pbFields(sm[1 : len(sm)-8])
	if err != nil {
		return fmt.Errorf("SignalMessage: %w", err)
	}
	pq, hasPQ := f[5]
	switch {
	case c.SPQR && (!hasPQ || len(pq) == 0 || pq[0] != 0x01):
		return fmt.Errorf("SPQR session, but pq_ratchet (field 5) is %x, want an SPQR v1 message", pq)
	case !c.SPQR && hasPQ:
		return fmt.Errorf("classical session, but pq_ratchet (field 5) is present: %x", pq)
	}
	if c.SPQR {
		// spqr src/v1/chunked/states/serialize.rs: 0x01 || varint epoch || varint index || type || ...
		epoch, n := binary.Uvarint(pq[1:])
		if n <= 0 || epoch < 1 {
			return fmt.Errorf("pq_ratchet %x: bad epoch", pq)
		}
		c.MaxEpoch = max(c.MaxEpoch, epoch)
	}
	if !c.SPQR || typ != 3 {
		return nil
	}
	from, ok1 := serviceIDBinary(s.name)
	to, ok2 := serviceIDBinary(o.name)
	if !ok1 || !ok2 {
		return nil
	}
	want := append(append(append(from, byte(s.device)), to...), byte(o.device))
	if got, ok := f[6]; !ok || !bytes.Equal(got, want) {
		return fmt.Errorf("addresses (field 6) = %x (present %v), want %x", got, ok, want)
	}
	return nil
}

// serviceIDBinary returns the fixed-width binary form of a service id
// string: 0x00 || UUID for an ACI ("<uuid>"), 0x01 || UUID for a PNI
// ("PNI:<uuid>").
func serviceIDBinary(name string) ([]byte, bool) {
	kind := byte(0)
	if rest, ok := strings.CutPrefix(name, "PNI:"); ok {
		kind, name = 1, rest
	}
	if len(name) != 36 || name[8] != '-' || name[13] != '-' || name[18] != '-' || name[23] != '-' {
		return nil, false
	}
	u, err := hex.DecodeString(strings.ReplaceAll(name, "-", ""))
	if err != nil || len(u) != 16 {
		return nil, false
	}
	return append([]byte{kind}, u...), true
}

// pbFields parses a protobuf message into its fields: the payload of each
// length-delimited field (the last one when repeated), and an empty slice for
// the other wire types, so that presence can be tested.
func pbFields(b []byte) (map[int][]byte, error) {
	out := map[int][]byte{}
	uvarint := func() (uint64, error) {
		var v uint64
		for i := 0; i < 10; i++ {
			if len(b) == 0 {
				return 0, fmt.Errorf("truncated varint")
			}
			c := b[0]
			b = b[1:]
			v |= uint64(c&0x7f) << (7 * i)
			if c < 0x80 {
				return v, nil
			}
		}
		return 0, fmt.Errorf("varint too long")
	}
	for len(b) > 0 {
		key, err := uvarint()
		if err != nil {
			return nil, err
		}
		field := int(key >> 3)
		switch key & 7 {
		case 0:
			if _, err := uvarint(); err != nil {
				return nil, err
			}
			out[field] = []byte{}
		case 1, 5:
			n := 8
			if key&7 == 5 {
				n = 4
			}
			if len(b) < n {
				return nil, fmt.Errorf("truncated fixed field %d", field)
			}
			b = b[n:]
			out[field] = []byte{}
		case 2:
			n, err := uvarint()
			if err != nil {
				return nil, err
			}
			if uint64(len(b)) < n {
				return nil, fmt.Errorf("truncated field %d", field)
			}
			out[field] = b[:n:n]
			b = b[n:]
		default:
			return nil, fmt.Errorf("wire type %d", key&7)
		}
	}
	return out, nil
}
