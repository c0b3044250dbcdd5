package cbc_test

import (
	"testing"

	"github.com/ratchetlab/signal/internal/cbc"
)

var benchSizes = []struct {
	name string
	n    int
}{{"100B", 100}, {"1KiB", 1024}, {"64KiB", 64 * 1024}}

func BenchmarkEncrypt(b *testing.B) {
	var key [32]byte
	var iv [16]byte
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			pt := make([]byte, s.n)
			out := make([]byte, 0, s.n+16)
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for b.Loop() {
				out = cbc.Encrypt(out[:0], &key, &iv, pt)
			}
		})
	}
}

func BenchmarkDecrypt(b *testing.B) {
	var key [32]byte
	var iv [16]byte
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			ct := cbc.Encrypt(nil, &key, &iv, make([]byte, s.n))
			out := make([]byte, 0, len(ct))
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				out, err = cbc.Decrypt(out[:0], &key, &iv, ct)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
