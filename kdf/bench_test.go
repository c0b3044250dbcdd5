package kdf_test

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"testing"

	"github.com/ratchetlab/signal/kdf"
)

var (
	benchKey  = [32]byte{0: 1, 31: 2}
	benchSalt = [32]byte{0: 3, 31: 4}
	sinkKey   [32]byte
	sinkBytes []byte
)

func BenchmarkChainStep(b *testing.B) {
	b.ReportAllocs()
	ck := benchKey
	for b.Loop() {
		var seed [32]byte
		seed, ck = kdf.ChainStep(&ck)
		sinkKey = seed
	}
}

func BenchmarkMessageKeys(b *testing.B) {
	b.Run("NoSalt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			mk := kdf.DeriveMessageKeys(&benchKey, nil)
			sinkKey = mk.CipherKey
		}
	})
	b.Run("Salt32", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			mk := kdf.DeriveMessageKeys(&benchKey, &benchSalt)
			sinkKey = mk.CipherKey
		}
	})
}

func BenchmarkGroupMessageKeys(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, sinkKey = kdf.DeriveGroupMessageKeys(&benchKey)
	}
}

func BenchmarkRootStep(b *testing.B) {
	b.ReportAllocs()
	rk := benchKey
	for b.Loop() {
		rk, sinkKey = kdf.RootStep(&rk, &benchSalt)
	}
}

func BenchmarkPQXDH(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkKey, _, _ = kdf.PQXDH(benchKey[:], benchSalt[:], benchKey[:], benchSalt[:], benchKey[:])
	}
}

// BenchmarkHKDF is HKDF with a 32-byte salt, IKM and 18-byte info producing
// 80 bytes (the shape of a salted message-key derivation) through the
// generic append-style API.
func BenchmarkHKDF(b *testing.B) {
	b.ReportAllocs()
	info := []byte("WhisperMessageKeys")
	out := make([]byte, 0, 80)
	for b.Loop() {
		out = kdf.HKDF(out[:0], benchKey[:], benchSalt[:], info, 80)
	}
	sinkBytes = out
}

// BenchmarkStdlib runs the same derivations with crypto/hkdf and
// crypto/hmac, for comparison.
func BenchmarkStdlib(b *testing.B) {
	b.Run("ChainStep", func(b *testing.B) {
		b.ReportAllocs()
		ck := benchKey
		for b.Loop() {
			h := hmac.New(sha256.New, ck[:])
			h.Write([]byte{1})
			h.Sum(sinkKey[:0])
			h.Reset()
			h.Write([]byte{2})
			h.Sum(ck[:0])
		}
	})
	b.Run("MessageKeys/NoSalt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkBytes, _ = hkdf.Key(sha256.New, benchKey[:], nil, "WhisperMessageKeys", 80)
		}
	})
	b.Run("MessageKeys/Salt32", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkBytes, _ = hkdf.Key(sha256.New, benchKey[:], benchSalt[:], "WhisperMessageKeys", 80)
		}
	})
	b.Run("RootStep", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkBytes, _ = hkdf.Key(sha256.New, benchSalt[:], benchKey[:], "WhisperRatchet", 64)
		}
	})
}
