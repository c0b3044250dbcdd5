package x3dh_test

import (
	"testing"

	"github.com/ratchetlab/signal/kdf"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/x3dh"
)

// BenchmarkX3DH measures each side of X3DH with a one-time pre-key. Alice
// generates her base key (one X25519 base-point multiplication) and computes
// four agreements; Bob computes four agreements. Both run the KDF once. Compare
// with BenchmarkPrimitives: Alice ≈ GenerateKey + 4·Agree + KDF, Bob ≈
// 4·Agree + KDF.
func BenchmarkX3DH(b *testing.B) {
	ikA, ikB, spkB, opkB := genKey(b), genKey(b), genKey(b), genKey(b)
	bob := x3dh.BobKeys{IdentityKey: ikB.PublicKey(), SignedPreKey: spkB.PublicKey(), OneTimePreKey: opkB.PublicKey()}
	_, msg, err := x3dh.Initiate(ikA, nil, bob)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Alice", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			if _, _, err := x3dh.Initiate(ikA, nil, bob); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Bob", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := x3dh.Respond(ikB, spkB, opkB, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPrimitives measures the operations X3DH is made of.
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
	b.Run("KDF", func(b *testing.B) {
		var dh [4][32]byte
		defer reportCPU(b)()
		for b.Loop() {
			kdf.X3DH(dh[0][:], dh[1][:], dh[2][:], dh[3][:])
		}
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
