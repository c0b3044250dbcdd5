// Command table reads `go test -bench` output for BenchmarkCompare and
// BenchmarkFloor (any -count) and prints the medians side by side: per
// operation the time of github.com/ratchetlab/signal ("signal") and of
// go.mau.fi/libsignal ("mau"), the ratio mau/signal, the allocations of
// each, and the operation's floor (the sum of the primitives it needs,
// from BenchmarkFloor in the same run) with signal/floor. It prints one
// table for CPU time per op (cpu-ns/op, when the benchmarks report it) and
// one for wall time (ns/op).
//
// Usage:
//
//	go test -run '^$' -bench . -count 6 | go run ./cmd/table
//	go run ./cmd/table bench.txt
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// term is count × a floor benchmark.
type term struct {
	n    float64
	name string
}

// floors gives, per operation, the primitives one op needs at least. The
// counts follow libsignal's protocol (see README.md).
var floors = map[string][]term{
	// Alice: base key and ratchet key generation, 4 DH (X3DH with
	// one-time pre-key) and 1 DH for the first sending chain; Bob: 4 DH,
	// and on the first message a ratchet step (1 key generation, 2 DH).
	// Bundle: the signed pre-key signature.
	"SessionSetupX3DH": {{3, "X25519Base"}, {11, "X25519"}, {1, "Ed25519Verify"}},
	// As X3DH, plus the Kyber pre-key signature, one encapsulation and
	// decapsulation, and unpacking the two Kyber keys that arrive as
	// bytes (Alice's from the bundle, Bob's from his store): each expands
	// the matrix A. Bob's canonicity (torsion) check of Alice's base key,
	// which libsignal makes for PQXDH, is a variable-base scalar
	// multiplication: one more X25519.
	"SessionSetupPQXDH": {{3, "X25519Base"}, {12, "X25519"}, {2, "Ed25519Verify"},
		{1, "Kyber1024Encapsulate"}, {1, "Kyber1024Decapsulate"}, {2, "Kyber1024UnpackPublic"}},
	// Issue 8's count: about 22 SHA-256 compressions (chain step, message
	// keys, MAC) and 7 AES blocks (100 bytes padded to 112).
	"Encrypt100": {{22, "SHA256Block"}, {7, "AES256Block"}},
	"Decrypt100": {{22, "SHA256Block"}, {7, "AES256Block"}},
	// With the record kept encoded in the store (bench/encoded_test.go):
	// the same cryptography; decoding and encoding the record are what the
	// ratio to the floor shows.
	"Encrypt100Encoded": {{22, "SHA256Block"}, {7, "AES256Block"}},
	"Decrypt100Encoded": {{22, "SHA256Block"}, {7, "AES256Block"}},
	// Sender keys (group_test.go): chain step (2 HMAC-SHA256, 6
	// compressions), message keys (HKDF extract and a 48-byte expand, 8),
	// AES-256-CBC of 100 bytes (7 blocks), and the XEdDSA signature that
	// every group message carries (signed by the sender, verified by the
	// receiver).
	"GroupEncrypt100": {{14, "SHA256Block"}, {7, "AES256Block"}, {1, "Ed25519Sign"}},
	"GroupDecrypt100": {{14, "SHA256Block"}, {7, "AES256Block"}, {1, "Ed25519Verify"}},
	// The receiver's ratchet step: one key generation and two DH.
	"PingPong": {{1, "X25519Base"}, {2, "X25519"}},
}

var order = []string{
	"SessionSetupX3DH", "SessionSetupPQXDH", "Encrypt100", "Decrypt100",
	"Encrypt100Encoded", "Decrypt100Encoded", "PingPong",
	"DecryptOutOfOrder", "RecordEncode", "RecordDecode", "RecordEncodeSkipped200",
	"RecordDecodeSkipped200", "GroupEncrypt100", "GroupDecrypt100", "GroupSKDMProcess",
	"GroupRecordEncode", "GroupRecordDecode", "SafetyNumber",
}

var line = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// results maps a benchmark name (without the GOMAXPROCS suffix) to its
// samples per unit.
type results map[string]map[string][]float64

func parse(r io.Reader) (results, error) {
	res := results{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := line.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			if res[m[1]] == nil {
				res[m[1]] = map[string][]float64{}
			}
			res[m[1]][f[i+1]] = append(res[m[1]][f[i+1]], v)
		}
	}
	return res, sc.Err()
}

func median(v []float64) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, true
}

func (r results) med(name, unit string) (float64, bool) { return median(r[name][unit]) }

func dur(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	default:
		return fmt.Sprintf("%.1f ns", ns)
	}
}

func (r results) timeCell(name, unit string) string {
	v, ok := r.med(name, unit)
	if !ok {
		return "-"
	}
	return dur(v)
}

func (r results) allocCell(name string) string {
	v, ok := r.med(name, "allocs/op")
	if !ok {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func (r results) floor(op, unit string) (float64, string, bool) {
	ts, ok := floors[op]
	if !ok {
		return 0, "", false
	}
	var sum float64
	var parts []string
	for _, t := range ts {
		v, ok := r.med("Floor/"+t.name, unit)
		if !ok {
			return 0, "", false
		}
		sum += t.n * v
		parts = append(parts, fmt.Sprintf("%g×%s", t.n, t.name))
	}
	return sum, strings.Join(parts, " + "), true
}

// units are the time metrics tabulated, in order: process CPU time per op
// (reported by the benchmarks, robust to other load) and wall time.
var units = []struct{ unit, title string }{
	{"cpu-ns/op", "CPU time per op (process user+system time, all goroutines; robust to other load)"},
	{"ns/op", "Wall time per op (ns/op)"},
}

func write(w io.Writer, r results) {
	samples := 0
	for _, u := range r {
		samples = max(samples, len(u["ns/op"]))
	}
	fmt.Fprintf(w, "Medians of %d run(s). ratio = mau/signal (above 1: this library is faster). floor = sum of BenchmarkFloor medians.\n", samples)
	var notes []string
	for _, u := range units {
		if !r.has(u.unit) {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n\n", u.title)
		rows, ns := r.compare(u.unit)
		if len(rows) > 1 {
			table(w, rows)
			fmt.Fprintln(w)
		}
		if notes == nil {
			notes = ns
		}
		if frows := r.floorRows(u.unit); len(frows) > 1 {
			table(w, frows)
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintln(w, n)
		}
	}
}

// has reports whether any result has unit.
func (r results) has(unit string) bool {
	for _, u := range r {
		if len(u[unit]) > 0 {
			return true
		}
	}
	return false
}

// compare returns the rows of the comparison table in unit, and notes
// (floor formulas, record sizes).
func (r results) compare(unit string) (rows [][]string, notes []string) {
	rows = [][]string{{"operation", "signal", "mau", "mau/signal", "allocs signal", "allocs mau", "floor", "signal/floor"}}
	for _, op := range order {
		sig, mau := "Compare/"+op+"/signal", "Compare/"+op+"/mau"
		if r[sig] == nil && r[mau] == nil {
			continue
		}
		ratio := "-"
		s, okS := r.med(sig, unit)
		m, okM := r.med(mau, unit)
		if okS && okM && s > 0 {
			ratio = fmt.Sprintf("%.2f×", m/s)
		}
		fl, flOf := "-", "-"
		if f, formula, ok := r.floor(op, unit); ok {
			fl = dur(f)
			if okS && f > 0 {
				flOf = fmt.Sprintf("%.2f×", s/f)
			}
			notes = append(notes, fmt.Sprintf("  %s floor = %s", op, formula))
		}
		rows = append(rows, []string{op, r.timeCell(sig, unit), r.timeCell(mau, unit), ratio, r.allocCell(sig), r.allocCell(mau), fl, flOf})
		for _, impl := range []string{"signal", "mau"} {
			if v, ok := r.med("Compare/"+op+"/"+impl, "B/record"); ok {
				notes = append(notes, fmt.Sprintf("  %s %s: %.0f B/record", op, impl, v))
			}
		}
	}
	return rows, notes
}

// floorRows returns the rows of the floor table in unit.
func (r results) floorRows(unit string) [][]string {
	var names []string
	for name := range r {
		if after, ok := strings.CutPrefix(name, "Floor/"); ok {
			names = append(names, after)
		}
	}
	slices.Sort(names)
	rows := [][]string{{"floor", "time", "allocs"}}
	for _, f := range names {
		rows = append(rows, []string{f, r.timeCell("Floor/"+f, unit), r.allocCell("Floor/" + f)})
	}
	return rows
}

// table prints rows with aligned columns: the first left-aligned, the
// others right-aligned.
func table(w io.Writer, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	for k, row := range rows {
		var b strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		fmt.Fprintln(w, b.String())
		if k == 0 {
			var s strings.Builder
			for i, wd := range width {
				if i > 0 {
					s.WriteString("  ")
				}
				s.WriteString(strings.Repeat("-", wd))
			}
			fmt.Fprintln(w, s.String())
		}
	}
}

func main() {
	in := io.Reader(os.Stdin)
	if len(os.Args) > 1 {
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "table:", err)
			os.Exit(1)
		}
		defer f.Close()
		in = f
	}
	r, err := parse(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "table:", err)
		os.Exit(1)
	}
	if len(r) == 0 {
		fmt.Fprintln(os.Stderr, "table: no benchmark results in input")
		os.Exit(1)
	}
	write(os.Stdout, r)
}
