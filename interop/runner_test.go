// Package interop pairs interop peers (PEER.md) on scenarios: Signal's
// libsignal through its npm package (node/), go.mau.fi/libsignal (maupeer/)
// and this library's cmd/signalpeer. See README.md.
//
// Environment:
//
//	INTEROP_PEERS     comma-separated peer names to use (default: all)
//	INTEROP_MESSAGES  messages per conversation scenario (default 500)
//	INTEROP_SEED      schedule seed (default 1)
//	INTEROP_TABLE     also write the result table to this file
//	INTEROP_NODE      node binary (default "node")
package interop

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

var (
	active   []*PeerSpec // prepared peers
	banners  []string    // loud messages about skipped optional peers
	resultMu sync.Mutex
	results  []*Stats
	messages = 500
	seed     = uint64(1)
)

func TestMain(m *testing.M) {
	os.Exit(mainWithTable(m))
}

func mainWithTable(m *testing.M) int {
	if v := os.Getenv("INTEROP_MESSAGES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "interop: bad INTEROP_MESSAGES %q\n", v)
			return 2
		}
		messages = n
	}
	if v := os.Getenv("INTEROP_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "interop: bad INTEROP_SEED %q\n", v)
			return 2
		}
		seed = n
	}
	tmp, err := os.MkdirTemp("", "interop-peers-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 2
	}
	defer os.RemoveAll(tmp)
	if code := preparePeers(tmp); code != 0 {
		return code
	}
	start := time.Now()
	code := m.Run()
	printTable(time.Since(start))
	return code
}

// preparePeers builds every selected peer once and probes its info.
func preparePeers(tmp string) int {
	var only []string
	if v := os.Getenv("INTEROP_PEERS"); v != "" {
		only = strings.Split(v, ",")
	}
	for _, s := range peerSpecs {
		if only != nil && !slices.Contains(only, s.Name) {
			continue
		}
		argv, dir, err := s.Prepare(tmp)
		if err == nil {
			s.argv, s.dir = argv, dir
			err = probe(s)
		}
		if err != nil {
			if s.Optional && errors.Is(err, errNotPresent) {
				why := strings.TrimSpace(err.Error())
				if lines := strings.Split(why, "\n"); len(lines) > 3 {
					why = strings.Join(lines[:3], " | ") + " | …"
				} else {
					why = strings.Join(lines, " | ")
				}
				msg := fmt.Sprintf("!!! PEER %q SKIPPED: %s — every pairing with it is missing from this run !!!", s.Name, why)
				banners = append(banners, msg)
				fmt.Fprintln(os.Stderr, "\n"+strings.Repeat("!", 100)+"\n"+msg+"\n"+strings.Repeat("!", 100))
				continue
			}
			fmt.Fprintf(os.Stderr, "interop: required peer %s cannot be prepared: %v\n", s.Name, err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "interop: peer %-10s %s %s features=%v record_format=%q\n",
			s.Name, s.Implementation, s.Version, s.Features, s.RecordFormat)
		active = append(active, s)
	}
	if len(active) == 0 {
		fmt.Fprintln(os.Stderr, "interop: no peers")
		return 1
	}
	return 0
}

// TestInterop runs every scenario for every ordered pairing of peers.
func TestInterop(t *testing.T) {
	for _, sc := range scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			for _, a := range active {
				for _, b := range active {
					if sc.Single && a != b {
						continue
					}
					st := &Stats{Scenario: sc.Name, Pairing: sc.Pairing(a, b)}
					if why := sc.Applies(a, b); why != "" {
						st.Skipped = why
						record(st)
						continue
					}
					record(st)
					t.Run(a.Name+"_"+b.Name, func(t *testing.T) {
						t.Parallel() // pairings of one scenario run side by side (go test -parallel, default GOMAXPROCS)
						h := fnv.New64a()
						fmt.Fprintf(h, "%d/%s/%s", seed, sc.Name, st.Pairing)
						r := &run{t: t, st: st, rng: mrand.New(mrand.NewPCG(seed, h.Sum64())), a: a, b: b, n: messages, spqr: useSPQR(a, b)}
						// Registered first, so it runs last: after the peers are closed.
						t.Cleanup(func() {
							for _, d := range st.details {
								t.Error(d)
							}
							assert.Zerof(t, st.Failures, "%s %s: failures", st.Scenario, st.Pairing)
						})
						if err := sc.Run(r); err != nil {
							st.fail("aborted: %v", err)
						}
					})
				}
			}
		})
	}
}

func record(st *Stats) {
	resultMu.Lock()
	defer resultMu.Unlock()
	results = append(results, st)
}

// printTable prints the result table to stdout and to $INTEROP_TABLE.
func printTable(wall time.Duration) {
	var b strings.Builder
	writeTable(&b, wall)
	if path := os.Getenv("INTEROP_TABLE"); path != "" {
		err := os.WriteFile(path, []byte(b.String()), 0o644)
		if err == nil {
			return
		}
		fmt.Fprintln(os.Stderr, "interop:", err)
	}
	fmt.Print(b.String())
}

func writeTable(w io.Writer, wall time.Duration) {
	resultMu.Lock()
	defer resultMu.Unlock()
	fmt.Fprintf(w, "\nInterop results (seed %d, %d messages per conversation scenario)\n", seed, messages)
	nameWidth := 0
	for _, s := range active {
		nameWidth = max(nameWidth, len(s.Name))
	}
	for _, s := range active {
		fmt.Fprintf(w, "  %-*s = %s %s\n", nameWidth, s.Name, s.Implementation, s.Version)
	}
	for _, msg := range banners {
		fmt.Fprintln(w, "  "+msg)
	}
	header := []string{"scenario", "pairing", "sent", "delivered", "lost", "dup-rejected", "known-issue", "failures", "notes"}
	rows := [][]string{header}
	var totalSent, totalOK, totalFail, ran int
	issues := map[string]string{}
	type naKey struct{ scenario, why string }
	var naOrder []naKey
	na := map[naKey][]string{}
	for _, st := range results {
		if st.Skipped != "" {
			k := naKey{st.Scenario, st.Skipped}
			if na[k] == nil {
				naOrder = append(naOrder, k)
			}
			na[k] = append(na[k], st.Pairing)
			continue
		}
		ran++
		totalSent += st.Sent
		totalOK += st.OK
		totalFail += st.Failures
		rows = append(rows, []string{
			st.Scenario, st.Pairing, strconv.Itoa(st.Sent), strconv.Itoa(st.OK), strconv.Itoa(st.Lost),
			strconv.Itoa(st.Dups), strconv.Itoa(st.Known), strconv.Itoa(st.Failures), strings.Join(st.Notes, "; "),
		})
		for _, n := range st.Notes {
			issues[n] = ""
		}
	}
	widths := make([]int, len(header))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	for i, r := range rows {
		var line strings.Builder
		for j, c := range r {
			pad := widths[j] - len([]rune(c))
			if j >= 2 && j <= 7 {
				line.WriteString(strings.Repeat(" ", pad) + c)
			} else {
				line.WriteString(c + strings.Repeat(" ", pad))
			}
			line.WriteString("  ")
		}
		fmt.Fprintln(w, strings.TrimRight(line.String(), " "))
		if i == 0 {
			total := 0
			for _, wd := range widths {
				total += wd + 2
			}
			fmt.Fprintln(w, strings.Repeat("-", total-2))
		}
	}
	if len(naOrder) > 0 {
		fmt.Fprintln(w, "not applicable:")
		for _, k := range naOrder {
			fmt.Fprintf(w, "  %-20s %s (%s)\n", k.scenario, strings.Join(na[k], ", "), k.why)
		}
	}
	for _, s := range active {
		for _, k := range s.KnownIssues {
			if _, ok := issues[k.ID]; ok {
				fmt.Fprintf(w, "known issue %s: %s\n", k.ID, k.Note)
			}
		}
	}
	fmt.Fprintf(w, "%d runs: %d sent (messages and checks), %d delivered/passed, %d failures; wall time %s\n",
		ran, totalSent, totalOK, totalFail, wall.Round(100*time.Millisecond))
}

func marshalCompact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
