package ratchet_test

import (
	"bytes"
	"testing"

	"github.com/ratchetlab/signal/ratchet"
)

// FuzzDecryptSPQR is FuzzDecrypt on an SPQR session: the SPQR step runs
// before the MAC check, so a message that fails (a bad MAC, a bad SPQR
// payload) must leave the state, SPQR part included, exactly as it was.
func FuzzDecryptSPQR(f *testing.F) {
	alice, bob := newPairSPQR(f, ratchet.VersionPQXDH, true)
	for i := range 12 {
		ct, typ, err := alice.Encrypt(nil, []byte("seed"))
		if err != nil {
			f.Fatal(err)
		}
		m, err := parseAny(f, typ, ct)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bytes.Clone(m.Bytes()))
		if i%3 != 0 { // leave some undelivered, to be fuzzed later
			if _, err := bob.Decrypt(nil, &m); err != nil {
				f.Fatal(err)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := bob.Clone()
		before, _ := s.MarshalBinary()
		m, err := ratchet.ParseMessage(b)
		if err != nil {
			return
		}
		if _, err := s.Decrypt(nil, &m); err != nil {
			after, _ := s.MarshalBinary()
			if !bytes.Equal(before, after) {
				t.Fatal("failed decrypt changed the state")
			}
		}
	})
}
