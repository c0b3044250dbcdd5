// Package testvectors embeds the published test vectors this library is
// checked against, with typed loaders, so that a fresh clone needs nothing
// outside the repository.
//
// The data comes from independent sources and is kept byte for byte as
// published:
//
//   - Project Wycheproof (data/wycheproof, Apache-2.0, see its LICENSE):
//     x25519, ed25519, hkdf_sha256, hmac_sha256, aes_cbc_pkcs5 and the
//     ML-KEM-1024 files (which include C2SP CCTV cases), and aes_gcm_siv
//     (from C2SP/wycheproof testvectors_v1, with RFC 8452's vectors).
//   - Vectors copied out of libsignal's own sources
//     (data/libsignal/libsignal_vectors.json).
//   - Conversations recorded from libsignal itself through
//     @signalapp/libsignal-client 0.72.1 and 0.103.0, with the private keys
//     needed to replay one side (data/libsignal/*_transcript.json), and
//     safety numbers computed by libsignal (libsignal_fingerprints.json),
//     and sealed sender v1/v2 messages, certificates and negative cases
//     recorded under fixed keys (libsignal_sealed_sender.json).
//   - Two serialized SPQR states written by Signal's implementation
//     (data/spqr).
//
// The package is meant for tests: library code never imports it.
package testvectors

import (
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

//go:embed data
var data embed.FS

// FS returns the embedded data tree (paths start with "data/").
func FS() fs.FS { return data }

// ReadFile returns an embedded file by its path below data/, for example
// "libsignal/libsignal_v0.72_transcript.json".
func ReadFile(name string) ([]byte, error) {
	return data.ReadFile("data/" + name)
}

func loadJSON(name string, v any) error {
	b, err := ReadFile(name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("testvectors: %s: %w", name, err)
	}
	return nil
}

// Hex is a byte string written in JSON as (lowercase or uppercase) hex.
type Hex []byte

// UnmarshalJSON implements json.Unmarshaler.
func (h *Hex) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*h = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	*h = d
	return nil
}

// flexInt decodes an integer written either as a JSON number or as a string
// (some Wycheproof-format files quote their numbers).
type flexInt int

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := strconv.Atoi(s)
	if err != nil {
		return err
	}
	*n = flexInt(v)
	return nil
}

// flexFlags decodes Wycheproof flags written either as a JSON array or as a
// string in the form "['A', 'B']".
type flexFlags []string

func (f *flexFlags) UnmarshalJSON(b []byte) error {
	var list []string
	if err := json.Unmarshal(b, &list); err == nil {
		*f = list
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	s = strings.Trim(s, "[]")
	*f = nil
	for _, p := range strings.Split(s, ",") {
		p = strings.Trim(strings.TrimSpace(p), `'"`)
		if p != "" {
			*f = append(*f, p)
		}
	}
	return nil
}
