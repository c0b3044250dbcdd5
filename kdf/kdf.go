// Package kdf implements HMAC-SHA256, HKDF-SHA256 as specified in [RFC 5869],
// and the key derivations of the Signal protocol built on them: the X3DH and
// PQXDH master-secret derivations, the Double Ratchet root and chain KDFs
// (KDF_RK and KDF_CK), message-key expansion, and the sender-key (group)
// message-key expansion.
//
// The derivations follow [X3DH] §2.2 and §3.3, [PQXDH] §2.2 and §3.3, and
// the [Double Ratchet] §5.2 recommended cryptographic algorithms, with the
// concrete constants libsignal uses (info strings, output lengths and the
// order in which outputs are split).
//
// Every function here is deterministic and runs for every message, so all of
// them are allocation-free except for the growth of a caller-supplied
// destination slice. Outputs are secret: callers must keep them secret and
// should clear them when done; this package clears its own intermediate
// buffers but does not promise erasure of memory it does not control (such as
// the internal state of the SHA-256 implementation).
//
// [RFC 5869]: https://www.rfc-editor.org/rfc/rfc5869
// [X3DH]: https://signal.org/docs/specifications/x3dh/
// [PQXDH]: https://signal.org/docs/specifications/pqxdh/
// [Double Ratchet]: https://signal.org/docs/specifications/doubleratchet/
package kdf

import (
	"crypto/sha256"
	"encoding"
)

// Size is the size in bytes of an HMAC-SHA256 tag, an HKDF-SHA256
// pseudorandom key, and of every root, chain and seed key in this package.
const Size = sha256.Size

// MaxExpand is the largest output length HKDF-SHA256 can produce
// (255 * HashLen, RFC 5869 §2.3).
const MaxExpand = 255 * Size

const (
	blockSize = sha256.BlockSize
	// ipadWord and opadWord are RFC 2104's ipad (0x36) and opad (0x5c)
	// bytes repeated over a 64-bit word.
	ipadWord = 0x3636363636363636
	opadWord = 0x5c5c5c5c5c5c5c5c
	// stateSize is the size of a marshaled SHA-256 state (crypto/sha256
	// documents that its digests marshal their internal state; the encoding
	// is 4 bytes of magic, 8 words, a 64-byte buffer and a 64-bit length).
	stateSize = 4 + 8*4 + blockSize + 8
)

// hashState is a marshaled SHA-256 state.
type hashState [stateSize]byte

// keyState holds the SHA-256 states after absorbing K^ipad and K^opad for one
// HMAC key K. Computing it costs two compression-function calls; every HMAC
// with that key then saves those two calls. It pays whenever a key is used
// more than once: the chain step (two HMACs with the chain key) and
// HKDF-Expand (one HMAC per 32-byte output block), and for the constant
// all-zero HKDF-Extract key used whenever there is no salt.
type keyState struct {
	inner, outer hashState
}

// noSalt is the key state of HKDF-Extract without a salt: RFC 5869 §2.2 uses
// HashLen zero bytes, which as an HMAC key is the same as the empty key.
var noSalt = newKeyState(nil)

// keyBlock returns the HMAC key as one SHA-256 block (RFC 2104 §2): keys
// longer than the block size are hashed first, shorter ones are padded with
// zeros.
func keyBlock(key []byte) (pad [blockSize]byte) {
	if len(key) > blockSize {
		sum := sha256.Sum256(key)
		copy(pad[:], sum[:])
		clear(sum[:])
	} else {
		copy(pad[:], key)
	}
	return pad
}

// newKeyState computes the inner and outer pad states of the HMAC key key
// (RFC 2104 §2: keys longer than the block size are hashed first).
func newKeyState(key []byte) (ks keyState) {
	ks.init(key)
	return ks
}

// init sets ks to the pad states of the HMAC key key.
func (ks *keyState) init(key []byte) {
	k := keyBlock(key)
	var pad [blockSize]byte
	xorPad(&pad, &k, ipadWord)
	ks.inner.init(&pad)
	xorPad(&pad, &k, opadWord)
	ks.outer.init(&pad)
	clear(k[:])
	clear(pad[:])
}

// sum returns HMAC(K, first || rest...) for the key K of ks.
func (ks *keyState) sum(first []byte, rest ...[]byte) (out [Size]byte) {
	n := len(first)
	for _, m := range rest {
		n += len(m)
	}
	if n+padMin <= maxShort {
		// Fast path (block.go): pad the message here and run whole
		// blocks from the saved pad states.
		var buf [maxShort]byte
		k := copy(buf[:], first)
		for _, m := range rest {
			k += copy(buf[k:], m)
		}
		end := padTo(buf[:], n, blockSize)
		var st hashState
		st.advance(&ks.inner, buf[:end])
		clear(buf[blockSize:end])
		finish(&out, &st, &ks.outer, &buf)
		return out
	}
	h := sha256.New()
	u := h.(encoding.BinaryUnmarshaler)
	if u.UnmarshalBinary(ks.inner[:]) != nil {
		panic("kdf: internal error: bad SHA-256 state")
	}
	h.Write(first)
	for _, m := range rest {
		h.Write(m)
	}
	var in [Size]byte
	h.Sum(in[:0])
	if u.UnmarshalBinary(ks.outer[:]) != nil {
		panic("kdf: internal error: bad SHA-256 state")
	}
	h.Write(in[:])
	h.Sum(out[:0])
	clear(in[:])
	return out
}

// expand fills out with HKDF-Expand(PRK, info, len(out)), where PRK is the
// key of ks (RFC 5869 §2.3): T(i) = HMAC(PRK, T(i-1) || info || i).
// len(out) must not exceed MaxExpand.
func (ks *keyState) expand(out, info []byte) {
	if Size+len(info)+1+padMin > blockSize {
		var t [Size]byte
		prev := t[:0]
		for i := 1; len(out) > 0; i++ {
			ctr := [1]byte{byte(i)}
			t = ks.sum(prev, info, ctr[:])
			prev = t[:]
			out = out[copy(out, t[:]):]
		}
		clear(t[:])
		return
	}
	// Short info (every Signal derivation): each inner message, padding
	// included, is one block, built in place (block.go).
	var (
		blk [blockSize]byte
		buf [maxShort]byte
		st  hashState
		t   [Size]byte
	)
	n := copy(blk[:], info)
	blk[n] = 1
	padTo(blk[:], n+1, blockSize)
	for i := 1; ; i++ {
		st.advance(&ks.inner, blk[:])
		finish(&t, &st, &ks.outer, &buf)
		out = out[copy(out, t[:]):]
		if len(out) == 0 {
			break
		}
		if i == 1 {
			// From T(2) on the message is T(i-1) || info || i.
			clear(blk[:])
			copy(blk[Size:], info)
			padTo(blk[:], Size+n+1, blockSize)
		}
		copy(blk[:Size], t[:])
		blk[Size+n] = byte(i + 1)
	}
	clear(blk[:])
	clear(t[:])
}

func (ks *keyState) clear() {
	clear(ks.inner[:])
	clear(ks.outer[:])
}

// HMAC returns HMAC-SHA256 ([RFC 2104]) under key of the concatenation of the
// msg parts. Keys of any length are accepted (keys longer than 64 bytes are
// hashed first, as RFC 2104 specifies). The tag is secret-dependent: compare
// it with [crypto/hmac.Equal] or [crypto/subtle.ConstantTimeCompare].
//
// [RFC 2104]: https://www.rfc-editor.org/rfc/rfc2104
func HMAC(key []byte, msg ...[]byte) (tag [Size]byte) {
	k := keyBlock(key)
	total := blockSize
	for _, m := range msg {
		total += len(m)
	}
	var (
		outer [maxShort]byte // K^opad || inner digest || padding
		st    hashState
	)
	h := sha256.New()
	if total+padMin <= maxOneShot {
		// K^ipad || msg || padding in one buffer: one Write of whole
		// blocks, read back as the chaining value (block.go).
		var buf [maxOneShot]byte
		xorPad((*[blockSize]byte)(buf[:blockSize]), &k, ipadWord)
		n := blockSize
		for _, m := range msg {
			n += copy(buf[n:], m)
		}
		end := padTo(buf[:], n, 0)
		h.Write(buf[:end])
		h.(encoding.BinaryAppender).AppendBinary(st[:0])
		copy(outer[blockSize:], st[digestAt:digestAt+Size])
		clear(buf[:end])
		h.Reset()
	} else {
		var pad [blockSize]byte
		xorPad(&pad, &k, ipadWord)
		h.Write(pad[:])
		clear(pad[:])
		for _, m := range msg {
			h.Write(m)
		}
		h.Sum(outer[blockSize:blockSize])
		h.Reset()
	}
	// The outer hash is two blocks with its padding: one Write.
	xorPad((*[blockSize]byte)(outer[:blockSize]), &k, opadWord)
	n := padTo(outer[:], blockSize+Size, 0)
	h.Write(outer[:n])
	h.(encoding.BinaryAppender).AppendBinary(st[:0])
	copy(tag[:], st[digestAt:digestAt+Size])
	clear(k[:])
	clear(outer[:])
	clear(st[:])
	return tag
}

// Extract returns HKDF-Extract(salt, ikm), the pseudorandom key of RFC 5869
// §2.2. A nil or empty salt means "no salt", which RFC 5869 defines as 32
// zero bytes (libsignal's None salt).
func Extract(salt, ikm []byte) [Size]byte {
	if len(salt) == 0 {
		return noSalt.sum(ikm)
	}
	return HMAC(salt, ikm)
}

// Expand appends n bytes of HKDF-Expand(prk, info, n) (RFC 5869 §2.3) to dst
// and returns the extended slice. prk should be a pseudorandom key such as the
// output of [Extract]; any length is accepted. dst's spare capacity must not
// overlap prk or info. To reuse the storage of a slice buf, pass buf[:0].
//
// n is chosen by the caller, never by a peer: Expand panics if n is negative
// or greater than [MaxExpand] (255*32 bytes), the RFC 5869 limit.
func Expand(dst, prk, info []byte, n int) []byte {
	if n < 0 || n > MaxExpand {
		panic("kdf: HKDF-Expand output length out of range")
	}
	ret, out := sliceForAppend(dst, n)
	var ks keyState
	ks.init(prk)
	ks.expand(out, info)
	ks.clear()
	return ret
}

// HKDF appends n bytes of HKDF-SHA256(salt, ikm, info) (RFC 5869 §2) to dst
// and returns the extended slice: HKDF-Expand(HKDF-Extract(salt, ikm), info,
// n). A nil or empty salt means no salt (32 zero bytes). dst's spare capacity
// must not overlap ikm, salt or info.
//
// Like [Expand], HKDF panics if n is negative or greater than [MaxExpand].
func HKDF(dst, ikm, salt, info []byte, n int) []byte {
	if n < 0 || n > MaxExpand {
		panic("kdf: HKDF-Expand output length out of range")
	}
	prk := Extract(salt, ikm)
	ret := Expand(dst, prk[:], info, n)
	clear(prk[:])
	return ret
}

// sliceForAppend extends in by n bytes and returns the whole slice and the
// new tail (the same helper as in the standard library's crypto packages).
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
