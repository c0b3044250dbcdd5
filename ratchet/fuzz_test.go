package ratchet_test

import (
	"bytes"
	"testing"

	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/ratchet"
)

func transcriptSeeds(f *testing.F) {
	tr, err := testvectors.LibsignalV072Transcript()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range tr.Sessions {
		for _, m := range s.Messages {
			f.Add([]byte(m.Ciphertext))
		}
	}
}

func FuzzParseMessage(f *testing.F) {
	transcriptSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ratchet.ParseMessage(b)
		if err != nil {
			return
		}
		if !bytes.Equal(m.Bytes(), b) {
			t.Fatal("Bytes differs from input")
		}
	})
}

func FuzzParsePreKeyMessage(f *testing.F) {
	transcriptSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ratchet.ParsePreKeyMessage(b)
		if err != nil {
			return
		}
		if m.Version < ratchet.VersionX3DH || m.Version > ratchet.VersionPQXDH || m.Message.Version != m.Version {
			t.Fatal("bad version accepted")
		}
	})
}

// FuzzDecrypt decrypts arbitrary bytes in an established session: no panic,
// and a failure leaves the state unchanged.
func FuzzDecrypt(f *testing.F) {
	alice, bob := newPair(f, ratchet.VersionPQXDH)
	for range 3 {
		ct, typ, _ := alice.Encrypt(nil, []byte("seed"))
		m, _ := parseAny(f, typ, ct)
		f.Add(bytes.Clone(m.Bytes()))
	}
	transcriptSeeds(f)
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

func FuzzParseState(f *testing.F) {
	alice, bob := newPair(f, ratchet.VersionPQXDH)
	for _, s := range []*ratchet.State{alice, bob} {
		b, _ := s.MarshalBinary()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ratchet.ParseState(b)
		if err != nil {
			return
		}
		enc, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		s2, err := ratchet.ParseState(enc)
		if err != nil {
			t.Fatalf("re-encoded state does not parse: %v", err)
		}
		enc2, _ := s2.MarshalBinary()
		if !bytes.Equal(enc, enc2) {
			t.Fatal("encoding not stable")
		}
	})
}
