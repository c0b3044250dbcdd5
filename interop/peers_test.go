package interop

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
)

// PeerSpec describes one implementation the runner can start.
type PeerSpec struct {
	// Name is the short name used in pairings and in the table.
	Name string
	// An Optional peer whose sources do not exist is skipped with a loud
	// message. Any other peer that cannot be prepared (a required peer, or an
	// optional one that exists but does not build) fails the suite.
	Optional bool
	// Prepare builds or locates the peer once (into tmp) and returns the
	// command line and its working directory. errNotPresent means the peer's
	// sources do not exist (yet).
	Prepare func(tmp string) (argv []string, dir string, err error)
	// KnownIssues are documented defects of this implementation, checked
	// (not ignored) by the runner.
	KnownIssues []KnownIssue
	// MACOverReserialization marks a receiver that verifies a message's MAC
	// over its own re-serialization of the parsed protobuf rather than over
	// the bytes received (a documented defect of go.mau.fi/libsignal v0.2.1).
	// A bit flip in the protobuf framing that parses to the same fields then
	// passes, so the corrupt scenario flips bits only in the part every
	// implementation must authenticate: the last ciphertext block and the MAC.
	MACOverReserialization bool

	argv []string
	dir  string

	// From the peer's info reply.
	Implementation string
	Version        string
	Commands       []string
	Features       []string
	// Requires lists features the counterpart must support (info field
	// "requires"): libsignal ≥ 0.92 requires "spqr".
	Requires     []string
	RecordFormat string
}

// Has reports whether the peer lists cmd in its commands.
func (s *PeerSpec) Has(cmd string) bool { return slices.Contains(s.Commands, cmd) }

// Supports reports whether the peer lists feature in its features.
func (s *PeerSpec) Supports(feature string) bool { return slices.Contains(s.Features, feature) }

// requirementsMet returns "" when each of a and b supports every feature the
// other requires, or why not.
func requirementsMet(a, b *PeerSpec) string {
	for _, p := range [][2]*PeerSpec{{a, b}, {b, a}} {
		for _, f := range p[0].Requires {
			if !p[1].Supports(f) {
				return fmt.Sprintf("%s requires %s of every new session, %s lacks it", p[0].Name, f, p[1].Name)
			}
		}
	}
	return ""
}

// useSPQR reports whether sessions between a and b run SPQR: exactly when
// both list "spqr". Parties are then initialized with "spqr": true.
func useSPQR(a, b *PeerSpec) bool { return a.Supports("spqr") && b.Supports("spqr") }

// KnownIssue is a documented defect of a receiving implementation: messages
// for which Applies returns true are expected to be rejected with error name
// Want. The runner verifies the rejection and counts it apart ("known"), and
// counts an unexpected success as a failure so that a fixed defect is noticed.
type KnownIssue struct {
	ID      string
	Note    string
	Want    string
	Applies func(ciphertext []byte) bool
}

var errNotPresent = errors.New("not present")

// peerSpecs is the set of peers the runner pairs. Adding a peer is one entry.
var peerSpecs = []*PeerSpec{
	{Name: "libsignal", Prepare: prepareNode("node")},
	{Name: "libsignal103", Prepare: prepareNode("node103")},
	{Name: "mau", Prepare: goBuild("maupeer", ".", "./maupeer"), KnownIssues: mauIssues, MACOverReserialization: true},
	// This library's peer: skipped (loudly) only while cmd/signalpeer does not exist.
	{Name: "ratchetlab", Optional: true, Prepare: goBuild("signalpeer", "..", "./cmd/signalpeer")},
}

// mauIssues are go.mau.fi/libsignal v0.2.1 defects that affect interop.
var mauIssues = []KnownIssue{{
	ID: "mau-mac-version-byte",
	Note: "go.mau.fi/libsignal v0.2.1 verifies a SignalMessage MAC over a re-serialization that starts with " +
		"the byte '3' (0x33), not over the bytes received; libsignal writes 0x34 for version-3 messages " +
		"(libsignal rust/protocol/src/protocol.rs: low nibble = current version 4), so every such message fails its MAC check there " +
		"(reported as \"no valid sessions\")",
	Want:    "invalid_message",
	Applies: func(ct []byte) bool { return len(ct) > 0 && ct[0] != 0x33 },
}}

// prepareNode returns a Prepare function for the Node peer in dir (node/ for
// libsignal 0.72.1, node103/ for 0.103.0; both run node/peer.mjs against
// their own node_modules) that checks its dependencies are installed.
func prepareNode(dir string) func(string) ([]string, string, error) {
	return func(string) ([]string, string, error) { return prepareNodeDir(dir) }
}

func prepareNodeDir(rel string) ([]string, string, error) {
	node := os.Getenv("INTEROP_NODE")
	if node == "" {
		node = "node"
	}
	path, err := exec.LookPath(node)
	if err != nil {
		return nil, "", fmt.Errorf("node not found (%w); install Node 20+", err)
	}
	dir, err := filepath.Abs(rel)
	if err != nil {
		return nil, "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@signalapp", "libsignal-client", "package.json")); err != nil {
		return nil, "", fmt.Errorf("@signalapp/libsignal-client is not installed: run `npm ci` in interop/%s (interop/run does it): %w", rel, err)
	}
	return []string{path, filepath.Join(dir, "peer.mjs")}, dir, nil
}

// goBuild returns a Prepare function that builds the Go package pkg (relative
// to the module directory moduleDir, itself relative to interop/) into tmp.
func goBuild(binary, moduleDir, pkg string) func(string) ([]string, string, error) {
	return func(tmp string) ([]string, string, error) {
		mod, err := filepath.Abs(moduleDir)
		if err != nil {
			return nil, "", err
		}
		src := filepath.Join(mod, filepath.FromSlash(pkg))
		matches, _ := filepath.Glob(filepath.Join(src, "*.go"))
		if len(matches) == 0 {
			return nil, "", fmt.Errorf("%s: %w", src, errNotPresent)
		}
		out := filepath.Join(tmp, binary)
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = mod
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, "", fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
		}
		return []string{out}, mod, nil
	}
}

// probe starts the peer once and records its info reply.
func probe(s *PeerSpec) error {
	p, err := StartPeer(s)
	if err != nil {
		return err
	}
	defer p.Close()
	r, err := p.MustOK("info", nil)
	if err != nil {
		return err
	}
	s.Implementation, s.Version = r.Str("implementation"), r.Str("version")
	s.Commands, s.Features, s.Requires = r.Strings("commands"), r.Strings("features"), r.Strings("requires")
	s.RecordFormat = r.Str("record_format")
	if s.RecordFormat == "" && s.Has("session_export") && s.Has("session_import") {
		s.RecordFormat = "libsignal" // PEER.md: session records are libsignal's RecordStructure
	}
	return nil
}
