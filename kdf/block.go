package kdf

import (
	"crypto/sha256"
	"encoding"
	"encoding/binary"
)

// The fast paths of this package drive crypto/sha256 one whole block at a
// time. A SHA-256 state that has absorbed whole blocks only is saved and
// restored with the digest's MarshalBinary format (a [hashState]); a message
// short enough to fit, with its padding (FIPS 180-4 §5.1.1), in at most
// maxShort bytes is padded here and written as whole blocks, so the digest
// never buffers and the final chaining value, read back from the marshaled
// state, is the hash itself (FIPS 180-4 §6.2.2: H(N) is the digest). This
// skips the copy and re-padding that hash.Hash.Sum does on every call and
// costs one assembly call per message instead of one per Write that fills a
// block.
const (
	// maxShort is the largest padded message the fast path of a keyState
	// handles: two blocks, enough for every derivation of this package.
	maxShort = 2 * blockSize
	// maxOneShot is the largest padded inner message (pad block included)
	// that HMAC hashes from one stack buffer: eight blocks, which covers
	// the MAC input of a SignalMessage of up to about 300 bytes of
	// plaintext.
	maxOneShot = 8 * blockSize
	// padMin is the fewest padding bytes a message gets: the 0x80 byte and
	// the 64-bit length.
	padMin = 1 + 8
	// digestAt is the offset of the chaining value in a hashState (after
	// the 4-byte magic); it holds the digest once the padding is absorbed.
	digestAt = 4
)

// advance runs the SHA-256 compression function over blocks, a whole number
// of 64-byte blocks, starting from the state from, and stores the new state
// in st. from may be st.
func (st *hashState) advance(from *hashState, blocks []byte) {
	h := sha256.New()
	if h.(encoding.BinaryUnmarshaler).UnmarshalBinary(from[:]) != nil {
		panic("kdf: internal error: bad SHA-256 state")
	}
	h.Write(blocks)
	h.(encoding.BinaryAppender).AppendBinary(st[:0])
}

// init sets st to the state of SHA-256 after absorbing block, one 64-byte
// block, from the initial hash value.
func (st *hashState) init(block *[blockSize]byte) {
	h := sha256.New()
	h.Write(block[:])
	h.(encoding.BinaryAppender).AppendBinary(st[:0])
}

// padTo writes into buf the SHA-256 padding of a message of which n bytes
// are in buf and prefix bytes were absorbed before (whole blocks), and
// returns the padded length: the next multiple of 64 that leaves room for
// the padding. The caller guarantees that buf[n:] is zero and long enough.
func padTo(buf []byte, n, prefix int) int {
	end := (n + padMin + blockSize - 1) &^ (blockSize - 1)
	buf[n] = 0x80
	binary.BigEndian.PutUint64(buf[end-8:end], uint64(prefix+n)*8)
	return end
}

// finish completes HMAC from the inner hash state st (which has absorbed the
// padded inner message, so that it holds the inner digest), using the outer
// pad state outer: out = SHA-256(K^opad || inner). buf is scratch; it is
// left cleared.
func finish(out *[Size]byte, st *hashState, outer *hashState, buf *[maxShort]byte) {
	clear(buf[:blockSize])
	copy(buf[:Size], st[digestAt:digestAt+Size])
	n := padTo(buf[:], Size, blockSize)
	st.advance(outer, buf[:n])
	copy(out[:], st[digestAt:digestAt+Size])
	clear(buf[:blockSize])
	clear(st[:])
}

// xorPad sets dst to the key block k XORed with w in every 64-bit word: the
// HMAC ipad or opad block (RFC 2104 §2).
func xorPad(dst, k *[blockSize]byte, w uint64) {
	for i := 0; i < blockSize; i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(k[i:])^w)
	}
}
