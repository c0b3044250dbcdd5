package cbc_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ratchetlab/signal/internal/cbc"
	"github.com/ratchetlab/signal/internal/testvectors"
)

// FuzzDecrypt decrypts arbitrary input. Invariants: no panic; an error is
// ErrDecryption with a nil result; a success re-encrypts to the exact
// ciphertext (PKCS#7 padding is canonical).
func FuzzDecrypt(f *testing.F) {
	cases, err := testvectors.AESCBCPKCS5()
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range cases {
		if len(c.Key) == 32 {
			f.Add(c.Key, c.IV, c.CT)
		}
	}
	f.Add(make([]byte, 32), make([]byte, 16), []byte{})
	f.Add(make([]byte, 32), make([]byte, 16), make([]byte, 17))
	f.Fuzz(func(t *testing.T, key, iv, ct []byte) {
		var k [32]byte
		var v [16]byte
		copy(k[:], key)
		copy(v[:], iv)
		pt, err := cbc.Decrypt(nil, &k, &v, ct)
		if err != nil {
			if !errors.Is(err, cbc.ErrDecryption) {
				t.Fatalf("unexpected error %v", err)
			}
			if pt != nil {
				t.Fatalf("error with non-nil output %x", pt)
			}
			return
		}
		if re := cbc.Encrypt(nil, &k, &v, pt); !bytes.Equal(re, ct) {
			t.Fatalf("re-encryption differs:\n%x\n%x", re, ct)
		}
		// In place gives the same result.
		buf := bytes.Clone(ct)
		pt2, err := cbc.Decrypt(buf[:0], &k, &v, buf)
		if err != nil || !bytes.Equal(pt, pt2) {
			t.Fatalf("in-place decryption differs: %v", err)
		}
	})
}
