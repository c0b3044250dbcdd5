package attachment

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
)

// bufSize is the size of the Writer's output buffer and of the reads of the
// EncryptingReader: large enough to amortise the per-call costs, small enough
// to stay in cache.
const bufSize = 64 << 10

// ErrClosed is returned by Write on a Writer that was closed.
var ErrClosed = errors.New("attachment: write on closed Writer")

// Writer encrypts a stream into a Signal attachment upload. It writes the IV,
// then the ciphertext as whole blocks become available, and on Close the
// zero padding, the PKCS#7 block and the MAC. The MAC, the digest and (for
// [NewIncrementalWriter]) the incremental MAC are computed in the same pass.
// Memory use is constant: one 64 KiB buffer.
type Writer struct {
	dst     io.Writer
	cbc     cipher.BlockMode
	mac     hash.Hash
	digest  hash.Hash
	inc     *IncrementalMAC
	partial [blockSize]byte
	npart   int
	buf     []byte // pending output, len(buf) <= bufSize
	n       int64  // plaintext bytes written (including padding once closed)
	size    int64  // upload bytes written to dst
	pt      int64  // caller's plaintext size
	err     error
	closed  bool
	sum     [DigestSize]byte
	incSum  []byte
}

// NewWriter returns a Writer that encrypts to dst under key with a fresh
// random IV and pads the plaintext to [PaddedSize]. Close must be called.
func NewWriter(dst io.Writer, key *Key) *Writer {
	var iv [IVSize]byte
	rand.Read(iv[:])
	return newWriter(dst, key, &iv, 0)
}

// NewIncrementalWriter is like [NewWriter] but also computes the incremental
// MAC of the upload with the given chunk size, which the recipient needs to
// know: Signal sends it in the AttachmentPointer, and chooses it as
// [ChunkSize]([UploadSize]([PaddedSize](plaintext size))). It panics if
// chunkSize is not positive.
func NewIncrementalWriter(dst io.Writer, key *Key, chunkSize int) *Writer {
	if chunkSize <= 0 {
		panic("attachment: incremental MAC chunk size must be positive")
	}
	var iv [IVSize]byte
	rand.Read(iv[:])
	return newWriter(dst, key, &iv, chunkSize)
}

func newWriter(dst io.Writer, key *Key, iv *[IVSize]byte, chunkSize int) *Writer {
	b, _ := aes.NewCipher(key.aes[:]) // cannot fail: 32-byte key
	w := &Writer{
		dst:    dst,
		cbc:    cipher.NewCBCEncrypter(b, iv[:]),
		digest: sha256.New(),
		buf:    make([]byte, 0, bufSize),
	}
	w.buf = append(w.buf, iv[:]...)
	if chunkSize != 0 {
		// The incremental MAC is an HMAC-SHA256 under the same key over
		// the upload, of which IV || ciphertext is a prefix: its running
		// value at the end of the ciphertext is the upload's MAC, so one
		// HMAC pass serves both.
		w.inc = NewIncrementalMAC(key.mac[:], chunkSize)
	} else {
		w.mac = hmac.New(sha256.New, key.mac[:])
		w.mac.Write(iv[:])
	}
	return w
}

// Write encrypts p. Errors from the underlying writer are returned, and
// every later call returns the same error.
func (w *Writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	w.pt += int64(n)
	w.write(p)
	if w.err != nil {
		return 0, w.err
	}
	return n, nil
}

// write encrypts p, which is plaintext or padding.
func (w *Writer) write(p []byte) {
	w.n += int64(len(p))
	if w.npart > 0 {
		k := copy(w.partial[w.npart:], p)
		w.npart += k
		p = p[k:]
		if w.npart < blockSize {
			return
		}
		w.encrypt(w.partial[:])
		w.npart = 0
	}
	for len(p) >= blockSize && w.err == nil {
		room := (cap(w.buf) - len(w.buf)) &^ (blockSize - 1)
		if room == 0 {
			w.flush()
			continue
		}
		k := min(room, len(p)&^(blockSize-1))
		w.encrypt(p[:k])
		p = p[k:]
	}
	w.npart = copy(w.partial[:], p)
}

// encrypt appends the encryption of the whole blocks p to the buffer, which
// must have room for them, and adds the ciphertext to the MAC.
func (w *Writer) encrypt(p []byte) {
	if cap(w.buf)-len(w.buf) < len(p) {
		w.flush()
	}
	out := w.buf[len(w.buf) : len(w.buf)+len(p)]
	w.cbc.CryptBlocks(out, p)
	if w.mac != nil {
		w.mac.Write(out)
	}
	w.buf = w.buf[:len(w.buf)+len(p)]
}

// flush hashes the buffered output into the digest and the incremental MAC
// and writes it to dst.
func (w *Writer) flush() {
	if w.err != nil || len(w.buf) == 0 {
		return
	}
	w.digest.Write(w.buf)
	if w.inc != nil {
		w.inc.Write(w.buf)
	}
	n, err := w.dst.Write(w.buf)
	w.size += int64(n)
	if err == nil && n < len(w.buf) {
		err = io.ErrShortWrite
	}
	w.err = err
	w.buf = w.buf[:0]
}

var zeros [bufSize]byte

// pad writes up to max bytes of the zero padding and returns how many remain.
func (w *Writer) pad(limit int) int64 {
	left := PaddedSize(w.pt) - w.n
	k := int(min(left, int64(limit)))
	w.write(zeros[:k])
	return left - int64(k)
}

// Close pads the plaintext, writes the final block and the MAC, and flushes.
// It does not close dst. After Close, [Writer.Digest] and
// [Writer.IncrementalMAC] return the values to put in the AttachmentPointer.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	for w.err == nil && w.pad(bufSize) > 0 {
	}
	w.finish()
	return w.err
}

// finish writes the PKCS#7 block and the MAC and flushes.
func (w *Writer) finish() {
	w.closed = true
	if w.err != nil {
		return
	}
	padLen := blockSize - w.npart
	for i := w.npart; i < blockSize; i++ {
		w.partial[i] = byte(padLen)
	}
	w.encrypt(w.partial[:])
	clear(w.partial[:])
	if cap(w.buf)-len(w.buf) < MACSize {
		w.flush()
	}
	if w.inc != nil {
		w.flush() // the incremental MAC has now seen exactly IV || ciphertext
		if w.err != nil {
			return
		}
		w.buf = w.inc.mac.Sum(w.buf)
	} else {
		w.buf = w.mac.Sum(w.buf)
	}
	w.flush()
	if w.err != nil {
		return
	}
	w.digest.Sum(w.sum[:0])
	if w.inc != nil {
		w.incSum = w.inc.Sum(nil)
	}
}

// Digest returns the SHA-256 of the upload (the AttachmentPointer's digest).
// It is valid only after a successful Close.
func (w *Writer) Digest() []byte { return append([]byte(nil), w.sum[:]...) }

// IncrementalMAC returns the incremental MAC of the upload (the
// AttachmentPointer's incrementalMac), or nil for a Writer made by
// [NewWriter]. It is valid only after a successful Close.
func (w *Writer) IncrementalMAC() []byte { return append([]byte(nil), w.incSum...) }

// PlaintextSize returns the number of plaintext bytes written (the
// AttachmentPointer's size), excluding padding.
func (w *Writer) PlaintextSize() int64 { return w.pt }

// Size returns the number of upload bytes written to dst so far.
func (w *Writer) Size() int64 { return w.size }

// EncryptingReader reads a plaintext stream and returns the attachment
// upload, for use as an HTTP request body. Its memory use is constant: it
// reads the source 64 KiB at a time and generates the padding as it goes.
type EncryptingReader struct {
	src  io.Reader
	w    *Writer
	out  []byte // encrypted bytes, read up to off
	off  int
	in   []byte
	eof  bool
	done bool
	err  error // sticky error of the source
}

// NewEncryptingReader returns a reader of the upload of src under key, with
// a random IV. chunkSize is the incremental MAC's chunk size, or 0 for none.
// It panics if chunkSize is negative.
func NewEncryptingReader(src io.Reader, key *Key, chunkSize int) *EncryptingReader {
	if chunkSize < 0 {
		panic("attachment: negative chunk size")
	}
	var iv [IVSize]byte
	rand.Read(iv[:])
	return newEncryptingReader(src, key, &iv, chunkSize)
}

func newEncryptingReader(src io.Reader, key *Key, iv *[IVSize]byte, chunkSize int) *EncryptingReader {
	r := &EncryptingReader{src: src, in: make([]byte, bufSize), out: make([]byte, 0, 2*bufSize)}
	r.w = newWriter((*sink)(r), key, iv, chunkSize)
	return r
}

// sink receives the Writer's output into the reader's pending bytes.
type sink EncryptingReader

func (s *sink) Write(p []byte) (int, error) {
	s.out = append(s.out, p...)
	return len(p), nil
}

// Read reads upload bytes. It returns io.EOF after the MAC, or the error of
// the source, after which every call returns that error.
func (r *EncryptingReader) Read(p []byte) (int, error) {
	for r.off == len(r.out) {
		if r.err != nil {
			return 0, r.err
		}
		if r.done {
			return 0, io.EOF
		}
		r.out, r.off = r.out[:0], 0
		r.err = r.fill()
	}
	n := copy(p, r.out[r.off:])
	r.off += n
	return n, nil
}

func (r *EncryptingReader) fill() error {
	if !r.eof {
		n, err := r.src.Read(r.in)
		if n > 0 {
			r.w.pt += int64(n)
			r.w.write(r.in[:n])
			r.w.flush()
		}
		if err == io.EOF {
			r.eof = true
		} else if err != nil {
			return err
		}
		return nil
	}
	if r.w.pad(bufSize) == 0 {
		r.w.finish()
		r.done = true
	} else {
		r.w.flush()
	}
	return nil
}

// Digest returns the SHA-256 of the upload; valid after Read returned io.EOF.
func (r *EncryptingReader) Digest() []byte { return r.w.Digest() }

// IncrementalMAC returns the incremental MAC; valid after Read returned io.EOF.
func (r *EncryptingReader) IncrementalMAC() []byte { return r.w.IncrementalMAC() }

// PlaintextSize returns the number of plaintext bytes read from the source.
func (r *EncryptingReader) PlaintextSize() int64 { return r.w.pt }
