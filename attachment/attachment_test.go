package attachment

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refUpload builds an upload from the format's definition alone, with the
// standard library's one-shot primitives: zero padding to padded bytes,
// PKCS#7, AES-256-CBC, HMAC-SHA256 over IV || ciphertext.
func refUpload(key []byte, iv [IVSize]byte, pt []byte, padded int64) (upload, digest []byte) {
	data := append(append([]byte(nil), pt...), make([]byte, padded-int64(len(pt)))...)
	p := 16 - len(data)%16
	data = append(data, bytes.Repeat([]byte{byte(p)}, p)...)
	b, _ := aes.NewCipher(key[:32])
	cipher.NewCBCEncrypter(b, iv[:]).CryptBlocks(data, data)
	upload = append(append([]byte(nil), iv[:]...), data...)
	upload = append(upload, hmacSHA256(key[32:], upload)...)
	d := sha256.Sum256(upload)
	return upload, d[:]
}

// refIncremental is the incremental MAC by its definition: HMACs of the
// prefixes at each chunk boundary, then of the whole.
func refIncremental(key, data []byte, chunk int) []byte {
	var out []byte
	for end := chunk; end <= len(data); end += chunk {
		out = append(out, hmacSHA256(key, data[:end])...)
	}
	return append(out, hmacSHA256(key, data)...)
}

func testKey(seed uint64) *Key {
	rng := rand.New(rand.NewPCG(seed, 99))
	b := make([]byte, KeySize)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	k, _ := NewKey(b)
	return k
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

var testSizes = []int{0, 1, 15, 16, 17, 100, 540, 541, 542, 4096, 64<<10 - 1, 64 << 10, 200_000, 1<<20 + 3}

// TestWriterMatchesReference checks the Writer and the EncryptingReader
// byte for byte against refUpload, with small writes and odd reads.
func TestWriterMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	key := testKey(1)
	for _, n := range testSizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			pt := randBytes(rng, n)
			iv := [IVSize]byte(randBytes(rng, IVSize))
			want, wantDigest := refUpload(key.Bytes(), iv, pt, PaddedSize(int64(n)))
			require.Equal(t, UploadSize(PaddedSize(int64(n))), int64(len(want)))
			chunk := ChunkSize(int64(len(want)))
			wantInc := refIncremental(key.Bytes()[32:], want, chunk)

			var buf bytes.Buffer
			w := newWriter(&buf, key, &iv, chunk)
			for rest := pt; len(rest) > 0; {
				k := min(len(rest), 1+rng.IntN(70000))
				nw, err := w.Write(rest[:k])
				require.NoError(t, err)
				require.Equal(t, k, nw)
				rest = rest[k:]
			}
			require.NoError(t, w.Close())
			assert.Equal(t, want, buf.Bytes())
			assert.Equal(t, wantDigest, w.Digest())
			assert.Equal(t, wantInc, w.IncrementalMAC())
			assert.Equal(t, int64(n), w.PlaintextSize())
			assert.Equal(t, int64(len(want)), w.Size())

			r := newEncryptingReader(iotest.HalfReader(bytes.NewReader(pt)), key, &iv, chunk)
			got, err := io.ReadAll(iotest.OneByteReader(io.LimitReader(r, 1<<62)))
			if n > 100_000 { // byte-at-a-time reads of a megabyte are slow under -race
				r = newEncryptingReader(bytes.NewReader(pt), key, &iv, chunk)
				got, err = io.ReadAll(r)
			}
			require.NoError(t, err)
			assert.Equal(t, want, got)
			assert.Equal(t, wantDigest, r.Digest())
			assert.Equal(t, wantInc, r.IncrementalMAC())
			assert.Equal(t, int64(n), r.PlaintextSize())
		})
	}
}

func readAll(t *testing.T, r io.Reader) ([]byte, error) {
	t.Helper()
	var out []byte
	buf := make([]byte, 1000)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range testSizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			key := GenerateKey()
			pt := randBytes(rng, n)
			chunk := ChunkSize(UploadSize(PaddedSize(int64(n))))
			var buf bytes.Buffer
			w := NewIncrementalWriter(&buf, key, chunk)
			_, err := w.Write(pt)
			require.NoError(t, err)
			require.NoError(t, w.Close())
			up := buf.Bytes()
			p := Params{PlaintextSize: int64(n), Digest: w.Digest(), IncrementalMAC: w.IncrementalMAC(), ChunkSize: chunk}

			r, err := NewReader(iotest.HalfReader(bytes.NewReader(up)), key, p)
			require.NoError(t, err)
			got, err := readAll(t, r)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(pt, got), "NewReader plaintext")

			r, err = Open(bytes.NewReader(up), int64(len(up)), key, p)
			require.NoError(t, err)
			got, err = readAll(t, r)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(pt, got), "Open plaintext")

			got, err = Decrypt(up, key, p)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(pt, got), "Decrypt plaintext")

			// Without a size, the zero padding comes back too.
			p.PlaintextSize = -1
			got, err = Decrypt(up, key, p)
			require.NoError(t, err)
			assert.Equal(t, PaddedSize(int64(n)), int64(len(got)))
			assert.True(t, bytes.Equal(pt, got[:n]))
			assert.Equal(t, make([]byte, len(got)-n), got[n:])
		})
	}
}

// TestReaderSmallChunks runs NewReader with chunk sizes below and around
// the IV, block and MAC sizes, where the carried-over tail spans several
// chunks.
func TestReaderSmallChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	key := testKey(2)
	for _, n := range []int{0, 1, 16, 600, 1000} {
		pt := randBytes(rng, n)
		iv := [IVSize]byte(randBytes(rng, IVSize))
		up, digest := refUpload(key.Bytes(), iv, pt, PaddedSize(int64(n)))
		// Chunk sizes around the IV, block and MAC sizes, and ones that
		// leave the MAC split across the last two chunks.
		for _, chunk := range []int{1, 2, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 100,
			len(up) - 33, len(up) - 32, len(up) - 31, len(up) - 17, len(up) - 1, len(up), len(up) + 1} {
			p := Params{PlaintextSize: int64(n), Digest: digest, ChunkSize: chunk, IncrementalMAC: refIncremental(key.Bytes()[32:], up, chunk)}
			r, err := NewReader(bytes.NewReader(up), key, p)
			require.NoError(t, err)
			got, err := readAll(t, r)
			require.NoError(t, err, "n %d chunk %d", n, chunk)
			require.True(t, bytes.Equal(pt, got), "n %d chunk %d", n, chunk)

			// A changed MAC or last block under a matching incremental MAC:
			// the upload's own MAC check must catch it.
			for _, i := range []int{len(up) - 1, len(up) - 32, len(up) - 33} {
				bad := bytes.Clone(up)
				bad[i] ^= 1
				p := Params{PlaintextSize: int64(n), ChunkSize: chunk, IncrementalMAC: refIncremental(key.Bytes()[32:], bad, chunk)}
				r, err := NewReader(bytes.NewReader(bad), key, p)
				require.NoError(t, err)
				got, err := readAll(t, r)
				require.ErrorIs(t, err, ErrBadMAC, "n %d chunk %d byte %d", n, chunk, i)
				require.True(t, bytes.Equal(pt[:len(got)], got))
			}
		}
	}
}

// badPaddingUpload is a correctly MACed upload whose last block does not
// end in valid PKCS#7 padding.
func badPaddingUpload(key []byte, iv [IVSize]byte, last byte) []byte {
	return badPaddingUploadSize(key, iv, last, 48)
}

func badPaddingUploadSize(key []byte, iv [IVSize]byte, last byte, n int) []byte {
	data := make([]byte, n)
	data[n-1] = last
	b, _ := aes.NewCipher(key[:32])
	cipher.NewCBCEncrypter(b, iv[:]).CryptBlocks(data, data)
	up := append(append([]byte(nil), iv[:]...), data...)
	return append(up, hmacSHA256(key[32:], up)...)
}

// decryptAll runs every decrypting entry point and returns their plaintexts
// and errors.
func decryptAll(t *testing.T, up []byte, key *Key, p Params) (outs [][]byte, errs []error) {
	t.Helper()
	add := func(b []byte, err error) { outs = append(outs, b); errs = append(errs, err) }
	if p.IncrementalMAC != nil {
		r, err := NewReader(bytes.NewReader(up), key, p)
		require.NoError(t, err)
		add(readAll(t, r))
	}
	if r, err := Open(bytes.NewReader(up), int64(len(up)), key, p); err != nil {
		add(nil, err)
	} else {
		add(readAll(t, r))
	}
	add(Decrypt(up, key, p))
	return outs, errs
}

func TestBadInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	key := testKey(3)
	pt := randBytes(rng, 1000)
	iv := [IVSize]byte(randBytes(rng, IVSize))
	up, digest := refUpload(key.Bytes(), iv, pt, PaddedSize(1000))
	chunk := ChunkSize(int64(len(up)))
	inc := refIncremental(key.Bytes()[32:], up, chunk)
	good := Params{PlaintextSize: 1000, Digest: digest, IncrementalMAC: inc, ChunkSize: chunk}

	flip := func(i int) []byte {
		b := append([]byte(nil), up...)
		b[i] ^= 1
		return b
	}
	badPad := func(last byte) []byte { return badPaddingUpload(key.Bytes(), iv, last) }
	withMAC := func(p Params, b []byte) Params {
		// A valid incremental MAC of the bad upload, in one chunk.
		p.IncrementalMAC, p.ChunkSize, p.Digest = refIncremental(key.Bytes()[32:], b, MinChunkSize), MinChunkSize, nil
		return p
	}
	otherDigest := append([]byte(nil), digest...)
	otherDigest[31] ^= 1

	for _, c := range []struct {
		name string
		up   []byte
		p    Params
		want error
	}{
		{"empty", nil, good, ErrTruncated},
		{"IV only", up[:16], withMAC(good, up[:16]), ErrTruncated},
		{"one byte short", up[:len(up)-1], withMAC(good, up[:len(up)-1]), ErrTruncated},
		{"one byte long", append(append([]byte(nil), up...), 0), withMAC(good, append(append([]byte(nil), up...), 0)), ErrTruncated},
		{"flipped IV", flip(0), good, ErrBadMAC},
		{"flipped first block", flip(16), good, ErrBadMAC},
		{"flipped last block", flip(len(up) - 33), good, ErrBadMAC},
		{"flipped MAC", flip(len(up) - 1), good, ErrBadMAC},
		{"one block short", up[:len(up)-16], good, ErrBadMAC},
		{"wrong digest", up, Params{PlaintextSize: 1000, Digest: otherDigest, IncrementalMAC: inc, ChunkSize: chunk}, ErrBadDigest},
		{"plaintext size too large", up, Params{PlaintextSize: PaddedSize(1000) + 1, Digest: digest, IncrementalMAC: inc, ChunkSize: chunk}, ErrTruncated},
		{"pad byte 0", badPad(0), withMAC(good, badPad(0)), ErrBadPadding},
		{"pad byte 17", badPad(17), withMAC(good, badPad(17)), ErrBadPadding},
		{"pad byte 2, one byte wrong", badPad(2), withMAC(good, badPad(2)), ErrBadPadding},
		{"bad padding after 200 KB", badPaddingUploadSize(key.Bytes(), iv, 0, 200_000), Params{PlaintextSize: -1}, ErrBadPadding},
		{"valid padding, size too large", badPaddingUploadSize(key.Bytes(), iv, 1, 200_000), Params{PlaintextSize: 200_000}, ErrTruncated},
	} {
		t.Run(c.name, func(t *testing.T) {
			outs, errs := decryptAll(t, c.up, key, c.p)
			for i, err := range errs {
				assert.ErrorIs(t, err, c.want, "entry point %d", i)
				assert.ErrorIs(t, err, ErrDecryption, "entry point %d", i)
				assert.Empty(t, outs[i], "entry point %d released plaintext", i)
			}
		})
	}

	// A wrong incremental MAC of the last chunk: NewReader only.
	badInc := append([]byte(nil), inc...)
	badInc[len(badInc)-1] ^= 1
	r, err := NewReader(bytes.NewReader(up), key, Params{PlaintextSize: 1000, IncrementalMAC: badInc, ChunkSize: chunk})
	require.NoError(t, err)
	got, err := readAll(t, r)
	assert.ErrorIs(t, err, ErrBadMAC)
	assert.Empty(t, got)
	_, err = r.Read(make([]byte, 10))
	assert.ErrorIs(t, err, ErrBadMAC, "errors are sticky")
}

// TestReaderReleasesOnlyVerifiedChunks corrupts one chunk of a multi-chunk
// upload and checks that exactly the plaintext of the chunks before it is
// released.
func TestReaderReleasesOnlyVerifiedChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	key := testKey(4)
	const n, chunk = 10_000, 1024
	pt := randBytes(rng, n)
	iv := [IVSize]byte(randBytes(rng, IVSize))
	up, _ := refUpload(key.Bytes(), iv, pt, PaddedSize(n))
	inc := refIncremental(key.Bytes()[32:], up, chunk)
	// A download cut off after k whole chunks: those are released, the
	// final check fails.
	for k := 0; k <= len(up)/chunk; k++ {
		r, err := NewReader(bytes.NewReader(up[:k*chunk]), key, Params{PlaintextSize: n, IncrementalMAC: inc, ChunkSize: chunk})
		require.NoError(t, err)
		got, err := readAll(t, r)
		require.ErrorIs(t, err, ErrDecryption, "cut after %d chunks", k)
		assert.LessOrEqual(t, len(got), max(k*chunk-IVSize, 0))
		assert.True(t, bytes.Equal(pt[:len(got)], got))
	}
	for _, bad := range []int{0, 1, 5, len(up)/chunk - 1, len(up) / chunk} {
		b := append([]byte(nil), up...)
		b[bad*chunk+chunk/2] ^= 0x40
		r, err := NewReader(bytes.NewReader(b), key, Params{PlaintextSize: n, IncrementalMAC: inc, ChunkSize: chunk})
		require.NoError(t, err)
		got, err := readAll(t, r)
		require.ErrorIs(t, err, ErrBadMAC, "chunk %d", bad)
		// Chunks before the bad one are verified; of their bytes, all but
		// the held-back tail (MAC and final block sized) are released.
		verified := bad*chunk - IVSize
		assert.LessOrEqual(t, len(got), max(verified, 0), "chunk %d", bad)
		assert.GreaterOrEqual(t, len(got), max(verified-MACSize-2*blockSize, 0), "chunk %d", bad)
		assert.True(t, bytes.Equal(pt[:len(got)], got), "chunk %d", bad)
	}
}

func TestInvalidParams(t *testing.T) {
	key := testKey(5)
	for _, p := range []Params{
		{ChunkSize: 64 << 10},
		{ChunkSize: 64 << 10, IncrementalMAC: make([]byte, 31)},
		{ChunkSize: 0, IncrementalMAC: make([]byte, 32)},
		{ChunkSize: MaxChunkSize + 1, IncrementalMAC: make([]byte, 32)},
		{ChunkSize: 32, IncrementalMAC: make([]byte, 32), Digest: make([]byte, 31)},
	} {
		_, err := NewReader(strings.NewReader(""), key, p)
		assert.ErrorIs(t, err, ErrInvalidParams)
		assert.NotErrorIs(t, err, ErrDecryption)
	}
	_, err := Open(bytes.NewReader(make([]byte, 64)), 64, key, Params{Digest: make([]byte, 5)})
	assert.ErrorIs(t, err, ErrInvalidParams)
	_, err = NewKey(make([]byte, 63))
	assert.ErrorIs(t, err, ErrInvalidParams)
}

func TestKeyIsNotPrinted(t *testing.T) {
	b := bytes.Repeat([]byte{0xab}, KeySize)
	k, err := NewKey(b)
	require.NoError(t, err)
	assert.Equal(t, b, k.Bytes())
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", *k), fmt.Sprintf("%x", k), fmt.Sprintf("%s", *k)} {
		assert.Equal(t, "attachment.Key{…}", s)
	}
	var buf bytes.Buffer
	w := NewWriter(&buf, k)
	w.Write([]byte("secret plaintext"))
	assert.Equal(t, "attachment.Writer{…}", fmt.Sprintf("%+v", w))
	er := NewEncryptingReader(strings.NewReader("secret plaintext"), k, 0)
	assert.Equal(t, "attachment.EncryptingReader{…}", fmt.Sprintf("%+v", er))
	require.NoError(t, w.Close())
	r, err := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), k, Params{PlaintextSize: -1})
	require.NoError(t, err)
	r.Read(make([]byte, 1))
	assert.Equal(t, "attachment.Reader{…}", fmt.Sprintf("%+v", r))
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n < len(p) {
		return 0, errors.New("disk full")
	}
	f.n -= len(p)
	return len(p), nil
}

func TestWriterErrors(t *testing.T) {
	w := NewWriter(&failWriter{n: 100}, GenerateKey())
	_, err := w.Write(make([]byte, 200_000))
	require.Error(t, err)
	_, err2 := w.Write([]byte{1})
	assert.Equal(t, err, err2, "sticky")
	assert.Equal(t, err, w.Close())

	w = NewWriter(io.Discard, GenerateKey())
	require.NoError(t, w.Close())
	require.NoError(t, w.Close())
	_, err = w.Write([]byte{1})
	assert.ErrorIs(t, err, ErrClosed)
}

// allocated returns the bytes allocated while running f.
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestConstantMemory checks that encrypting and decrypting allocate the
// same amount for 256 KiB and for 8 MiB (up to the incremental MAC list,
// a few KiB): the streams never hold the file.
func TestConstantMemory(t *testing.T) {
	key := testKey(6)
	run := func(n int) func() {
		pt := make([]byte, n)
		chunk := ChunkSize(UploadSize(PaddedSize(int64(n))))
		var up bytes.Buffer
		w := NewIncrementalWriter(&up, key, chunk)
		w.Write(pt)
		require.NoError(t, w.Close())
		p := Params{PlaintextSize: int64(n), Digest: w.Digest(), IncrementalMAC: w.IncrementalMAC(), ChunkSize: chunk}
		src := bytes.NewReader(up.Bytes())
		buf := make([]byte, bufSize)
		return func() {
			w := NewIncrementalWriter(io.Discard, key, chunk)
			for off := 0; off < n; off += len(buf) {
				w.Write(pt[off : off+len(buf)])
			}
			w.Close()
			src.Seek(0, io.SeekStart)
			r, err := NewReader(src, key, p)
			if err != nil {
				panic(err)
			}
			io.CopyBuffer(io.Discard, onlyReader{r}, buf)
			src.Seek(0, io.SeekStart)
			r, err = Open(src, src.Size(), key, p)
			if err != nil {
				panic(err)
			}
			io.CopyBuffer(io.Discard, onlyReader{r}, buf)
		}
	}
	small, large := run(256<<10), run(8<<20)
	a, b := allocated(small), allocated(large)
	t.Logf("allocated: 256 KiB -> %d B, 8 MiB -> %d B", a, b)
	assert.Less(t, b, a+32<<10, "allocation grows with the size")
	assert.Less(t, b, uint64(1<<20), "allocation not bounded")
}

func TestEncryptingReaderSourceError(t *testing.T) {
	boom := errors.New("boom")
	r := NewEncryptingReader(iotest.ErrReader(boom), GenerateKey(), 0)
	_, err := io.ReadAll(r)
	assert.ErrorIs(t, err, boom)
	_, err = r.Read(make([]byte, 10))
	assert.ErrorIs(t, err, boom, "sticky")
}
