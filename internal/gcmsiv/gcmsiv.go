// Package gcmsiv implements AES-256-GCM-SIV, the nonce-misuse-resistant AEAD
// of [RFC 8452], on top of crypto/aes. Signal's sealed sender v2 encrypts
// its shared body with it (libsignal rust/protocol/src/sealed_sender.rs,
// with an all-zero 12-byte nonce, since every key is used once, and no
// associated data).
//
// The standard library has no GCM-SIV. The package follows RFC 8452 §4
// (encryption) and §5 (decryption): per-nonce key derivation (§4), POLYVAL
// (§3) over the padded associated data, the padded plaintext and the length
// block, the tag as AES of the masked POLYVAL result, and AES-CTR with a
// 32-bit little-endian counter starting from the tag with its top bit set.
//
// POLYVAL is computed in software in constant time: carry-less 64×64-bit
// products from integer multiplications with holes (no tables indexed by
// secrets, no branches on secrets), and a Montgomery reduction by x^-128
// modulo x^128 + x^127 + x^126 + x^121 + 1. Open checks the tag in constant
// time and never returns unauthenticated plaintext.
//
// [RFC 8452]: https://www.rfc-editor.org/rfc/rfc8452
package gcmsiv

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"math/bits"
)

// Sizes of AES-256-GCM-SIV.
const (
	// KeySize is the size of an AES-256-GCM-SIV key.
	KeySize = 32
	// NonceSize is the size of the nonce.
	NonceSize = 12
	// TagSize is the size of the authentication tag appended to the
	// ciphertext.
	TagSize = 16
	// MaxPlaintextSize is RFC 8452's limit on the plaintext and on the
	// associated data: 2^36 bytes.
	MaxPlaintextSize = 1 << 36
)

// ErrOpen is returned by Open for every rejected input: a short or
// oversized ciphertext, or a tag that does not verify.
var ErrOpen = errors.New("gcmsiv: message authentication failed")

// AEAD is AES-256-GCM-SIV under one key. It implements cipher.AEAD and is
// safe for concurrent use.
type AEAD struct {
	kgk cipher.Block // the key-generating key
}

var _ cipher.AEAD = (*AEAD)(nil)

// New returns AES-256-GCM-SIV under key, which must be KeySize bytes.
func New(key []byte) (*AEAD, error) {
	if len(key) != KeySize {
		return nil, errors.New("gcmsiv: key must be 32 bytes")
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return &AEAD{kgk: b}, nil
}

// NonceSize returns NonceSize.
func (*AEAD) NonceSize() int { return NonceSize }

// Overhead returns TagSize.
func (*AEAD) Overhead() int { return TagSize }

// deriveKeys computes the per-nonce message-authentication key (16 bytes)
// and message-encryption key (32 bytes), RFC 8452 §4.
func (a *AEAD) deriveKeys(nonce []byte) (authKey [16]byte, encKey [32]byte) {
	var in, out [16]byte
	copy(in[4:], nonce)
	var okm [48]byte
	for i := range 6 {
		binary.LittleEndian.PutUint32(in[:4], uint32(i))
		a.kgk.Encrypt(out[:], in[:])
		copy(okm[8*i:], out[:8])
	}
	copy(authKey[:], okm[:16])
	copy(encKey[:], okm[16:])
	clear(okm[:])
	clear(out[:])
	return
}

// tag computes the tag of RFC 8452 §4 for plaintext and aad.
func tag(enc cipher.Block, authKey *[16]byte, nonce, plaintext, aad []byte) [16]byte {
	var p polyval
	p.init(authKey)
	p.updatePadded(aad)
	p.updatePadded(plaintext)
	var lb [16]byte
	binary.LittleEndian.PutUint64(lb[:8], uint64(len(aad))*8)
	binary.LittleEndian.PutUint64(lb[8:], uint64(len(plaintext))*8)
	p.updateBlock(&lb)
	s := p.sum()
	for i := range NonceSize {
		s[i] ^= nonce[i]
	}
	s[15] &= 0x7f
	var t [16]byte
	enc.Encrypt(t[:], s[:])
	return t
}

// ctr XORs in with the AES-CTR keystream of RFC 8452 §4 (a 32-bit
// little-endian counter in the first four bytes, wrapping) starting from
// the given tag with its top bit set, writing to out.
func ctr(enc cipher.Block, t *[16]byte, out, in []byte) {
	var block, ks [16]byte
	block = *t
	block[15] |= 0x80
	n := binary.LittleEndian.Uint32(block[:4])
	for len(in) > 0 {
		enc.Encrypt(ks[:], block[:])
		k := subtle.XORBytes(out, in, ks[:])
		out, in = out[k:], in[k:]
		n++
		binary.LittleEndian.PutUint32(block[:4], n)
	}
	clear(ks[:])
}

// Seal encrypts and authenticates plaintext and authenticates aad, and
// appends the ciphertext and tag to dst. nonce must be NonceSize bytes.
// To reuse plaintext's storage, use plaintext[:0] as dst; otherwise dst's
// spare capacity must not overlap plaintext. Seal panics (a caller bug) on
// a wrong nonce size or on input over MaxPlaintextSize.
func (a *AEAD) Seal(dst, nonce, plaintext, aad []byte) []byte {
	if len(nonce) != NonceSize {
		panic("gcmsiv: wrong nonce size")
	}
	if uint64(len(plaintext)) > MaxPlaintextSize || uint64(len(aad)) > MaxPlaintextSize {
		panic("gcmsiv: input too long")
	}
	authKey, encKey := a.deriveKeys(nonce)
	enc, err := aes.NewCipher(encKey[:])
	clear(encKey[:])
	if err != nil {
		panic("gcmsiv: " + err.Error()) // unreachable: the key is 32 bytes
	}
	t := tag(enc, &authKey, nonce, plaintext, aad)
	clear(authKey[:])
	ret, out := sliceForAppend(dst, len(plaintext)+TagSize)
	ctr(enc, &t, out[:len(plaintext)], plaintext)
	copy(out[len(plaintext):], t[:])
	return ret
}

// Open authenticates and decrypts ciphertext (with its tag at the end) and
// aad, and appends the plaintext to dst. Every failure returns ErrOpen and
// leaves nothing in dst's spare capacity. To reuse ciphertext's storage,
// use ciphertext[:0] as dst. Open panics (a caller bug) on a wrong nonce
// size.
func (a *AEAD) Open(dst, nonce, ciphertext, aad []byte) ([]byte, error) {
	if len(nonce) != NonceSize {
		panic("gcmsiv: wrong nonce size")
	}
	if len(ciphertext) < TagSize || uint64(len(ciphertext)-TagSize) > MaxPlaintextSize ||
		uint64(len(aad)) > MaxPlaintextSize {
		return nil, ErrOpen
	}
	ct, got := ciphertext[:len(ciphertext)-TagSize], ciphertext[len(ciphertext)-TagSize:]
	var t [16]byte
	copy(t[:], got)
	authKey, encKey := a.deriveKeys(nonce)
	enc, err := aes.NewCipher(encKey[:])
	clear(encKey[:])
	if err != nil {
		panic("gcmsiv: " + err.Error()) // unreachable: the key is 32 bytes
	}
	ret, out := sliceForAppend(dst, len(ct))
	ctr(enc, &t, out, ct)
	want := tag(enc, &authKey, nonce, out, aad)
	clear(authKey[:])
	if subtle.ConstantTimeCompare(want[:], t[:]) != 1 {
		clear(out)
		return nil, ErrOpen
	}
	return ret, nil
}

// polyval is the POLYVAL universal hash of RFC 8452 §3.
type polyval struct {
	h0, h1 uint64 // H, little-endian words
	s0, s1 uint64 // the accumulator S
}

func (p *polyval) init(h *[16]byte) {
	p.h0 = binary.LittleEndian.Uint64(h[:8])
	p.h1 = binary.LittleEndian.Uint64(h[8:])
	p.s0, p.s1 = 0, 0
}

// updateBlock sets S = dot(S xor X, H).
func (p *polyval) updateBlock(x *[16]byte) {
	p.s0 ^= binary.LittleEndian.Uint64(x[:8])
	p.s1 ^= binary.LittleEndian.Uint64(x[8:])
	p.s0, p.s1 = dot(p.s0, p.s1, p.h0, p.h1)
}

// updatePadded hashes b padded with zeros to a multiple of 16 bytes.
func (p *polyval) updatePadded(b []byte) {
	var blk [16]byte
	for len(b) >= 16 {
		copy(blk[:], b[:16])
		p.updateBlock(&blk)
		b = b[16:]
	}
	if len(b) > 0 {
		blk = [16]byte{}
		copy(blk[:], b)
		p.updateBlock(&blk)
	}
	clear(blk[:])
}

func (p *polyval) sum() [16]byte {
	var out [16]byte
	binary.LittleEndian.PutUint64(out[:8], p.s0)
	binary.LittleEndian.PutUint64(out[8:], p.s1)
	return out
}

// dot returns a·b·x^-128 in GF(2^128) modulo x^128 + x^127 + x^126 +
// x^121 + 1, the dot operation of RFC 8452 §3, for little-endian 64-bit
// words (a0 low). Bit i of the 128-bit value is the coefficient of x^i.
func dot(a0, a1, b0, b1 uint64) (uint64, uint64) {
	// Schoolbook carry-less product v3:v2:v1:v0.
	l00, h00 := clmul(a0, b0)
	l01, h01 := clmul(a0, b1)
	l10, h10 := clmul(a1, b0)
	l11, h11 := clmul(a1, b1)
	v0 := l00
	v1 := h00 ^ l01 ^ l10
	v2 := h01 ^ h10 ^ l11
	v3 := h11
	// Montgomery reduction: add multiples of P to clear the low 128 bits,
	// then divide by x^128. P·v0 contributes v0·(x^121 + x^126 + x^127)
	// (split across words 1 and 2) and v0·x^128 (word 2); likewise for v1
	// one word higher.
	v1 ^= v0<<57 ^ v0<<62 ^ v0<<63
	v2 ^= v0 ^ v0>>1 ^ v0>>2 ^ v0>>7
	v2 ^= v1<<57 ^ v1<<62 ^ v1<<63
	v3 ^= v1 ^ v1>>1 ^ v1>>2 ^ v1>>7
	return v2, v3
}

// clmul returns the 128-bit carry-less product of x and y (lo, hi) in
// constant time.
func clmul(x, y uint64) (lo, hi uint64) {
	lo = bmul64(x, y)
	// The high half is the bit-reversed low half of the product of the
	// bit-reversed operands, shifted by one (the product has 127 bits).
	hi = bits.Reverse64(bmul64(bits.Reverse64(x), bits.Reverse64(y))) >> 1
	return
}

// bmul64 returns the low 64 bits of the carry-less product of x and y.
// Each operand is split into four interleaved bit sets with three-bit holes
// between bits, so that the integer products' carries land in the holes and
// are masked off.
func bmul64(x, y uint64) uint64 {
	const m0, m1, m2, m3 = 0x1111111111111111, 0x2222222222222222, 0x4444444444444444, 0x8888888888888888
	x0, x1, x2, x3 := x&m0, x&m1, x&m2, x&m3
	y0, y1, y2, y3 := y&m0, y&m1, y&m2, y&m3
	z0 := x0*y0 ^ x1*y3 ^ x2*y2 ^ x3*y1
	z1 := x0*y1 ^ x1*y0 ^ x2*y3 ^ x3*y2
	z2 := x0*y2 ^ x1*y1 ^ x2*y0 ^ x3*y3
	z3 := x0*y3 ^ x1*y2 ^ x2*y1 ^ x3*y0
	return z0&m0 | z1&m1 | z2&m2 | z3&m3
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
