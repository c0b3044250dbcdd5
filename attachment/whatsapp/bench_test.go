package whatsapp

import (
	"bytes"
	"io"
	"testing"
)

func BenchmarkEncrypt(b *testing.B) {
	const n = 16 << 20
	pt := make([]byte, n)
	mk := &[32]byte{}
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encrypt(io.Discard, bytes.NewReader(pt), mk, Video); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	const n = 16 << 20
	mk := &[32]byte{}
	var up bytes.Buffer
	res, _ := Encrypt(&up, bytes.NewReader(make([]byte, n)), mk, Video)
	buf := make([]byte, bufSize)
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		r, err := Open(bytes.NewReader(up.Bytes()), int64(up.Len()), mk, Video,
			Expect{FileEncSHA256: res.FileEncSHA256[:], FileSHA256: res.FileSHA256[:], FileLength: n})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf); err != nil {
			b.Fatal(err)
		}
	}
}
