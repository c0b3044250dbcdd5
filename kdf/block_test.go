package kdf

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// TestBlockPathMatchesSHA256 checks the whole-block machinery of block.go
// against crypto/sha256: a first block absorbed by hashState.init, then a
// message of every length the fast path takes, padded by padded and
// absorbed by advance, must leave SHA-256(first || message) as the
// chaining value.
func TestBlockPathMatchesSHA256(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{'b', 'l', 'k'}))
	for n := 0; n+padMin <= maxShort; n++ {
		var first [blockSize]byte
		for i := range first {
			first[i] = byte(r.Uint32())
		}
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(r.Uint32())
		}
		want := sha256.Sum256(append(first[:], msg...))

		var st hashState
		st.init(&first)
		var buf [maxShort]byte
		copy(buf[:], msg)
		end := padTo(buf[:], n, blockSize)
		wantEnd := blockSize
		if n >= 56 {
			wantEnd = maxShort
		}
		if end != wantEnd {
			t.Fatalf("n=%d: padded length %d, want %d", n, end, wantEnd)
		}
		st.advance(&st, buf[:end])
		if !bytes.Equal(st[digestAt:digestAt+Size], want[:]) {
			t.Fatalf("n=%d: got %x, want %x", n, st[digestAt:digestAt+Size], want)
		}
	}
}

// TestKeyStateSumMatchesHMAC covers both paths of keyState.sum (the
// whole-block fast path up to 119 message bytes, the streaming one beyond)
// and the key lengths around the block size, against crypto/hmac.
func TestKeyStateSumMatchesHMAC(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{'k', 's'}))
	rnd := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	for _, keyLen := range []int{0, 1, 32, 63, 64, 65, 200} {
		key := rnd(keyLen)
		ks := newKeyState(key)
		for n := range 600 {
			msg := rnd(n)
			mac := hmac.New(sha256.New, key)
			mac.Write(msg)
			want := mac.Sum(nil)
			// Split the message into up to three parts at random points.
			a := r.IntN(n + 1)
			b := a + r.IntN(n-a+1)
			got := ks.sum(msg[:a], msg[a:b], msg[b:])
			if !bytes.Equal(got[:], want) {
				t.Fatalf("key %d bytes, message %d bytes: got %x, want %x", keyLen, n, got, want)
			}
			got = ks.sum(msg)
			if !bytes.Equal(got[:], want) {
				t.Fatalf("key %d bytes, message %d bytes (one part): got %x, want %x", keyLen, n, got, want)
			}
			got = HMAC(key, msg[:a], msg[a:])
			if !bytes.Equal(got[:], want) {
				t.Fatalf("HMAC: key %d bytes, message %d bytes: got %x, want %x", keyLen, n, got, want)
			}
		}
	}
}

// TestRFC4231 checks HMAC and keyState.sum against the HMAC-SHA-256 test
// cases of RFC 4231 §4 (test case 5, a truncated tag, is left out).
func TestRFC4231(t *testing.T) {
	rep := func(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range []struct {
		name      string
		key, data []byte
		tag       string
	}{
		{"1", rep(0x0b, 20), []byte("Hi There"),
			"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
		{"2", []byte("Jefe"), []byte("what do ya want for nothing?"),
			"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{"3", rep(0xaa, 20), rep(0xdd, 50),
			"773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
		{"4", unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"), rep(0xcd, 50),
			"82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
		{"6", rep(0xaa, 131), []byte("Test Using Larger Than Block-Size Key - Hash Key First"),
			"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
		{"7", rep(0xaa, 131), []byte("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."),
			"9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
	} {
		want := unhex(c.tag)
		got := HMAC(c.key, c.data)
		if !bytes.Equal(got[:], want) {
			t.Errorf("test case %s: HMAC = %x, want %x", c.name, got, want)
		}
		ks := newKeyState(c.key)
		got = ks.sum(c.data)
		if !bytes.Equal(got[:], want) {
			t.Errorf("test case %s: keyState.sum = %x, want %x", c.name, got, want)
		}
	}
}

// BenchmarkBlock compares one compression through advance (restore, write,
// save) with the bare cost of writing one block to a live digest, the
// least crypto/sha256 allows.
func BenchmarkBlock(b *testing.B) {
	var blk [blockSize]byte
	b.Run("advance", func(b *testing.B) {
		b.ReportAllocs()
		var st hashState
		st.init(&blk)
		for b.Loop() {
			st.advance(&st, blk[:])
		}
	})
	b.Run("Write", func(b *testing.B) {
		b.ReportAllocs()
		h := sha256.New()
		for b.Loop() {
			h.Write(blk[:])
		}
	})
}

// FuzzHMAC compares HMAC and keyState.sum (both paths of each) with
// crypto/hmac on arbitrary keys, messages and split points.
func FuzzHMAC(f *testing.F) {
	f.Add([]byte("key"), []byte("message"), uint8(3))
	f.Add(bytes.Repeat([]byte{0xaa}, 131), bytes.Repeat([]byte{1}, 600), uint8(200))
	f.Fuzz(func(t *testing.T, key, msg []byte, split uint8) {
		mac := hmac.New(sha256.New, key)
		mac.Write(msg)
		want := mac.Sum(nil)
		at := min(int(split), len(msg))
		got := HMAC(key, msg[:at], msg[at:])
		if !bytes.Equal(got[:], want) {
			t.Fatalf("HMAC = %x, want %x", got, want)
		}
		ks := newKeyState(key)
		got = ks.sum(msg[:at], msg[at:])
		if !bytes.Equal(got[:], want) {
			t.Fatalf("keyState.sum = %x, want %x", got, want)
		}
	})
}
