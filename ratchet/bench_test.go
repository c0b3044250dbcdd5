package ratchet_test

import (
	"testing"

	"github.com/ratchetlab/signal/ratchet"
)

var sizes = []struct {
	name string
	n    int
	spqr bool
}{{"100B", 100, false}, {"1KiB", 1024, false}, {"64KiB", 64 << 10, false}, {"100B-SPQR", 100, true}}

// established returns a pair past the pre-key stage, so that both send
// SignalMessages.
func established(b *testing.B, withSPQR bool) (alice, bob *ratchet.State) {
	alice, bob = newPairSPQR(b, ratchet.VersionPQXDH, withSPQR)
	ct, typ, err := alice.Encrypt(nil, []byte("hi"))
	if err != nil {
		b.Fatal(err)
	}
	m, err := parseAny(b, typ, ct)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := bob.Decrypt(nil, &m); err != nil {
		b.Fatal(err)
	}
	ct, _, _ = bob.Encrypt(nil, []byte("hi"))
	m, _ = ratchet.ParseMessage(ct)
	if _, err := alice.Decrypt(nil, &m); err != nil {
		b.Fatal(err)
	}
	return alice, bob
}

func BenchmarkEncrypt(b *testing.B) {
	for _, sz := range sizes {
		b.Run(sz.name, func(b *testing.B) {
			alice, _ := established(b, sz.spqr)
			pt := make([]byte, sz.n)
			out := make([]byte, 0, sz.n+200)
			b.SetBytes(int64(sz.n))
			m := meter(b)
			defer m.done()
			for b.Loop() {
				var err error
				if out, _, err = alice.Encrypt(out[:0], pt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecrypt(b *testing.B) {
	for _, sz := range sizes {
		b.Run(sz.name, func(b *testing.B) {
			alice, bob := established(b, sz.spqr)
			pt := make([]byte, sz.n)
			const batch = 256
			wires := make([][]byte, batch)
			msgs := make([]ratchet.Message, batch)
			out := make([]byte, 0, sz.n+16)
			b.SetBytes(int64(sz.n))
			b.ResetTimer()
			m := meter(b)
			defer m.done()
			for i := 0; i < b.N; i++ {
				if i%batch == 0 {
					m.stop()
					for j := range wires {
						wires[j], _, _ = alice.Encrypt(wires[j][:0], pt)
						msgs[j], _ = ratchet.ParseMessage(wires[j])
					}
					m.resume()
				}
				var err error
				if out, err = bob.Decrypt(out[:0], &msgs[i%batch]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPingPong measures one message when every message is a DH
// ratchet step: encrypt on one side, parse and decrypt on the other.
func BenchmarkPingPong(b *testing.B) {
	b.Run("classical", func(b *testing.B) { benchPingPong(b, false) })
	b.Run("SPQR", func(b *testing.B) { benchPingPong(b, true) })
}

func benchPingPong(b *testing.B, withSPQR bool) {
	alice, bob := established(b, withSPQR)
	pt := make([]byte, 100)
	var wire, out []byte
	m := meter(b)
	defer m.done()
	for b.Loop() {
		var err error
		wire, _, err = alice.Encrypt(wire[:0], pt)
		if err != nil {
			b.Fatal(err)
		}
		msg, err := ratchet.ParseMessage(wire)
		if err != nil {
			b.Fatal(err)
		}
		if out, err = bob.Decrypt(out[:0], &msg); err != nil {
			b.Fatal(err)
		}
		alice, bob = bob, alice
	}
}

// BenchmarkDecryptOutOfOrder decrypts windows of 100 messages last to
// first, so each window stores 99 skipped keys and then uses them.
func BenchmarkDecryptOutOfOrder(b *testing.B) {
	alice, bob := established(b, false)
	pt := make([]byte, 100)
	const window = 100
	wires := make([][]byte, window)
	msgs := make([]ratchet.Message, window)
	var out []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%window == 0 {
			b.StopTimer()
			for j := range wires {
				wires[j], _, _ = alice.Encrypt(wires[j][:0], pt)
				msgs[j], _ = ratchet.ParseMessage(wires[j])
			}
			b.StartTimer()
		}
		var err error
		if out, err = bob.Decrypt(out[:0], &msgs[window-1-i%window]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStateEncode(b *testing.B) {
	alice, _ := established(b, false)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = alice.AppendBinary(buf[:0])
	}
}

func BenchmarkStateDecode(b *testing.B) {
	alice, _ := established(b, false)
	enc, _ := alice.MarshalBinary()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ratchet.ParseState(enc); err != nil {
			b.Fatal(err)
		}
	}
}
