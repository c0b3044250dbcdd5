package senderkey_test

import (
	"testing"

	"github.com/ratchetlab/signal/senderkey"
)

func BenchmarkEncrypt100(b *testing.B) {
	s, _, id := pair(b, senderkey.Libsignal)
	pt := make([]byte, 100)
	buf := make([]byte, 0, 100+senderkey.Overhead(senderkey.Libsignal, 100))
	b.SetBytes(100)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Encrypt(buf[:0], senderkey.Libsignal, id, pt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncrypt100Cached(b *testing.B) {
	s, _, id := pair(b, senderkey.Libsignal)
	pt := make([]byte, 100)
	buf := make([]byte, 0, 100+senderkey.Overhead(senderkey.Libsignal, 100))
	var c senderkey.SigningCache
	b.SetBytes(100)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.EncryptCached(buf[:0], senderkey.Libsignal, id, pt, &c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt100(b *testing.B) {
	s, r, id := pair(b, senderkey.Libsignal)
	pt := make([]byte, 100)
	const n = 4096
	cts := make([]senderkey.Message, n)
	for i := range cts {
		ct, err := s.Encrypt(nil, senderkey.Libsignal, id, pt)
		if err != nil {
			b.Fatal(err)
		}
		if cts[i], err = senderkey.ParseMessage(ct, senderkey.Libsignal); err != nil {
			b.Fatal(err)
		}
	}
	base := r.Clone()
	buf := make([]byte, 0, 128)
	b.SetBytes(100)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == n {
			b.StopTimer()
			r = base.Clone()
			i = 0
			b.StartTimer()
		}
		if _, err := r.Decrypt(buf[:0], &cts[i]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
