package pqxdh_test

import (
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/cloudflare/circl/kem/kyber/kyber1024"

	"github.com/ratchetlab/signal/kdf"
	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/pqxdh"
)

// BenchmarkPQXDH measures each side of PQXDH with a one-time pre-key, for
// both KEMs. Compare with BenchmarkPrimitives:
//
//	Alice ≈ X25519GenerateKey + 4·X25519Agree + Encapsulate + KDF
//	Bob   ≈ IsCanonical + 4·X25519Agree + Decapsulate + KDF
func BenchmarkPQXDH(b *testing.B) {
	for _, typ := range kemTypes {
		b.Run(typeName(typ), func(b *testing.B) {
			ikA := genKey(b)
			bob, pub := newBob(b, typ, true)
			_, msg, err := pqxdh.Initiate(ikA, nil, pub)
			if err != nil {
				b.Fatal(err)
			}
			b.Run("Alice", func(b *testing.B) {
				defer reportCPU(b)()
				for b.Loop() {
					if _, _, err := pqxdh.Initiate(ikA, nil, pub); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Bob", func(b *testing.B) {
				defer reportCPU(b)()
				for b.Loop() {
					if _, err := pqxdh.Respond(bob.ik, bob.spk, bob.opk, bob.kyber, msg); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// typeName is the benchmark name of a KEM type (no punctuation).
func typeName(t kem.Type) string {
	if t == kem.MLKEM1024 {
		return "MLKEM1024"
	}
	return "Kyber1024"
}

// BenchmarkPrimitives measures the operations PQXDH is made of.
func BenchmarkPrimitives(b *testing.B) {
	k1, k2 := genKey(b), genKey(b)
	b.Run("X25519GenerateKey", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := keys.GeneratePrivateKey(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("X25519Agree", func(b *testing.B) {
		pub := k2.PublicKey()
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := k1.Agree(pub); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("IsCanonical", func(b *testing.B) {
		pub := k2.PublicKey()
		defer reportCPU(b)()
		for b.Loop() {
			if !pub.IsCanonical() {
				b.Fatal("not canonical")
			}
		}
	})
	b.Run("KDF", func(b *testing.B) {
		var in [5][32]byte
		defer reportCPU(b)()
		for b.Loop() {
			kdf.PQXDH(in[0][:], in[1][:], in[2][:], in[3][:], in[4][:])
		}
	})
	for _, typ := range kemTypes {
		sk := genKEM(b, typ)
		pk := sk.PublicKey()
		ct, _, err := pk.Encapsulate()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(typeName(typ)+"/GenerateKey", func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := kem.GenerateKey(typ); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(typeName(typ)+"/Encapsulate", func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				if _, _, err := pk.Encapsulate(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(typeName(typ)+"/Decapsulate", func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := sk.Decapsulate(ct); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkKDFAfterKEM is the regression benchmark for the AVX–SSE
// transition trap: circl's AVX2 Kyber code returns with the upper halves of
// the YMM registers dirty, and the SHA-NI SHA-256 behind HMAC and HKDF then
// runs many times slower until they are cleared. Package kem clears them
// (VZEROUPPER) after every circl call.
//
// Each sub-benchmark runs the PQXDH KDF, alone or right after an
// encapsulation, and reports the KDF's own time as the kdf-ns/op metric:
// the median over the iterations of the time around the KDF call only, so
// neither the KEM nor preemption on a loaded machine blurs it.
//
//   - KDF: the KDF alone;
//   - circl/Encapsulate+KDF: after circl's Encapsulate called directly,
//     without the fix (on AVX2 machines with SHA-NI, many times KDF);
//   - kem/Encapsulate+KDF: after package kem's Encapsulate (should be about
//     KDF).
func BenchmarkKDFAfterKEM(b *testing.B) {
	var in [5][32]byte
	timed := func(b *testing.B, before func()) {
		b.ReportAllocs()
		samples := make([]time.Duration, 0, 1<<16)
		for b.Loop() {
			before()
			t0 := time.Now()
			kdf.PQXDH(in[0][:], in[1][:], in[2][:], in[3][:], in[4][:])
			if d := time.Since(t0); len(samples) < cap(samples) {
				samples = append(samples, d)
			}
		}
		slices.Sort(samples)
		b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds()), "kdf-ns/op")
	}
	b.Run("KDF", func(b *testing.B) { timed(b, func() {}) })

	pk, _, err := kyber1024.GenerateKeyPair(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	var seed [kyber1024.EncapsulationSeedSize]byte
	ct := make([]byte, kyber1024.CiphertextSize)
	b.Run("circl/Encapsulate+KDF", func(b *testing.B) {
		timed(b, func() { pk.EncapsulateTo(ct, in[4][:], seed[:]) })
	})

	kpk := genKEM(b, kem.Kyber1024).PublicKey()
	b.Run("kem/Encapsulate+KDF", func(b *testing.B) {
		timed(b, func() {
			_, ss, err := kpk.Encapsulate()
			if err != nil {
				b.Fatal(err)
			}
			in[4] = ss
		})
	})
}

// reportCPU turns on allocation reporting and returns a function that, run
// after the benchmark loop, reports the process CPU time per operation as
// cpu-ns/op (see cpuTime).
func reportCPU(b *testing.B) func() {
	b.ReportAllocs()
	start := cpuTime()
	return func() {
		if d := cpuTime() - start; d > 0 && b.N > 0 {
			b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}
