// Package whatsapp implements WhatsApp's media encryption, the format in
// which WhatsApp clients upload images, video, audio, documents, history and
// app-state blobs, sticker packs and link thumbnails, as described in the
// [WhatsApp Encryption Overview] ("Transmitting Media and Other
// Attachments").
//
// The sender draws a 32-byte media key and expands it with
// HKDF-SHA256 (no salt, info "WhatsApp <type> Keys", 112 bytes) into a 16-byte
// IV, a 32-byte AES-256 key, a 32-byte HMAC-SHA256 key and a 32-byte
// reference key. The upload is
//
//	AES-256-CBC(cipher key, IV, PKCS7(plaintext)) || HMAC-SHA256(MAC key, IV || ciphertext)[:10]
//
// and the message carries the media key, FileSHA256 (the SHA-256 of the
// plaintext), FileEncSHA256 (the SHA-256 of the upload) and FileLength.
// Unlike Signal's attachments, the IV is not part of the upload and the
// plaintext is not padded to a size bucket.
//
// Errors are those of package attachment: [attachment.ErrTruncated],
// [attachment.ErrBadMAC], [attachment.ErrBadPadding] and
// [attachment.ErrBadDigest], all matching [attachment.ErrDecryption].
//
// [WhatsApp Encryption Overview]: https://www.whatsapp.com/security/WhatsApp-Security-Whitepaper.pdf
package whatsapp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"hash"
	"io"

	"github.com/ratchetlab/signal/attachment"
)

// MediaType selects the HKDF info string, and so the keys, of a medium.
type MediaType string

// The media types and their HKDF info strings.
const (
	Image         MediaType = "WhatsApp Image Keys"
	Video         MediaType = "WhatsApp Video Keys"
	Audio         MediaType = "WhatsApp Audio Keys"
	Document      MediaType = "WhatsApp Document Keys"
	History       MediaType = "WhatsApp History Keys"
	AppState      MediaType = "WhatsApp App State Keys"
	StickerPack   MediaType = "WhatsApp Sticker Pack Keys"
	LinkThumbnail MediaType = "WhatsApp Link Thumbnail Keys"
)

// Sizes in bytes.
const (
	MediaKeySize    = 32
	MACSize         = 10 // truncated HMAC-SHA256 at the end of the upload
	expandedKeySize = 112
	blockSize       = aes.BlockSize
	bufSize         = 64 << 10
)

// MinUploadSize is the size of the smallest well-formed upload: one
// ciphertext block and the MAC.
const MinUploadSize = blockSize + MACSize

// Keys are the keys expanded from a media key.
type Keys struct {
	iv        [16]byte
	cipherKey [32]byte
	macKey    [32]byte
	refKey    [32]byte
}

// GenerateMediaKey returns a fresh random media key from crypto/rand.
func GenerateMediaKey() *[MediaKeySize]byte {
	var k [MediaKeySize]byte
	rand.Read(k[:])
	return &k
}

// ExpandMediaKey derives the keys of a medium of type t:
// HKDF-SHA256(ikm = mediaKey, no salt, info = t, 112 bytes) split into IV
// (16), cipher key (32), MAC key (32) and reference key (32).
func ExpandMediaKey(mediaKey *[MediaKeySize]byte, t MediaType) *Keys {
	b, err := hkdf.Key(sha256.New, mediaKey[:], nil, string(t), expandedKeySize)
	if err != nil { // only for lengths above 255*32
		panic("whatsapp: " + err.Error())
	}
	var k Keys
	copy(k.iv[:], b[0:16])
	copy(k.cipherKey[:], b[16:48])
	copy(k.macKey[:], b[48:80])
	copy(k.refKey[:], b[80:112])
	clear(b)
	return &k
}

// IV returns a copy of the 16-byte IV.
func (k *Keys) IV() []byte { return append([]byte(nil), k.iv[:]...) }

// CipherKey returns a copy of the 32-byte AES-256 key.
func (k *Keys) CipherKey() []byte { return append([]byte(nil), k.cipherKey[:]...) }

// MACKey returns a copy of the 32-byte HMAC-SHA256 key.
func (k *Keys) MACKey() []byte { return append([]byte(nil), k.macKey[:]...) }

// RefKey returns a copy of the 32-byte reference key (used by WhatsApp to
// refer to uploaded media; not needed to encrypt or decrypt).
func (k *Keys) RefKey() []byte { return append([]byte(nil), k.refKey[:]...) }

// Format prints no key material, so that %v and %+v on Keys are safe.
func (k Keys) Format(f fmt.State, verb rune) { fmt.Fprint(f, "whatsapp.Keys{…}") }

// Result describes an encrypted upload: the values for the message.
type Result struct {
	FileSHA256    [32]byte // SHA-256 of the plaintext
	FileEncSHA256 [32]byte // SHA-256 of the upload
	FileLength    int64    // plaintext bytes
	UploadLength  int64    // upload bytes
}

// Encrypt reads the plaintext from src and writes the upload to dst, in one
// pass and constant memory, and returns the hashes and lengths for the
// message.
func Encrypt(dst io.Writer, src io.Reader, mediaKey *[MediaKeySize]byte, t MediaType) (Result, error) {
	var res Result
	k := ExpandMediaKey(mediaKey, t)
	b, _ := aes.NewCipher(k.cipherKey[:]) // cannot fail: 32-byte key
	cbc := cipher.NewCBCEncrypter(b, k.iv[:])
	mac := hmac.New(sha256.New, k.macKey[:])
	mac.Write(k.iv[:])
	plainHash, encHash := sha256.New(), sha256.New()
	buf := make([]byte, bufSize+blockSize)
	fill := 0 // plaintext bytes in buf
	emit := func(p []byte) error {
		encHash.Write(p)
		n, err := dst.Write(p)
		res.UploadLength += int64(n)
		if err == nil && n < len(p) {
			err = io.ErrShortWrite
		}
		return err
	}
	for {
		n, err := io.ReadFull(src, buf[fill:bufSize])
		plainHash.Write(buf[fill : fill+n])
		res.FileLength += int64(n)
		fill += n
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return Result{}, err
		}
		// A full buffer: encrypt it all (bufSize is a multiple of 16).
		cbc.CryptBlocks(buf[:fill], buf[:fill])
		mac.Write(buf[:fill])
		if err := emit(buf[:fill]); err != nil {
			return Result{}, err
		}
		fill = 0
	}
	pad := blockSize - fill%blockSize
	for i := range pad {
		buf[fill+i] = byte(pad)
	}
	fill += pad
	cbc.CryptBlocks(buf[:fill], buf[:fill])
	mac.Write(buf[:fill])
	buf = mac.Sum(buf[:fill])
	if err := emit(buf[:fill+MACSize]); err != nil {
		return Result{}, err
	}
	plainHash.Sum(res.FileSHA256[:0])
	encHash.Sum(res.FileEncSHA256[:0])
	return res, nil
}

// Expect holds the values from the message that the recipient checks.
type Expect struct {
	// FileEncSHA256 and FileSHA256, if not nil, are the expected SHA-256 of
	// the upload and of the plaintext (32 bytes each).
	FileEncSHA256 []byte
	FileSHA256    []byte
	// FileLength, if not negative, is the expected plaintext length.
	FileLength int64
}

// Reader decrypts a verified upload; see [Open].
type Reader struct {
	src       *io.SectionReader // the ciphertext, without the MAC
	tag       [MACSize]byte
	cbc       cipher.BlockMode
	mac       hash.Hash
	buf       []byte
	out       []byte
	remaining int64 // ciphertext bytes not yet read
	err       error
	eof       bool
}

// Open verifies the upload of size bytes in src and returns a Reader of its
// plaintext. It reads the upload once to check its length, its MAC, its
// FileEncSHA256, its padding and, when set, its FileSHA256 and FileLength
// (decrypting to hash the plaintext), and returns an error matching
// attachment.ErrDecryption, before any plaintext is released, if one fails.
// The Reader then decrypts in a second pass and checks the MAC again at the
// end, in case src changed in between. Memory use is constant.
func Open(src io.ReaderAt, size int64, mediaKey *[MediaKeySize]byte, t MediaType, want Expect) (*Reader, error) {
	if (want.FileEncSHA256 != nil && len(want.FileEncSHA256) != sha256.Size) ||
		(want.FileSHA256 != nil && len(want.FileSHA256) != sha256.Size) {
		return nil, fmt.Errorf("%w: hashes must be %d bytes", attachment.ErrInvalidParams, sha256.Size)
	}
	if size < MinUploadSize || (size-MACSize)%blockSize != 0 {
		return nil, attachment.ErrTruncated
	}
	k := ExpandMediaKey(mediaKey, t)
	b, _ := aes.NewCipher(k.cipherKey[:]) // cannot fail: 32-byte key
	ctLen := size - MACSize
	var tag [MACSize]byte
	if err := readFullAt(src, tag[:], ctLen); err != nil {
		return nil, err
	}

	// Pass 1.
	mac := hmac.New(sha256.New, k.macKey[:])
	mac.Write(k.iv[:])
	encHash := sha256.New()
	var dec cipher.BlockMode
	var plainHash hash.Hash
	if want.FileSHA256 != nil || want.FileLength >= 0 {
		dec = cipher.NewCBCDecrypter(b, k.iv[:])
		plainHash = sha256.New()
	}
	buf := make([]byte, bufSize)
	// The last ciphertext block and the one before it (the IV for a
	// one-block ciphertext).
	prev, last := k.iv, k.iv
	for off := int64(0); off < ctLen; {
		n := int(min(int64(len(buf)), ctLen-off))
		if err := readFullAt(src, buf[:n], off); err != nil {
			return nil, err
		}
		off += int64(n)
		mac.Write(buf[:n])
		encHash.Write(buf[:n])
		if n >= 2*blockSize {
			copy(prev[:], buf[n-2*blockSize:])
		} else if n == blockSize {
			prev = last
		}
		copy(last[:], buf[n-blockSize:n])
		if dec != nil {
			dec.CryptBlocks(buf[:n], buf[:n])
			if off < ctLen {
				plainHash.Write(buf[:n])
			} else {
				p := int(buf[n-1]) // checked below; clamp to stay in range
				plainHash.Write(buf[:n-min(p, n)])
			}
		}
	}
	var sum [sha256.Size]byte
	if subtle.ConstantTimeCompare(mac.Sum(sum[:0])[:MACSize], tag[:]) != 1 {
		return nil, attachment.ErrBadMAC
	}
	encHash.Write(tag[:])
	if want.FileEncSHA256 != nil && subtle.ConstantTimeCompare(encHash.Sum(sum[:0]), want.FileEncSHA256) != 1 {
		return nil, attachment.ErrBadDigest
	}
	b.Decrypt(last[:], last[:])
	subtle.XORBytes(last[:], last[:], prev[:])
	padLen, ok := checkPadding(&last)
	clear(last[:])
	if !ok {
		return nil, attachment.ErrBadPadding
	}
	if want.FileLength >= 0 && want.FileLength != ctLen-int64(padLen) {
		return nil, attachment.ErrTruncated
	}
	if want.FileSHA256 != nil && subtle.ConstantTimeCompare(plainHash.Sum(sum[:0]), want.FileSHA256) != 1 {
		return nil, attachment.ErrBadDigest
	}

	// Pass 2.
	r := &Reader{
		src:       io.NewSectionReader(src, 0, ctLen),
		tag:       tag,
		cbc:       cipher.NewCBCDecrypter(b, k.iv[:]),
		mac:       hmac.New(sha256.New, k.macKey[:]),
		buf:       buf,
		remaining: ctLen,
	}
	r.mac.Write(k.iv[:])
	return r, nil
}

// Read returns plaintext. It returns io.EOF at the end, or an error
// matching attachment.ErrDecryption if src changed since Open.
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

func (r *Reader) next() error {
	n := int(min(int64(len(r.buf)), r.remaining))
	if _, err := io.ReadFull(r.src, r.buf[:n]); err != nil {
		return err
	}
	r.remaining -= int64(n)
	c := r.buf[:n]
	r.mac.Write(c)
	if r.remaining > 0 {
		r.cbc.CryptBlocks(c, c)
		r.out = c
		return nil
	}
	var sum [sha256.Size]byte
	if subtle.ConstantTimeCompare(r.mac.Sum(sum[:0])[:MACSize], r.tag[:]) != 1 {
		return attachment.ErrBadMAC
	}
	r.cbc.CryptBlocks(c, c)
	padLen, ok := checkPadding((*[blockSize]byte)(c[n-blockSize:]))
	if !ok {
		clear(c)
		return attachment.ErrBadPadding
	}
	r.out = c[:n-padLen]
	r.eof = true
	return nil
}

// Decrypt is a convenience for media held in memory: it verifies upload
// and returns its plaintext, or nil and an error.
func Decrypt(upload []byte, mediaKey *[MediaKeySize]byte, t MediaType, want Expect) ([]byte, error) {
	r, err := Open(bytesReaderAt(upload), int64(len(upload)), mediaKey, t, want)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(upload))
	for {
		n, err := r.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			clear(out)
			return nil, err
		}
	}
}

// checkPadding reports in constant time whether last ends in valid PKCS#7
// padding and, if so, its length.
func checkPadding(last *[blockSize]byte) (int, bool) {
	p := last[blockSize-1]
	good := subtle.ConstantTimeLessOrEq(1, int(p)) & subtle.ConstantTimeLessOrEq(int(p), blockSize)
	for i := 0; i < blockSize; i++ {
		in := subtle.ConstantTimeLessOrEq(blockSize, i+int(p))
		good &= subtle.ConstantTimeByteEq(last[i], p) | (in ^ 1)
	}
	return int(p), good == 1
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

// Format prints no buffered data or key material.
func (r *Reader) Format(f fmt.State, verb rune) { fmt.Fprint(f, "whatsapp.Reader{…}") }
