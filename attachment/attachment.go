// Package attachment implements Signal's attachment encryption: the format
// in which Signal clients upload images, audio, video and files to the CDN
// and reference them from an AttachmentPointer.
//
// An upload is
//
//	IV (16 bytes) || AES-256-CBC(key[:32], IV, PKCS7(plaintext || zero padding)) || HMAC-SHA256(key[32:], IV || ciphertext)
//
// with a 64-byte key (AES-256 key || HMAC-SHA256 key) and a random IV. The
// plaintext is first padded with zeros to one of Signal's size buckets
// ([PaddedSize]) so that the upload length reveals little about the file.
// The attachment's "digest" is the SHA-256 of the whole upload, MAC
// included; the sender puts it in the AttachmentPointer and the recipient
// checks it. The format is that of Signal-Android's
// [AttachmentCipherInputStream] (and the output stream beside it) and of
// Signal-Desktop's attachment crypto; the padding is Signal-Android's
// [PaddingInputStream].
//
// Newer clients also send an incremental MAC ([IncrementalMAC], libsignal's
// [incremental_mac.rs]): the upload is cut into chunks of [ChunkSize]
// bytes, and the HMAC-SHA256 (keyed with the attachment's MAC key) of the
// prefix up to each chunk boundary, followed by the HMAC of the whole
// upload, is sent with the pointer. A recipient can then check each chunk as
// it arrives and play a video before the download completes.
//
// # Streaming and verification
//
// [Writer] and [EncryptingReader] encrypt in one pass, computing the MAC,
// digest and incremental MAC while they encrypt, in memory independent of the
// file's size. [NewReader] decrypts a stream that carries an incremental MAC:
// it reads one chunk at a time and releases the plaintext of a chunk only
// after the chunk's MAC matched; the last chunk is released only after the
// final MAC, the digest and the PKCS#7 padding are checked too. [Open]
// decrypts an upload without an incremental MAC from an [io.ReaderAt]: it
// verifies the whole upload first and decrypts in a second pass.
//
// Bad input is reported with the sentinel errors [ErrTruncated],
// [ErrBadMAC], [ErrBadPadding] and [ErrBadDigest], all of which match
// [ErrDecryption] under [errors.Is]. No plaintext of a chunk that failed a
// check is ever returned.
//
// # Key management
//
// The 64-byte key and the digest travel inside the end-to-end encrypted
// message; the key must be kept secret. A fresh key must be generated for
// every attachment.
//
// [AttachmentCipherInputStream]: https://github.com/signalapp/Signal-Android/blob/main/libsignal-service/src/main/java/org/whispersystems/signalservice/api/crypto/AttachmentCipherInputStream.kt
// [PaddingInputStream]: https://github.com/signalapp/Signal-Android/blob/main/libsignal-service/src/main/java/org/whispersystems/signalservice/internal/crypto/PaddingInputStream.java
// [incremental_mac.rs]: https://github.com/signalapp/libsignal/blob/main/rust/protocol/src/incremental_mac.rs
package attachment

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math"
)

// Sizes of the parts of an upload, in bytes.
const (
	KeySize    = 64 // AES-256 key || HMAC-SHA256 key
	IVSize     = 16
	MACSize    = 32
	DigestSize = 32 // SHA-256 of the upload
	blockSize  = 16
)

// MinUploadSize is the size of the smallest well-formed upload: IV, one
// ciphertext block and the MAC.
const MinUploadSize = IVSize + blockSize + MACSize

var (
	// ErrDecryption matches (via errors.Is) every error that reports bad
	// input: ErrTruncated, ErrBadMAC, ErrBadPadding and ErrBadDigest.
	ErrDecryption = errors.New("attachment: decryption failed")

	// ErrTruncated reports an upload that is too short, not made of whole
	// cipher blocks, or shorter than the declared plaintext size.
	ErrTruncated = &decryptError{"attachment: truncated or malformed upload"}
	// ErrBadMAC reports an HMAC or incremental-MAC mismatch.
	ErrBadMAC = &decryptError{"attachment: MAC mismatch"}
	// ErrBadPadding reports malformed PKCS#7 padding (behind a valid MAC).
	ErrBadPadding = &decryptError{"attachment: bad padding"}
	// ErrBadDigest reports an upload whose SHA-256 differs from the digest
	// in the pointer.
	ErrBadDigest = &decryptError{"attachment: digest mismatch"}

	// ErrInvalidParams reports unusable decryption parameters (a digest or
	// incremental MAC of the wrong length, a chunk size out of range). It
	// does not match ErrDecryption: it is a caller's error, not bad input.
	ErrInvalidParams = errors.New("attachment: invalid parameters")
)

type decryptError struct{ msg string }

func (e *decryptError) Error() string        { return e.msg }
func (e *decryptError) Is(target error) bool { return target == ErrDecryption }

// Key is an attachment key: a 32-byte AES-256 key and a 32-byte HMAC-SHA256
// key. Its zero value is a valid (but not secret) key; use [GenerateKey].
type Key struct {
	aes [32]byte
	mac [32]byte
}

// GenerateKey returns a fresh random key from crypto/rand.
func GenerateKey() *Key {
	var k Key
	rand.Read(k.aes[:])
	rand.Read(k.mac[:])
	return &k
}

// NewKey parses a 64-byte key (AES key || MAC key), as carried in an
// AttachmentPointer. It returns ErrInvalidParams for any other length.
func NewKey(b []byte) (*Key, error) {
	if len(b) != KeySize {
		return nil, fmt.Errorf("%w: key must be %d bytes, got %d", ErrInvalidParams, KeySize, len(b))
	}
	var k Key
	copy(k.aes[:], b[:32])
	copy(k.mac[:], b[32:])
	return &k, nil
}

// Bytes returns a copy of the 64-byte key.
func (k *Key) Bytes() []byte {
	b := make([]byte, 0, KeySize)
	b = append(b, k.aes[:]...)
	return append(b, k.mac[:]...)
}

// Format prints no key material, so that %v and %+v on a Key are safe.
func (k Key) Format(f fmt.State, verb rune) { fmt.Fprint(f, "attachment.Key{…}") }

// Signal's padding buckets (Signal-Android PaddingInputStream.getPaddedSize,
// Signal-Desktop's logPadSize): max(541, floor(1.05^ceil(log(n)/log(1.05)))).
const (
	minPaddedSize = 541
	padBase       = 1.05
)

// PaddedSize returns the size to which Signal pads an attachment of n bytes
// before encrypting it: max(541, floor(1.05^ceil(ln n / ln 1.05))), the
// smallest "bucket" floor(1.05^k) not below n.
//
// Signal-Android and Signal-Desktop evaluate that formula in float64. So does
// PaddedSize, with one correction: where rounding makes the formula return
// less than n (the first such size is 320471486606 bytes, about 298 GiB, far
// above Signal's attachment limit), it moves to the next bucket. The tests
// check the result against exact integer arithmetic. Sizes whose bucket is
// above 2^53 are returned unpadded.
func PaddedSize(n int64) int64 {
	if n <= minPaddedSize {
		return minPaddedSize
	}
	k := math.Ceil(math.Log(float64(n)) / math.Log(padBase))
	p := math.Floor(math.Pow(padBase, k))
	if p < float64(n) {
		p = math.Floor(math.Pow(padBase, k+1))
	}
	if p >= 1<<53 {
		return n
	}
	return int64(p)
}

// UploadSize returns the size of the upload for a padded plaintext of
// padded bytes: IV, PKCS#7-padded ciphertext and MAC.
func UploadSize(padded int64) int64 {
	return IVSize + (padded/blockSize+1)*blockSize + MACSize
}

// Format prints no buffered data or key material.
func (w *Writer) Format(f fmt.State, verb rune) { fmt.Fprint(f, "attachment.Writer{…}") }

// Format prints no buffered data or key material.
func (r *EncryptingReader) Format(f fmt.State, verb rune) {
	fmt.Fprint(f, "attachment.EncryptingReader{…}")
}

// Format prints no buffered data or key material.
func (r *Reader) Format(f fmt.State, verb rune) { fmt.Fprint(f, "attachment.Reader{…}") }
