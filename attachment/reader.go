package attachment

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"io"
)

// Params are the values of an AttachmentPointer that a recipient needs
// besides the key.
type Params struct {
	// PlaintextSize is the attachment's size: the number of bytes the
	// reader returns. The zero padding after them is verified like the rest
	// and discarded. A negative PlaintextSize returns the padding too.
	PlaintextSize int64

	// Digest, if not nil, is the expected SHA-256 of the whole upload
	// (32 bytes).
	Digest []byte

	// IncrementalMAC is the concatenation of the incremental MACs and
	// ChunkSize the chunk size they were computed with (1 to MaxChunkSize).
	// NewReader requires them; Open ignores them.
	IncrementalMAC []byte
	ChunkSize      int
}

// headroom is space kept in front of the chunk buffer for the bytes carried
// over from the previous chunk (at most MACSize+2*blockSize-1).
const headroom = 64

// Reader decrypts and verifies an attachment upload as a stream. See
// [NewReader] and [Open].
type Reader struct {
	src       io.Reader
	key       *Key
	cbc       cipher.BlockMode
	mac       hash.Hash
	digest    hash.Hash
	val       *validator
	want      [DigestSize]byte
	hasDigest bool
	remaining int64 // plaintext bytes still to return; negative: unlimited
	chunk     int
	buf       []byte // headroom || chunk
	carry     [headroom]byte
	ncarry    int
	peek      [MACSize]byte // lookahead
	npeek     int
	srcEOF    bool
	tagMAC    [MACSize]byte // the HMAC of IV || ciphertext
	haveTag   bool
	out       []byte // verified plaintext not yet returned
	err       error
	eof       bool
	total     int64 // upload bytes read
}

// NewReader returns a Reader of the plaintext of an upload read from src,
// which carries an incremental MAC (p.IncrementalMAC and p.ChunkSize).
//
// The Reader reads the upload one chunk at a time, and returns a chunk's
// plaintext only after the chunk's incremental MAC matched. The plaintext
// of the last chunk is returned only after the final incremental MAC, the
// upload's HMAC, the digest (if p.Digest is set) and the PKCS#7 padding have
// been checked too. Memory use is bounded by the chunk size (at most 2 MiB).
//
// Bad input ends the stream with ErrTruncated, ErrBadMAC, ErrBadDigest or
// ErrBadPadding. Plaintext of earlier chunks, each verified, may already have
// been returned: a caller that needs all or nothing must discard it on error.
// NewReader returns ErrInvalidParams if the incremental MAC is not a
// non-empty multiple of 32 bytes, the chunk size is out of range, or the
// digest is not 32 bytes.
func NewReader(src io.Reader, key *Key, p Params) (*Reader, error) {
	if len(p.IncrementalMAC) == 0 || len(p.IncrementalMAC)%sha256.Size != 0 {
		return nil, fmt.Errorf("%w: incremental MAC must be a non-empty multiple of %d bytes", ErrInvalidParams, sha256.Size)
	}
	if p.ChunkSize < 1 || p.ChunkSize > MaxChunkSize {
		return nil, fmt.Errorf("%w: chunk size %d out of range", ErrInvalidParams, p.ChunkSize)
	}
	r, err := newReader(src, key, p, p.ChunkSize)
	if err != nil {
		return nil, err
	}
	r.val = newValidator(key.mac[:], p.ChunkSize, p.IncrementalMAC)
	r.mac = nil // the validator's HMAC yields the upload's MAC
	return r, nil
}

// Open returns a Reader of the plaintext of the upload of size bytes held in
// src, for an attachment without an incremental MAC. It first reads the
// whole upload and checks its length, HMAC and digest (if p.Digest is set),
// then decrypts the last block to check the PKCS#7 padding and the declared
// plaintext size, returning ErrTruncated, ErrBadMAC, ErrBadDigest or
// ErrBadPadding. Only then does it return the Reader, which decrypts in a
// second pass and checks everything again in case src changed in between
// (the only way the Reader can then fail).
// p.IncrementalMAC and p.ChunkSize are ignored. Memory use is constant.
func Open(src io.ReaderAt, size int64, key *Key, p Params) (*Reader, error) {
	if p.Digest != nil && len(p.Digest) != DigestSize {
		return nil, fmt.Errorf("%w: digest must be %d bytes", ErrInvalidParams, DigestSize)
	}
	if size < MinUploadSize || (size-IVSize-MACSize)%blockSize != 0 {
		return nil, ErrTruncated
	}
	mac := hmac.New(sha256.New, key.mac[:])
	digest := sha256.New()
	body := io.NewSectionReader(src, 0, size-MACSize)
	buf := make([]byte, bufSize)
	if _, err := io.CopyBuffer(io.MultiWriter(mac, digest), onlyReader{body}, buf); err != nil {
		return nil, err
	}
	var tag [MACSize]byte
	if err := readFullAt(src, tag[:], size-MACSize); err != nil {
		return nil, err
	}
	if !hmac.Equal(mac.Sum(buf[:0]), tag[:]) {
		return nil, ErrBadMAC
	}
	if p.Digest != nil {
		digest.Write(tag[:])
		if subtle.ConstantTimeCompare(digest.Sum(buf[:0]), p.Digest) != 1 {
			return nil, ErrBadDigest
		}
	}
	// Check the padding and the declared size now too, so that the second
	// pass fails only if src changed: decrypt the last block, chained to
	// the block (or IV) before it.
	var last [2 * blockSize]byte
	if err := readFullAt(src, last[:], size-MACSize-2*blockSize); err != nil {
		return nil, err
	}
	b, _ := aes.NewCipher(key.aes[:]) // cannot fail: 32-byte key
	cipher.NewCBCDecrypter(b, last[:blockSize]).CryptBlocks(last[blockSize:], last[blockSize:])
	padLen, ok := checkPadding((*[blockSize]byte)(last[blockSize:]))
	clear(last[:])
	if !ok {
		return nil, ErrBadPadding
	}
	if p.PlaintextSize > size-IVSize-MACSize-int64(padLen) {
		return nil, ErrTruncated
	}
	p.IncrementalMAC, p.ChunkSize = nil, 0
	return newReader(io.NewSectionReader(src, 0, size), key, p, bufSize)
}

// onlyReader hides WriterTo, so that io.CopyBuffer uses the given buffer.
type onlyReader struct{ io.Reader }

func newReader(src io.Reader, key *Key, p Params, chunk int) (*Reader, error) {
	r := &Reader{
		src:       src,
		key:       key,
		mac:       hmac.New(sha256.New, key.mac[:]),
		digest:    sha256.New(),
		remaining: p.PlaintextSize,
		chunk:     chunk,
		buf:       make([]byte, headroom+chunk),
	}
	if p.Digest != nil {
		if len(p.Digest) != DigestSize {
			return nil, fmt.Errorf("%w: digest must be %d bytes", ErrInvalidParams, DigestSize)
		}
		copy(r.want[:], p.Digest)
		r.hasDigest = true
	}
	return r, nil
}

// Read returns verified plaintext. At the end of a valid upload it returns
// io.EOF; on bad input one of the errors matching ErrDecryption, after which
// every call returns the same error.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.eof {
			return 0, io.EOF
		}
		if err := r.next(); err != nil {
			r.out, r.err = nil, err
		}
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// next reads, verifies and decrypts one chunk, leaving the plaintext that
// may be returned in r.out.
func (r *Reader) next() error {
	// The next chunk: the lookahead bytes first, then the source.
	seg := r.buf[headroom:]
	n := copy(seg, r.peek[:r.npeek])
	r.npeek = copy(r.peek[:], r.peek[n:r.npeek])
	if n < len(seg) && !r.srcEOF {
		m, err := r.readSrc(seg[n:])
		if err != nil {
			return err
		}
		n += m
	}
	// Keep MACSize bytes of lookahead: once the source ends within them,
	// the position of the MAC is known before the chunk holding its first
	// byte is hashed.
	if r.npeek < MACSize && !r.srcEOF {
		m, err := r.readSrc(r.peek[r.npeek:])
		if err != nil {
			return err
		}
		r.npeek += m
	}
	last := r.srcEOF && r.npeek == 0
	seg = seg[:n]
	segStart := r.total
	r.total += int64(n)
	if last && (r.total < MinUploadSize || (r.total-IVSize-MACSize)%blockSize != 0) {
		return ErrTruncated
	}

	// Check the raw upload bytes first.
	r.digest.Write(seg)
	if r.val != nil {
		ok := true
		tagAt := r.total + int64(r.npeek) - MACSize // valid once srcEOF
		if r.srcEOF && !r.haveTag && tagAt >= segStart && tagAt < r.total {
			// The incremental MAC is an HMAC under the upload's MAC key:
			// its running value just before the MAC is the upload's MAC,
			// so no second HMAC pass is needed.
			k := int(tagAt - segStart)
			ok = r.val.update(seg[:k]) // k < len(seg): no chunk boundary
			r.val.mac.Sum(r.tagMAC[:0])
			r.haveTag = true
			seg = seg[k:]
		}
		if !r.val.update(seg) || !ok || (last && !r.val.finish()) {
			return ErrBadMAC
		}
	}

	// Prepend the bytes carried over from the previous chunk.
	start := headroom - r.ncarry
	copy(r.buf[start:headroom], r.carry[:r.ncarry])
	s := r.buf[start : headroom+n]
	r.ncarry = 0

	if r.cbc == nil {
		if len(s) < IVSize {
			if last {
				return ErrTruncated
			}
			r.ncarry = copy(r.carry[:], s)
			return nil
		}
		b, _ := aes.NewCipher(r.key.aes[:]) // cannot fail: 32-byte key
		r.cbc = cipher.NewCBCDecrypter(b, s[:IVSize])
		if r.mac != nil {
			r.mac.Write(s[:IVSize])
		}
		s = s[IVSize:]
	}

	if !last {
		// Hold back the last MACSize+blockSize bytes (and any partial
		// block): they may be the MAC and the padded final block.
		k := max(len(s)-MACSize-blockSize, 0) &^ (blockSize - 1)
		body := s[:k]
		r.ncarry = copy(r.carry[:], s[k:])
		if r.mac != nil {
			r.mac.Write(body)
		}
		r.cbc.CryptBlocks(body, body)
		r.release(body)
		return nil
	}

	if len(s) < blockSize+MACSize || (len(s)-MACSize)%blockSize != 0 {
		return ErrTruncated
	}
	ct, tag := s[:len(s)-MACSize], s[len(s)-MACSize:]
	var sum [sha256.Size]byte
	if r.mac != nil {
		r.mac.Write(ct)
		r.mac.Sum(r.tagMAC[:0])
	} else if !r.haveTag {
		return ErrTruncated // unreachable: the length was checked above
	}
	if !hmac.Equal(r.tagMAC[:], tag) {
		return ErrBadMAC
	}
	if r.hasDigest && subtle.ConstantTimeCompare(r.digest.Sum(sum[:0]), r.want[:]) != 1 {
		return ErrBadDigest
	}
	r.cbc.CryptBlocks(ct, ct)
	padLen, ok := checkPadding((*[blockSize]byte)(ct[len(ct)-blockSize:]))
	if !ok {
		clear(ct)
		return ErrBadPadding
	}
	pt := ct[:len(ct)-padLen]
	if r.remaining > int64(len(pt)) {
		clear(ct)
		return ErrTruncated
	}
	r.release(pt)
	r.eof = true
	return nil
}

// readSrc fills p from the source, recording its end.
func (r *Reader) readSrc(p []byte) (int, error) {
	n, err := io.ReadFull(r.src, p)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		r.srcEOF = true
		err = nil
	}
	return n, err
}

// release makes verified plaintext readable, up to the declared size.
func (r *Reader) release(pt []byte) {
	if r.remaining >= 0 {
		k := min(int64(len(pt)), r.remaining)
		pt = pt[:k]
		r.remaining -= k
	}
	r.out = pt
}

// checkPadding reports in constant time whether last ends in valid PKCS#7
// padding and, if so, its length.
func checkPadding(last *[blockSize]byte) (int, bool) {
	p := last[blockSize-1]
	good := subtle.ConstantTimeLessOrEq(1, int(p)) & subtle.ConstantTimeLessOrEq(int(p), blockSize)
	for i := 0; i < blockSize; i++ {
		// Byte i belongs to the padding if i+p >= blockSize.
		in := subtle.ConstantTimeLessOrEq(blockSize, i+int(p))
		eq := subtle.ConstantTimeByteEq(last[i], p)
		good &= eq | (in ^ 1)
	}
	return int(p), good == 1
}

// Decrypt is a convenience for small attachments held in memory: it checks
// upload (length, HMAC, digest if set, padding) and returns the plaintext
// trimmed to p.PlaintextSize, or nil and an error matching ErrDecryption.
func Decrypt(upload []byte, key *Key, p Params) ([]byte, error) {
	r, err := Open(bytesReaderAt(upload), int64(len(upload)), key, p)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(upload))
	for {
		n, err := r.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			clear(out)
			return nil, err
		}
	}
}

// readFullAt reads exactly len(p) bytes at off.
func readFullAt(src io.ReaderAt, p []byte, off int64) error {
	n, err := src.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
