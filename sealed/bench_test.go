package sealed_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/ratchetlab/signal/kdf"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/sealed"
)

// cpuPerOp reports the process CPU time per operation (cpu-ns/op), which a
// loaded machine disturbs less than wall time, and per unit when units > 1
// (cpu-ns/recipient). Call it with defer at the start of the timed loop.
func cpuPerOp(b *testing.B, units int) func() {
	start := cpuTime()
	return func() {
		d := cpuTime() - start
		if d <= 0 || b.N == 0 {
			return
		}
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
		if units > 1 {
			b.ReportMetric(float64(d.Nanoseconds())/float64(b.N)/float64(units), "cpu-ns/recipient")
		}
	}
}

// benchContent is a typical inner message: a sender certificate and a
// 200-byte inner ciphertext.
func benchContent(b *testing.B, f *fixture) *sealed.Content {
	c, err := sealed.NewContent(sealed.SenderKeyType, f.cert, make([]byte, 200), sealed.HintResendable, make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func BenchmarkSealV1(b *testing.B) {
	f := newFixture(b)
	c := benchContent(b, f)
	b.ReportAllocs()
	defer cpuPerOp(b, 1)()
	for b.Loop() {
		if _, err := sealed.Seal(c, f.sender, f.bob.PublicKey()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenV1(b *testing.B) {
	f := newFixture(b)
	c := benchContent(b, f)
	msg, err := sealed.Seal(c, f.sender, f.bob.PublicKey())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	defer cpuPerOp(b, 1)()
	for b.Loop() {
		if _, err := sealed.Open(f.bob, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func destinations(b *testing.B, n int) []sealed.Destination {
	d := make([]sealed.Destination, n)
	for i := range d {
		k, err := keys.GeneratePrivateKey()
		if err != nil {
			b.Fatal(err)
		}
		d[i] = sealed.Destination{
			ServiceID:      fmt.Sprintf("00000000-0000-4000-8000-%012x", i),
			DeviceID:       1,
			RegistrationID: uint32(i % 0x3FFF),
			IdentityKey:    k.PublicKey(),
		}
	}
	return d
}

// BenchmarkSealMulti seals one message for n recipient accounts of one
// device each and reports the cost per recipient (ns/recipient), to set
// against BenchmarkFloor.
func BenchmarkSealMulti(b *testing.B) {
	f := newFixture(b)
	c := benchContent(b, f)
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			d := destinations(b, n)
			b.ReportAllocs()
			defer cpuPerOp(b, n)()
			for b.Loop() {
				if _, err := sealed.SealMulti(c, f.sender, d, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/recipient")
		})
	}
}

func BenchmarkOpenV2(b *testing.B) {
	f := newFixture(b)
	c := benchContent(b, f)
	sent, err := sealed.SealMulti(c, f.sender, []sealed.Destination{
		{ServiceID: bobUUID, DeviceID: 1, RegistrationID: 1, IdentityKey: f.bob.PublicKey()},
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	s, err := sealed.ParseSentMessage(sent)
	if err != nil {
		b.Fatal(err)
	}
	msg := s.ReceivedMessage(&s.Recipients[0])
	b.ReportAllocs()
	defer cpuPerOp(b, 1)()
	for b.Loop() {
		if _, err := sealed.Open(f.bob, msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSplit is the server's work for a 100-recipient message.
func BenchmarkSplit(b *testing.B) {
	f := newFixture(b)
	c := benchContent(b, f)
	sent, err := sealed.SealMulti(c, f.sender, destinations(b, 100), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	defer cpuPerOp(b, 1)()
	for b.Loop() {
		s, err := sealed.ParseSentMessage(sent)
		if err != nil {
			b.Fatal(err)
		}
		for i := range s.Recipients {
			_ = s.ReceivedMessage(&s.Recipients[i])
		}
	}
}

// BenchmarkFloor is the unavoidable work per v2 recipient: X25519Pair is
// the two key agreements DH(E, R) and DH(S, R); PairAnd2HKDF adds the two
// HKDF-SHA256 calls that give C and AT.
func BenchmarkFloor(b *testing.B) {
	f := newFixture(b)
	e, err := keys.GeneratePrivateKey()
	if err != nil {
		b.Fatal(err)
	}
	r := f.bob.PublicKey()
	b.Run("X25519Pair", func(b *testing.B) {
		b.ReportAllocs()
		defer cpuPerOp(b, 1)()
		for b.Loop() {
			if _, err := e.Agree(r); err != nil {
				b.Fatal(err)
			}
			if _, err := f.sender.Agree(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("PairAnd2HKDF", func(b *testing.B) {
		var ikm [200]byte
		var out [32]byte
		b.ReportAllocs()
		defer cpuPerOp(b, 1)()
		for b.Loop() {
			dh1, _ := e.Agree(r)
			dh2, _ := f.sender.Agree(r)
			copy(ikm[:], dh1[:])
			kdf.HKDF(out[:0], ikm[:98], nil, []byte("Sealed Sender v2: DH"), 32)
			copy(ikm[:], dh2[:])
			kdf.HKDF(out[:0], ikm[:164], nil, []byte("Sealed Sender v2: DH-sender"), 16)
		}
	})
}
