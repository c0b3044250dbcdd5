package kdf

import "fmt"

// Info strings and constants used by libsignal.
var (
	infoX3DH        = []byte("WhisperText")
	infoPQXDH       = []byte("WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024")
	infoRatchet     = []byte("WhisperRatchet")
	infoMessageKeys = []byte("WhisperMessageKeys")
	infoGroup       = []byte("WhisperGroup")

	// discontinuity is the 32 0xFF bytes X3DH §2.2 and PQXDH §2.2 prepend to
	// the key-agreement outputs for X25519 ("F is 32 0xFF bytes").
	discontinuity = [32]byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	}

	seedConstant = []byte{0x01} // KDF_CK message-key seed input
	nextConstant = []byte{0x02} // KDF_CK next-chain-key input
)

// extractSecrets returns HKDF-Extract(no salt, 0xFF*32 || secrets...) as a
// key state ready for HKDF-Expand.
func extractSecrets(secrets [][]byte) (ks keyState) {
	prk := noSalt.sum(discontinuity[:], secrets...)
	ks.init(prk[:])
	clear(prk[:])
	return ks
}

// X3DH derives the initial root key and chain key of a version 3 (X3DH)
// session, as libsignal did before PQXDH:
//
//	OKM = HKDF(salt = none, IKM = 0xFF*32 || secrets..., info = "WhisperText", L = 64)
//	root = OKM[0:32], chain = OKM[32:64]
//
// secrets are the X25519 outputs in protocol order, DH1 || DH2 || DH3 [||
// DH4] (X3DH §3.3); the 32 0xFF discontinuity bytes are prepended here and
// must not be passed.
func X3DH(secrets ...[]byte) (root, chain [Size]byte) {
	ks := extractSecrets(secrets)
	var okm [2 * Size]byte
	ks.expand(okm[:], infoX3DH)
	ks.clear()
	copy(root[:], okm[:Size])
	copy(chain[:], okm[Size:])
	clear(okm[:])
	return root, chain
}

// PQXDH derives the initial root key, chain key and post-quantum ratchet
// (SPQR) authentication key of a version 4 (PQXDH) session:
//
//	OKM = HKDF(salt = none, IKM = 0xFF*32 || secrets...,
//	           info = "WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024", L = 96)
//	root = OKM[0:32], chain = OKM[32:64], pqr = OKM[64:96]
//
// secrets are DH1 || DH2 || DH3 [|| DH4] || SS in protocol order (PQXDH §3.3),
// the KEM shared secret last; the 32 0xFF discontinuity bytes are prepended
// here and must not be passed. libsignal uses the same info string whatever
// the KEM.
func PQXDH(secrets ...[]byte) (root, chain, pqr [Size]byte) {
	ks := extractSecrets(secrets)
	var okm [3 * Size]byte
	ks.expand(okm[:], infoPQXDH)
	ks.clear()
	copy(root[:], okm[:Size])
	copy(chain[:], okm[Size:2*Size])
	copy(pqr[:], okm[2*Size:])
	clear(okm[:])
	return root, chain, pqr
}

// RootStep is the Double Ratchet root KDF, KDF_RK(rk, dh_out):
//
//	OKM = HKDF(salt = root, IKM = dh, info = "WhisperRatchet", L = 64)
//	newRoot = OKM[0:32], chain = OKM[32:64]
//
// dh is the X25519 output of our ratchet private key and the peer's ratchet
// public key. The new chain starts at index 0.
func RootStep(root, dh *[Size]byte) (newRoot, chain [Size]byte) {
	prk := HMAC(root[:], dh[:])
	var ks keyState
	ks.init(prk[:])
	clear(prk[:])
	var okm [2 * Size]byte
	ks.expand(okm[:], infoRatchet)
	ks.clear()
	copy(newRoot[:], okm[:Size])
	copy(chain[:], okm[Size:])
	clear(okm[:])
	return newRoot, chain
}

// ChainStep is the Double Ratchet chain KDF, KDF_CK(ck), as used by both the
// 1:1 ratchet and sender-key chains:
//
//	seed = HMAC(chain, 0x01)   message-key seed for the chain's current index
//	next = HMAC(chain, 0x02)   chain key for index+1
func ChainStep(chain *[Size]byte) (seed, next [Size]byte) {
	var ks keyState
	ks.init(chain[:])
	var st hashState
	var buf [maxShort]byte
	// The inner messages are one constant block each, padding included.
	st.advance(&ks.inner, seedBlock[:])
	finish(&seed, &st, &ks.outer, &buf)
	st.advance(&ks.inner, nextBlock[:])
	finish(&next, &st, &ks.outer, &buf)
	ks.clear()
	return seed, next
}

// seedBlock and nextBlock are the inner HMAC messages of [ChainStep], 0x01
// and 0x02 after the 64-byte K^ipad block, padded to one SHA-256 block
// (FIPS 180-4 §5.1.1: 0x80, zeros, the message length in bits: 65*8 = 520).
var seedBlock, nextBlock = chainBlock(seedConstant[0]), chainBlock(nextConstant[0])

func chainBlock(b byte) (blk [blockSize]byte) {
	blk[0] = b
	padTo(blk[:], 1, blockSize)
	return blk
}

// MessageKeys are the keys that protect one 1:1 message: an AES-256-CBC key
// and IV for the body and an HMAC-SHA256 key for the message MAC. They are
// secret; their Format and String methods print none of them.
type MessageKeys struct {
	CipherKey [32]byte // AES-256-CBC key of the message body
	MACKey    [32]byte // HMAC-SHA256 key of the message MAC
	IV        [16]byte // AES-CBC initialization vector of the body
}

// DeriveMessageKeys expands a message-key seed (from [ChainStep]) into the
// keys of one message:
//
//	OKM = HKDF(salt = salt or none, IKM = seed, info = "WhisperMessageKeys", L = 80)
//	CipherKey = OKM[0:32], MACKey = OKM[32:64], IV = OKM[64:80]
//
// salt is the 32-byte key the post-quantum ratchet (SPQR) yields for this
// message, or nil for sessions and messages without one.
func DeriveMessageKeys(seed, salt *[Size]byte) MessageKeys {
	var prk [Size]byte
	if salt == nil {
		prk = noSalt.sum(seed[:])
	} else {
		prk = HMAC(salt[:], seed[:])
	}
	var ks keyState
	ks.init(prk[:])
	clear(prk[:])
	var okm [80]byte
	ks.expand(okm[:], infoMessageKeys)
	ks.clear()
	var mk MessageKeys
	copy(mk.CipherKey[:], okm[0:32])
	copy(mk.MACKey[:], okm[32:64])
	copy(mk.IV[:], okm[64:80])
	clear(okm[:])
	return mk
}

// Format implements [fmt.Formatter]. It prints only the type name, never key
// material, whatever the verb.
func (MessageKeys) Format(f fmt.State, _ rune) {
	f.Write([]byte("kdf.MessageKeys{redacted}"))
}

// String returns "kdf.MessageKeys{redacted}"; it never returns key material.
func (MessageKeys) String() string { return "kdf.MessageKeys{redacted}" }

// DeriveGroupMessageKeys expands a sender-key message seed (from [ChainStep]
// on a sender chain key) into the IV and AES-256 key of one group message:
//
//	OKM = HKDF(salt = none, IKM = seed, info = "WhisperGroup", L = 48)
//	iv = OKM[0:16], key = OKM[16:48]
//
// Note the order: the IV comes first, unlike [DeriveMessageKeys].
func DeriveGroupMessageKeys(seed *[Size]byte) (iv [16]byte, key [32]byte) {
	prk := noSalt.sum(seed[:])
	var ks keyState
	ks.init(prk[:])
	clear(prk[:])
	var okm [48]byte
	ks.expand(okm[:], infoGroup)
	ks.clear()
	copy(iv[:], okm[0:16])
	copy(key[:], okm[16:48])
	clear(okm[:])
	return iv, key
}
