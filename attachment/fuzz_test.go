package attachment

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"errors"
	"testing"
)

// refDecrypt decrypts an upload by the format's definition with one-shot
// standard-library calls, returning the padded plaintext and whether the
// upload is valid.
func refDecrypt(key []byte, up []byte) ([]byte, bool) {
	if len(up) < MinUploadSize || (len(up)-IVSize-MACSize)%16 != 0 {
		return nil, false
	}
	body, tag := up[:len(up)-MACSize], up[len(up)-MACSize:]
	if !hmac.Equal(hmacSHA256(key[32:], body), tag) {
		return nil, false
	}
	ct := append([]byte(nil), body[IVSize:]...)
	b, _ := aes.NewCipher(key[:32])
	cipher.NewCBCDecrypter(b, body[:IVSize]).CryptBlocks(ct, ct)
	p := int(ct[len(ct)-1])
	if p < 1 || p > 16 {
		return nil, false
	}
	for _, c := range ct[len(ct)-p:] {
		if int(c) != p {
			return nil, false
		}
	}
	return ct[:len(ct)-p], true
}

// fuzzUpload turns fuzz input into an upload. With fixMAC it appends the
// correct HMAC to body, so that the fuzzer gets past the MAC and exercises
// the length and padding checks; otherwise body is the upload as is.
func fuzzUpload(key *Key, body []byte, fixMAC bool) []byte {
	if !fixMAC {
		return body
	}
	return append(append([]byte(nil), body...), hmacSHA256(key.mac[:], body)...)
}

func fuzzSeeds(f *testing.F) {
	key := testKey(20)
	for _, n := range []int{0, 1, 16, 700} {
		var buf bytes.Buffer
		w := newWriter(&buf, key, &[IVSize]byte{1}, 0)
		w.Write(bytes.Repeat([]byte{'a'}, n))
		w.Close()
		up := buf.Bytes()
		f.Add(up, false, uint16(0), int64(n))
		f.Add(up[:len(up)-MACSize], true, uint16(31), int64(n))
	}
	f.Add(badPaddingUpload(key.Bytes(), [IVSize]byte{}, 0)[:64], true, uint16(16), int64(-1))
	f.Add([]byte{}, true, uint16(1), int64(0))
}

// checkFuzzResult holds the invariants: an error matches ErrDecryption and
// what was released before it is a prefix of the reference plaintext (empty
// when the whole upload fits one chunk); a success happens only on a valid
// upload and returns its plaintext trimmed to size.
func checkFuzzResult(t *testing.T, key *Key, up []byte, size int64, got []byte, err error, oneChunk bool) {
	t.Helper()
	want, ok := refDecrypt(key.Bytes(), up)
	if size >= 0 && ok {
		if int64(len(want)) < size {
			ok = false
		} else {
			want = want[:size]
		}
	}
	if err != nil {
		if !errors.Is(err, ErrDecryption) {
			t.Fatalf("error %v does not match ErrDecryption", err)
		}
		if oneChunk && len(got) > 0 {
			t.Fatalf("released %d bytes before %v", len(got), err)
		}
		if ok {
			t.Fatalf("valid upload rejected: %v", err)
		}
		return
	}
	if !ok {
		t.Fatalf("invalid upload accepted")
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("plaintext mismatch")
	}
}

// FuzzNewReader feeds arbitrary uploads, with a matching incremental MAC of
// arbitrary chunk size, to NewReader.
func FuzzNewReader(f *testing.F) {
	fuzzSeeds(f)
	key := testKey(20)
	f.Fuzz(func(t *testing.T, body []byte, fixMAC bool, chunk uint16, size int64) {
		up := fuzzUpload(key, body, fixMAC)
		c := int(chunk)%1024 + 1
		inc := refIncremental(key.mac[:], up, c)
		r, err := NewReader(bytes.NewReader(up), key, Params{PlaintextSize: size, IncrementalMAC: inc, ChunkSize: c})
		if err != nil {
			t.Fatal(err)
		}
		got, err := readAll(t, r)
		checkFuzzResult(t, key, up, size, got, err, c > len(up))
	})
}

// FuzzOpen feeds arbitrary uploads to Open and Decrypt, which must release
// nothing on error.
func FuzzOpen(f *testing.F) {
	fuzzSeeds(f)
	key := testKey(20)
	f.Fuzz(func(t *testing.T, body []byte, fixMAC bool, _ uint16, size int64) {
		up := fuzzUpload(key, body, fixMAC)
		var got []byte
		r, err := Open(bytes.NewReader(up), int64(len(up)), key, Params{PlaintextSize: size})
		if err == nil {
			got, err = readAll(t, r)
		}
		checkFuzzResult(t, key, up, size, got, err, true)
		got, err = Decrypt(up, key, Params{PlaintextSize: size})
		checkFuzzResult(t, key, up, size, got, err, true)
		if err != nil && got != nil {
			t.Fatalf("Decrypt returned output with an error")
		}
	})
}
