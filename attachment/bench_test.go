package attachment

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
	"testing"
	"time"
)

// The attachment benchmarks and the floors they are compared with live in
// one file so that ratios come from one run. Encryption cannot beat the
// sum of its serial parts on one core: AES-256-CBC encryption (serial by
// construction), HMAC-SHA256 over the ciphertext and SHA-256 over the upload
// (plus one more HMAC-SHA256 pass for the incremental MAC).

var benchSizes = []struct {
	name string
	n    int
}{{"1MiB", 1 << 20}, {"16MiB", 16 << 20}}

func benchUpload(b *testing.B, n int, key *Key) (up []byte, p Params) {
	b.Helper()
	chunk := ChunkSize(UploadSize(PaddedSize(int64(n))))
	var buf bytes.Buffer
	w := NewIncrementalWriter(&buf, key, chunk)
	w.Write(make([]byte, n))
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes(), Params{PlaintextSize: int64(n), Digest: w.Digest(), IncrementalMAC: w.IncrementalMAC(), ChunkSize: chunk}
}

func BenchmarkEncrypt(b *testing.B) {
	key := testKey(30)
	for _, s := range benchSizes {
		pt := make([]byte, s.n)
		chunk := ChunkSize(UploadSize(PaddedSize(int64(s.n))))
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for b.Loop() {
				w := NewWriter(io.Discard, key)
				w.Write(pt)
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.name+"-incremental", func(b *testing.B) {
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for b.Loop() {
				w := NewIncrementalWriter(io.Discard, key, chunk)
				w.Write(pt)
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecrypt(b *testing.B) {
	key := testKey(31)
	for _, s := range benchSizes {
		up, p := benchUpload(b, s.n, key)
		out := make([]byte, bufSize)
		b.Run(s.name+"-incremental", func(b *testing.B) {
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for b.Loop() {
				r, err := NewReader(bytes.NewReader(up), key, p)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(io.Discard, onlyReader{r}, out); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.name+"-open", func(b *testing.B) {
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for b.Loop() {
				r, err := Open(bytes.NewReader(up), int64(len(up)), key, p)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(io.Discard, onlyReader{r}, out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFloor measures the primitives over 16 MiB in 64 KiB pieces, as
// the Writer and Reader call them.
func BenchmarkFloor(b *testing.B) {
	const n = 16 << 20
	data := make([]byte, n)
	buf := make([]byte, bufSize)
	var key [32]byte
	var iv [16]byte
	blk, _ := aes.NewCipher(key[:])
	for _, f := range []struct {
		name string
		run  func()
	}{
		{"AES-256-CBC-encrypt", func() {
			m := cipher.NewCBCEncrypter(blk, iv[:])
			for off := 0; off < n; off += bufSize {
				m.CryptBlocks(buf, data[off:off+bufSize])
			}
		}},
		{"AES-256-CBC-decrypt", func() {
			m := cipher.NewCBCDecrypter(blk, iv[:])
			for off := 0; off < n; off += bufSize {
				m.CryptBlocks(buf, data[off:off+bufSize])
			}
		}},
		{"HMAC-SHA256", func() {
			h := hmac.New(sha256.New, key[:])
			for off := 0; off < n; off += bufSize {
				h.Write(data[off : off+bufSize])
			}
			h.Sum(buf[:0])
		}},
		{"SHA-256", func() {
			h := sha256.New()
			for off := 0; off < n; off += bufSize {
				h.Write(data[off : off+bufSize])
			}
			h.Sum(buf[:0])
		}},
	} {
		b.Run(fmt.Sprintf("16MiB/%s", f.name), func(b *testing.B) {
			b.SetBytes(n)
			b.ReportAllocs()
			for b.Loop() {
				f.run()
			}
		})
	}
}

// floorPass runs the serial work an upload of data needs at minimum:
// AES-256-CBC encryption (or decryption), HMAC-SHA256 over the ciphertext
// and SHA-256 over the upload. (The incremental MAC needs no pass of its
// own: the Writer and Reader take the upload's MAC from its running HMAC.)
func floorPass(data, buf []byte, decrypt bool) {
	var key [32]byte
	blk, _ := aes.NewCipher(key[:])
	var m cipher.BlockMode
	if decrypt {
		m = cipher.NewCBCDecrypter(blk, key[:16])
	} else {
		m = cipher.NewCBCEncrypter(blk, key[:16])
	}
	mac, dig := hmac.New(sha256.New, key[:]), sha256.New()
	for off := 0; off < len(data); off += len(buf) {
		m.CryptBlocks(buf, data[off:off+len(buf)])
		mac.Write(buf)
		dig.Write(buf)
	}
	mac.Sum(buf[:0])
	dig.Sum(buf[:0])
}

// BenchmarkRatio interleaves, in every iteration, the floor pass and the
// real operation over 16 MiB, and reports their time ratio ("x-floor"), so
// that the ratio holds even on a loaded machine whose speed drifts during a
// run. ns/op and MB/s are those of the pair.
func BenchmarkRatio(b *testing.B) {
	const n = 16 << 20
	key := testKey(32)
	pt := make([]byte, n)
	data := make([]byte, n)
	buf := make([]byte, bufSize)
	up, p := benchUpload(b, n, key)
	chunk := p.ChunkSize
	for _, c := range []struct {
		name    string
		decrypt bool
		run     func()
	}{
		{"encrypt", false, func() {
			w := NewWriter(io.Discard, key)
			w.Write(pt)
			w.Close()
		}},
		{"encrypt-incremental", false, func() {
			w := NewIncrementalWriter(io.Discard, key, chunk)
			w.Write(pt)
			w.Close()
		}},
		{"decrypt-incremental", true, func() {
			r, _ := NewReader(bytes.NewReader(up), key, p)
			if _, err := io.CopyBuffer(io.Discard, onlyReader{r}, buf); err != nil {
				b.Fatal(err)
			}
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(2 * n)
			b.ReportAllocs()
			var floor, real time.Duration
			for b.Loop() {
				t0 := time.Now()
				floorPass(data, buf, c.decrypt)
				t1 := time.Now()
				c.run()
				floor += t1.Sub(t0)
				real += time.Since(t1)
			}
			b.ReportMetric(float64(real)/float64(floor), "x-floor")
			b.ReportMetric(float64(n)*float64(b.N)/real.Seconds()/1e6, "MB/s-op")
			b.ReportMetric(float64(n)*float64(b.N)/floor.Seconds()/1e6, "MB/s-floor")
		})
	}
}
