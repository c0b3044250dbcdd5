// Package cbc implements AES-256 in CBC mode with PKCS#7 padding, the body
// cipher of Signal's SignalMessage and SenderKeyMessage (libsignal
// rust/crypto/src/aes_cbc.rs; see the [Signal Protocol documentation]).
//
// CBC is defined in [NIST SP 800-38A] §6.2 and the padding in [RFC 5652]
// §6.3: 1 to 16 bytes, each holding the pad length, always added (a
// plaintext that fills whole blocks gets a full block of padding).
//
// CBC with PKCS#7 is malleable and, decrypted without prior authentication,
// is a padding oracle. Signal authenticates the ciphertext with an HMAC
// before decrypting it; callers must do the same and check the MAC first.
// Decrypt nevertheless checks the padding in constant time and reports every
// failure with the one error [ErrDecryption].
//
// # Allocations
//
// The standard library offers no way to expand an AES key without a heap
// allocation: crypto/aes.NewCipher allocates its key schedule (one object of
// 512 bytes), and crypto/cipher.NewCBCEncrypter/NewCBCDecrypter allocate a
// second one holding a copy of it. This package chains the blocks itself over
// the cipher.Block, so Encrypt and Decrypt make exactly one allocation of
// their own (the key schedule), plus the growth of dst when its capacity is
// too small for the output.
//
// [Signal Protocol documentation]: https://signal.org/docs/specifications/doubleratchet/#recommended-cryptographic-algorithms
// [NIST SP 800-38A]: https://doi.org/10.6028/NIST.SP.800-38A
// [RFC 5652]: https://www.rfc-editor.org/rfc/rfc5652#section-6.3
package cbc

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"unsafe"
)

// BlockSize is the AES block size in bytes.
const BlockSize = aes.BlockSize

// ErrDecryption is returned by [Decrypt] for every failure: a ciphertext
// whose length is not a positive multiple of 16, or bad padding. It reveals
// nothing else.
var ErrDecryption = errors.New("cbc: decryption failed")

// Overhead returns the number of padding bytes Encrypt adds to a plaintext
// of n bytes: 1 to 16.
func Overhead(n int) int { return BlockSize - n%BlockSize }

// newCipher expands a 256-bit key. aes.NewCipher fails only on a bad key
// length, which the array type rules out.
func newCipher(key *[32]byte) cipher.Block {
	b, err := aes.NewCipher(key[:])
	if err != nil {
		panic("cbc: " + err.Error())
	}
	return b
}

// Encrypt appends to dst the AES-256-CBC encryption under key and iv of
// plaintext padded with PKCS#7, and returns the extended slice. The output
// is len(plaintext) + Overhead(len(plaintext)) bytes: always a non-zero
// multiple of 16.
//
// To encrypt in place, pass plaintext[:0] as dst (the output then needs
// Overhead(len(plaintext)) bytes of spare capacity, or it is reallocated).
// Otherwise dst's spare capacity must not overlap plaintext: Encrypt panics
// on such a programming error, like the standard library's ciphers.
func Encrypt(dst []byte, key *[32]byte, iv *[16]byte, plaintext []byte) []byte {
	n := len(plaintext)
	pad := Overhead(n)
	ret, out := sliceForAppend(dst, n+pad)
	if inexactOverlap(out, plaintext) {
		panic("cbc: invalid buffer overlap")
	}

	// The last block: the plaintext's tail followed by the padding, built
	// before any output is written so that in-place use works.
	full := n - n%BlockSize
	var last [BlockSize]byte
	copy(last[:], plaintext[full:])
	for i := n % BlockSize; i < BlockSize; i++ {
		last[i] = byte(pad)
	}

	b := newCipher(key)
	prev := iv[:]
	for i := 0; i < full; i += BlockSize {
		blk := out[i : i+BlockSize]
		xor16(blk, plaintext[i:i+BlockSize], prev)
		b.Encrypt(blk, blk)
		prev = blk
	}
	blk := out[full:]
	xor16(blk, last[:], prev)
	b.Encrypt(blk, blk)
	clear(last[:])
	return ret
}

// Decrypt appends to dst the AES-256-CBC decryption under key and iv of
// ciphertext with its PKCS#7 padding removed, and returns the extended
// slice.
//
// Decrypt returns nil and [ErrDecryption] if ciphertext is empty or not a
// multiple of 16 bytes, or if the padding is malformed. The padding is
// checked in constant time: which byte was wrong and the pad value are not
// revealed, by the error or by timing. On error nothing is left in dst's
// spare capacity (the partial plaintext written there is cleared).
//
// To decrypt in place, pass ciphertext[:0] as dst. Otherwise dst's spare
// capacity must not overlap ciphertext: Decrypt panics on such a programming
// error, like the standard library's ciphers.
func Decrypt(dst []byte, key *[32]byte, iv *[16]byte, ciphertext []byte) ([]byte, error) {
	n := len(ciphertext)
	if n == 0 || n%BlockSize != 0 {
		return nil, ErrDecryption
	}
	ret, out := sliceForAppend(dst, n)
	if inexactOverlap(out, ciphertext) {
		panic("cbc: invalid buffer overlap")
	}

	// Decrypt from the last block to the first, so that each block's
	// predecessor is still intact when decrypting in place.
	b := newCipher(key)
	for i := n - BlockSize; i >= 0; i -= BlockSize {
		blk := out[i : i+BlockSize]
		copy(blk, ciphertext[i:i+BlockSize]) // keeps ciphertext from escaping
		b.Decrypt(blk, blk)
		if i > 0 {
			xor16(blk, blk, ciphertext[i-BlockSize:i])
		} else {
			xor16(blk, blk, iv[:])
		}
	}

	padLen, ok := checkPadding((*[BlockSize]byte)(out[n-BlockSize:]))
	if ok != 1 {
		clear(out)
		return nil, ErrDecryption
	}
	return ret[:len(ret)-padLen], nil
}

// checkPadding reports in constant time whether the final block ends in
// valid PKCS#7 padding (ok == 1) and, if so, its length.
func checkPadding(last *[BlockSize]byte) (padLen, ok int) {
	p := last[BlockSize-1]
	padLen = int(p)
	// 1 <= p <= 16.
	ok = subtle.ConstantTimeLessOrEq(1, padLen) & subtle.ConstantTimeLessOrEq(padLen, BlockSize)
	// Every byte in the last p positions must equal p; the others are
	// examined too and ignored.
	for i := range BlockSize {
		inPad := subtle.ConstantTimeLessOrEq(i+1, padLen) // position BlockSize-1-i is padding
		eq := subtle.ConstantTimeByteEq(last[BlockSize-1-i], p)
		ok &= eq | (inPad ^ 1)
	}
	return padLen, ok
}

// xor16 sets dst = a XOR b for one block. It is inlined, unlike
// crypto/subtle.XORBytes, whose call overhead is significant per block
// (measured: 64 KiB encryption went from 143 µs to 104 µs).
func xor16(dst, a, b []byte) {
	_, _, _ = dst[15], a[15], b[15]
	binary.LittleEndian.PutUint64(dst[0:8], binary.LittleEndian.Uint64(a[0:8])^binary.LittleEndian.Uint64(b[0:8]))
	binary.LittleEndian.PutUint64(dst[8:16], binary.LittleEndian.Uint64(a[8:16])^binary.LittleEndian.Uint64(b[8:16]))
}

// sliceForAppend extends in by n bytes and returns the whole slice and the
// new tail.
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	tail = head[len(in):]
	return
}

// inexactOverlap reports whether x and y share memory at any
// non-corresponding index: in-place use (x and y starting at the same
// address) is allowed, any other overlap is not.
func inexactOverlap(x, y []byte) bool {
	if len(x) == 0 || len(y) == 0 || &x[0] == &y[0] {
		return false
	}
	x0 := uintptr(unsafe.Pointer(&x[0]))
	y0 := uintptr(unsafe.Pointer(&y[0]))
	return x0 <= y0+uintptr(len(y)-1) && y0 <= x0+uintptr(len(x)-1)
}
