package session_test

// A differential test of MemoryStore's decoded records: the same random
// conversation runs once over MemoryStore with its Atomic (records kept
// decoded, lent to transactions, pooled) and once over bytesStore, a
// reference SessionStore that keeps each record's encoding and nothing
// else. Keys differ between the runs (the public API draws them itself),
// so the runs are compared on what does not depend on key values: the
// outcome and error class of every operation, plaintexts, message types and
// lengths, and the public facts of every record (Record.Info) after every
// step. Within the decoded run, every step also checks that the stored
// records re-encode to themselves, that no record changed but the one the
// operation was for (and that one only if the operation succeeded), that
// records loaded earlier were not changed behind their holders' backs, and
// that a transaction's writes are invisible until it commits.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/session"
)

// bytesStore is a SessionStore that keeps records encoded: the behaviour
// MemoryStore had before it kept them decoded.
type bytesStore struct {
	mu sync.Mutex
	m  map[session.Address][]byte
}

func newBytesStore() *bytesStore { return &bytesStore{m: make(map[session.Address][]byte)} }

func (s *bytesStore) LoadSession(_ context.Context, addr session.Address) (*session.Record, error) {
	s.mu.Lock()
	b, ok := s.m[addr]
	s.mu.Unlock()
	if !ok {
		return nil, nil
	}
	return session.ParseRecord(b)
}

func (s *bytesStore) StoreSession(_ context.Context, addr session.Address, r *session.Record) error {
	b, err := r.MarshalBinary()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.m[addr] = b
	s.mu.Unlock()
	return nil
}

func (s *bytesStore) delete(addr session.Address) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[addr]
	delete(s.m, addr)
	return ok
}

// errHandler is what a Receive handler that refuses a message returns.
var errHandler = errors.New("test: handler refused the message")

// errorClasses are the sentinels an outcome is classified by.
var errorClasses = []struct {
	name string
	err  error
}{
	{"Decryption", session.ErrDecryption},
	{"Duplicate", session.ErrDuplicateMessage},
	{"TooFar", session.ErrTooFarInFuture},
	{"ModeMismatch", session.ErrModeMismatch},
	{"TooShort", session.ErrMessageTooShort},
	{"Version", session.ErrInvalidVersion},
	{"Malformed", session.ErrMalformedMessage},
	{"ChainExhausted", session.ErrChainExhausted},
	{"InvalidState", session.ErrInvalidState},
	{"NoSession", session.ErrNoSession},
	{"Untrusted", session.ErrUntrustedIdentity},
	{"X3DHDisabled", session.ErrX3DHDisabled},
	{"PreKeyID", session.ErrInvalidPreKeyID},
	{"ReusedBaseKey", session.ErrReusedBaseKey},
	{"InvalidRecord", session.ErrInvalidRecord},
	{"CorruptState", session.ErrCorruptState},
	{"KeyAgreement", session.ErrKeyAgreement},
	{"UnknownType", session.ErrUnknownMessageType},
	{"Handler", errHandler},
}

// errorClass names the sentinels err matches ("ok" for nil). An error that
// matches none is spelled out, so that it shows as a difference unless
// both runs hit it.
func errorClass(err error) string {
	if err == nil {
		return "ok"
	}
	var names []string
	for _, c := range errorClasses {
		if errors.Is(err, c.err) {
			names = append(names, c.name)
		}
	}
	if names == nil {
		return "other(" + err.Error() + ")"
	}
	return strings.Join(names, "+")
}

// diffPair is a conversation of the differential test: two parties, the
// bundle kind a new session between them uses.
type diffPair struct {
	a, b int
	kind bundleKind
}

// diffPairs: SPQR sessions (alice–bob, bob–dave; alice–carol when alice
// starts it, carol following her), classical version 3 (carol–dave), and
// a classical PQXDH start that the SPQR-requiring alice refuses (when
// carol starts alice–carol).
var diffPairs = []diffPair{
	{0, 1, pqxdh},
	{0, 2, pqxdhNoOPK},
	{2, 3, x3dh},
	{1, 3, pqxdh},
}

// diffParty is one party of a run and the session store its Manager uses.
type diffParty struct {
	*party
	sessions session.SessionStore
	ref      *bytesStore // the reference run's store; nil in the decoded run
}

func (p *diffParty) deleteSession(addr session.Address) bool {
	if p.ref != nil {
		return p.ref.delete(addr)
	}
	return p.store.DeleteSession(addr)
}

// heldRecord is a record loaded outside a transaction and its encoding
// then: nothing the store does later may change it.
type heldRecord struct {
	what string
	rec  *session.Record
	b    []byte
}

// diffRun is one run of the differential test.
type diffRun struct {
	t       *testing.T
	decoded bool
	rng     *rand.Rand
	parties []*diffParty
	// queue holds the messages in flight from party i to party j.
	queue map[[2]int][]session.Ciphertext
	log   []string
	// shadow holds, in the decoded run, every stored record's encoding
	// after the previous step (nil: none).
	shadow map[[2]int][]byte
	held   []heldRecord
}

// newDiffRun sets up the parties and one session per pair.
func newDiffRun(t *testing.T, seed uint64, decoded bool) *diffRun {
	r := &diffRun{
		t: t, decoded: decoded, rng: rand.New(rand.NewPCG(seed, 0x5e55)),
		queue: make(map[[2]int][]session.Ciphertext), shadow: make(map[[2]int][]byte),
	}
	opts := [][]session.Option{
		{}, // alice: SPQR required, no X3DH
		{}, // bob
		{session.WithSPQR(false), session.WithX3DH(true)}, // carol: a classical client
		{session.WithX3DH(true)},                          // dave
	}
	for i, name := range []string{"alice", "bob", "carol", "dave"} {
		p := newParty(t, name, uint32(i+1), withAtomic(decoded), withOptions(opts[i]...))
		dp := &diffParty{party: p, sessions: p.store}
		if !decoded {
			dp.ref = newBytesStore()
			dp.sessions = dp.ref
			st := p.store.Stores()
			st.Sessions, st.Atomic = dp.ref, nil
			m, err := session.New(st, opts[i]...)
			require.NoError(t, err)
			p.m = m
		}
		r.parties = append(r.parties, dp)
	}
	// Each session is used once before the next bundle replaces the
	// responder's pre-keys (the bundles reuse their ids).
	for _, pr := range diffPairs {
		a, b := r.parties[pr.a], r.parties[pr.b]
		a.startSession(t, b.party, pr.kind)
		roundTrips(t, a.party, b.party, 1)
	}
	r.snapshot()
	return r
}

func (r *diffRun) logf(format string, args ...any) {
	r.log = append(r.log, fmt.Sprintf(format, args...))
}

// peers returns the parties i has a conversation with.
func peers(i int) []int {
	var out []int
	for _, pr := range diffPairs {
		switch i {
		case pr.a:
			out = append(out, pr.b)
		case pr.b:
			out = append(out, pr.a)
		}
	}
	return out
}

// recordBytes returns the encoding of the record party i stores for party
// j, or nil.
func (r *diffRun) recordBytes(i, j int) []byte {
	return loadRecordBytes(r.t, r.parties[i].sessions, r.parties[j].addr)
}

// facts logs the public facts of every stored record (all) or of those
// of the conversation between parties i and j.
func (r *diffRun) facts(all bool, i, j int) {
	for a, p := range r.parties {
		for _, b := range peers(a) {
			if !all && !(a == i && b == j) && !(a == j && b == i) {
				continue
			}
			q := r.parties[b]
			rec := loadRecord(r.t, p.sessions, q.addr)
			if rec == nil {
				r.logf("  %s/%s: none", p.addr.Name, q.addr.Name)
				continue
			}
			info, ok := rec.Info()
			r.logf("  %s/%s: current=%t archived=%d v=%d regs=%d,%d sender=%t spqr=%t pending=%t ids=%t,%t",
				p.addr.Name, q.addr.Name, ok, rec.ArchivedStates(), info.Version,
				info.LocalRegistrationID, info.RemoteRegistrationID, info.HasSenderChain, info.SPQR, info.PendingPreKey,
				!ok || info.LocalIdentity == p.id.PublicKey(), !ok || info.RemoteIdentity == q.id.PublicKey())
		}
	}
}

// snapshot records every stored record's encoding in r.shadow (decoded
// run), checking that each re-encodes to itself.
func (r *diffRun) snapshot() {
	if !r.decoded {
		return
	}
	for i := range r.parties {
		for _, j := range peers(i) {
			b := r.recordBytes(i, j)
			if b != nil {
				rec, err := session.ParseRecord(b)
				require.NoError(r.t, err, "%s/%s parses", r.parties[i].addr.Name, r.parties[j].addr.Name)
				again, err := rec.MarshalBinary()
				require.NoError(r.t, err)
				require.Equal(r.t, b, again, "%s/%s re-encodes to itself", r.parties[i].addr.Name, r.parties[j].addr.Name)
			}
			r.shadow[[2]int{i, j}] = b
		}
	}
}

// checkStep checks, in the decoded run, that after an operation on the
// record party i keeps for party j (i < 0: none) no other record changed,
// and that record only if the operation succeeded (changed). Then it takes
// the next snapshot and checks the held records.
func (r *diffRun) checkStep(step, i, j int, changed bool) {
	if !r.decoded {
		return
	}
	for a := range r.parties {
		for _, b := range peers(a) {
			if a == i && b == j && changed {
				continue
			}
			requireSameBytes(r.t, r.shadow[[2]int{a, b}], r.recordBytes(a, b),
				"step %d: record %s/%s unchanged", step, r.parties[a].addr.Name, r.parties[b].addr.Name)
		}
	}
	r.snapshot()
	for _, h := range r.held {
		b, err := h.rec.MarshalBinary()
		require.NoError(r.t, err)
		requireSameBytes(r.t, h.b, b, "step %d: record held since %s unchanged", step, h.what)
	}
}

// requireSameBytes is require.Equal for record encodings, without a hex
// dump of kilobytes of key material.
func requireSameBytes(t testing.TB, want, got []byte, msgAndArgs ...any) {
	t.Helper()
	if !bytes.Equal(want, got) {
		require.Fail(t, fmt.Sprintf("record encodings differ (want %d bytes, nil=%t; got %d bytes, nil=%t)",
			len(want), want == nil, len(got), got == nil), msgAndArgs...)
	}
}

// hold keeps rec (loaded outside a transaction) to check later that it
// never changes.
func (r *diffRun) hold(what string, rec *session.Record) {
	if rec == nil {
		return
	}
	b, err := rec.MarshalBinary()
	require.NoError(r.t, err)
	h := heldRecord{what, rec, b}
	if len(r.held) < 12 {
		r.held = append(r.held, h)
	} else {
		r.held[r.rng.IntN(len(r.held))] = h
	}
}

// step runs one random operation and logs its outcome and the facts.
func (r *diffRun) step(n int) {
	ctx := context.Background()
	t := r.t
	pr := diffPairs[r.rng.IntN(len(diffPairs))]
	from, to := pr.a, pr.b
	if r.rng.IntN(2) == 0 {
		from, to = to, from
	}
	p, q := r.parties[from], r.parties[to]
	switch x := r.rng.IntN(100); {
	case x < 35: // Encrypt 1 to 3 messages
		for range 1 + r.rng.IntN(3) {
			msg := fmt.Sprintf("%d:%s>%s:%x", n, p.addr.Name, q.addr.Name, r.rng.Uint32())
			ct, err := p.m.Encrypt(ctx, q.addr, []byte(msg))
			r.logf("%d encrypt %s>%s: %s type=%d len=%d", n, p.addr.Name, q.addr.Name, errorClass(err), ct.Type, len(ct.Bytes))
			if err == nil {
				k := [2]int{from, to}
				r.queue[k] = append(r.queue[k], ct)
			}
			r.checkStep(n, from, to, err == nil)
		}
	case x < 75: // deliver a message, maybe out of order, again or corrupted
		var ks [][2]int
		for _, pr := range diffPairs {
			for _, k := range [][2]int{{pr.a, pr.b}, {pr.b, pr.a}} {
				if len(r.queue[k]) > 0 {
					ks = append(ks, k)
				}
			}
		}
		if len(ks) == 0 {
			r.logf("%d deliver: nothing", n)
			return
		}
		k := ks[r.rng.IntN(len(ks))]
		from, to = k[0], k[1]
		p, q = r.parties[from], r.parties[to]
		qu := r.queue[k]
		i := r.rng.IntN(len(qu))
		ct := qu[i]
		if r.rng.IntN(5) != 0 { // else a copy stays in flight: a duplicate later
			r.queue[k] = append(qu[:i:i], qu[i+1:]...)
		}
		what := "intact"
		if r.rng.IntN(8) == 0 {
			b := append([]byte(nil), ct.Bytes...)
			pos, bit := r.rng.IntN(len(b)), r.rng.IntN(8)
			b[pos] ^= 1 << bit
			ct = session.Ciphertext{Type: ct.Type, Bytes: b}
			what = fmt.Sprintf("corrupt@%d.%d", pos, bit)
		}
		var (
			pt  []byte
			err error
		)
		mode := "decrypt"
		if r.rng.IntN(2) == 0 {
			pt, err = q.m.Decrypt(ctx, p.addr, ct)
		} else {
			refuse := r.rng.IntN(3) == 0
			mode = fmt.Sprintf("receive(refuse=%t)", refuse)
			err = q.m.Receive(ctx, p.addr, ct, func(hctx context.Context, plaintext []byte) error {
				pt = append([]byte(nil), plaintext...)
				// The transaction's writes are not visible before it
				// commits (without Atomic, nothing is written yet).
				if r.decoded {
					requireSameBytes(t, r.shadow[[2]int{to, from}], r.recordBytes(to, from), "step %d: uncommitted write visible", n)
				}
				if refuse {
					return errHandler
				}
				return nil
			})
		}
		r.logf("%d %s %s>%s %s type=%d: %s pt=%q", n, mode, p.addr.Name, q.addr.Name, what, ct.Type, errorClass(err), pt)
		r.checkStep(n, to, from, err == nil)
	case x < 79: // a message is lost
		k := [2]int{from, to}
		if qu := r.queue[k]; len(qu) > 0 {
			i := r.rng.IntN(len(qu))
			r.queue[k] = append(qu[:i:i], qu[i+1:]...)
			r.logf("%d lose %s>%s #%d", n, p.addr.Name, q.addr.Name, i)
		}
	case x < 84: // a new session: the current state is archived
		err := p.m.ProcessBundle(ctx, q.addr, q.bundle(t, pr.kind))
		r.logf("%d bundle %s>%s: %s", n, p.addr.Name, q.addr.Name, errorClass(err))
		r.checkStep(n, from, to, err == nil)
	case x < 86: // the session is deleted
		ok := p.deleteSession(q.addr)
		r.logf("%d delete %s/%s: %t", n, p.addr.Name, q.addr.Name, ok)
		r.checkStep(n, from, to, true)
	case x < 88: // the current state is dropped, leaving the archived ones
		b := r.recordBytes(from, to)
		var out []byte
		for _, f := range parseProtoFields(t, b) {
			if f.num != 1 {
				out = f.appendTo(out)
			}
		}
		if b != nil {
			storeRecordBytes(t, p.sessions, q.addr, out)
		}
		r.logf("%d demote %s/%s: %t", n, p.addr.Name, q.addr.Name, b != nil)
		r.checkStep(n, from, to, true)
	case x < 94: // load outside a transaction, maybe store back
		rec := loadRecord(t, p.sessions, q.addr)
		back := r.rng.IntN(2) == 0
		if back && rec != nil {
			require.NoError(t, p.sessions.StoreSession(ctx, q.addr, rec))
		}
		r.logf("%d load %s/%s back=%t: %t", n, p.addr.Name, q.addr.Name, back, rec != nil)
		r.hold(fmt.Sprintf("step %d", n), rec)
		r.checkStep(n, -1, -1, false)
	default: // a transaction of the test's own that stores the record back unchanged, or fails
		twice, second, fail := r.rng.IntN(2) == 0, r.rng.IntN(2) == 0, r.rng.IntN(2) == 0
		r.logf("%d tx %s/%s twice=%t second=%t fail=%t", n, p.addr.Name, q.addr.Name, twice, second, fail)
		if r.decoded {
			r.ownTx(n, p, q, twice, second, fail)
		}
	}
	// Every record is compared byte for byte within the decoded run
	// (checkStep); the facts of the conversation at hand are compared
	// across the runs after every step, all of them every 25 steps.
	r.facts(n%25 == 0, from, to)
}

// ownTx runs, in the decoded run, a transaction that loads the record p
// keeps for q (twice: two copies), stores one back unchanged and commits
// or fails: either way no record changes.
func (r *diffRun) ownTx(n int, p, q *diffParty, twice, second, fail bool) {
	t := r.t
	ctx := context.Background()
	{
		errFail := errors.New("test: fn fails")
		err := p.store.Atomic(ctx, q.addr, func(ctx context.Context, tx session.Stores) error {
			r1, err := tx.Sessions.LoadSession(ctx, q.addr)
			require.NoError(t, err)
			if r1 == nil {
				return nil
			}
			rec := r1
			if twice {
				r2, err := tx.Sessions.LoadSession(ctx, q.addr)
				require.NoError(t, err)
				require.NotSame(t, r1, r2, "two loads in one transaction")
				if second {
					rec = r2
				}
			}
			require.NoError(t, tx.Sessions.StoreSession(ctx, q.addr, rec))
			if fail {
				return errFail
			}
			return nil
		})
		if fail && err != nil {
			require.ErrorIs(t, err, errFail)
		} else {
			require.NoError(t, err)
		}
		r.checkStep(n, -1, -1, false)
	}
}

// finish delivers what is in flight in order, then has every pair talk
// once more (starting a new session where the old one cannot recover), so
// that both runs end on working sessions.
func (r *diffRun) finish() {
	ctx := context.Background()
	for k := range 2 * len(diffPairs) {
		pr := diffPairs[k/2]
		from, to := pr.a, pr.b
		if k%2 == 1 {
			from, to = to, from
		}
		p, q := r.parties[from], r.parties[to]
		for _, ct := range r.queue[[2]int{from, to}] {
			pt, err := q.m.Decrypt(ctx, p.addr, ct)
			r.logf("drain %s>%s: %s pt=%q", p.addr.Name, q.addr.Name, errorClass(err), pt)
			r.checkStep(-1, to, from, err == nil)
		}
	}
	for _, pr := range diffPairs {
		// The SPQR-requiring alice starts alice–carol: carol follows.
		a, b := r.parties[pr.a], r.parties[pr.b]
		require.NoError(r.t, a.m.ProcessBundle(ctx, b.addr, b.bundle(r.t, pr.kind)))
		roundTrips(r.t, a.party, b.party, 2)
	}
	r.facts(true, -1, -1)
	r.snapshot()
}

// runDiff runs the conversation of seed for steps steps and returns its
// log.
func runDiff(t *testing.T, seed uint64, steps int, decoded bool) []string {
	r := newDiffRun(t, seed, decoded)
	r.facts(true, -1, -1)
	for n := range steps {
		r.step(n)
	}
	r.finish()
	return r.log
}

func TestMemoryStoreDecodedDifferential(t *testing.T) {
	steps := 400
	if raceEnabled || testing.Short() {
		// The race detector slows this single-goroutine test tenfold
		// and finds nothing in it; the concurrency test is its job.
		steps = 250
	}
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			want := runDiff(t, seed, steps, false)
			got := runDiff(t, seed, steps, true)
			for i := range min(len(want), len(got)) {
				if want[i] != got[i] {
					lo := max(0, i-8)
					t.Fatalf("runs differ at line %d:\nreference: %s\ndecoded:   %s\ncontext (reference):\n%s",
						i, want[i], got[i], strings.Join(want[lo:i], "\n"))
				}
			}
			require.Equal(t, len(want), len(got), "log lengths")
			// The conversation did what it is meant to exercise.
			joined := strings.Join(want, "\n")
			for _, s := range []string{
				"encrypt", ": ok pt=", "refuse=true", "Handler", "Duplicate", "Decryption", "corrupt@",
				"bundle", "delete", "demote", "archived=3", "spqr=true", "v=3", "NoSession", "tx ",
			} {
				require.Contains(t, joined, s, "the conversation has %q", s)
			}
		})
	}
}
