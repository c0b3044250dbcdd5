package spqr

import (
	"crypto/rand"
	"crypto/sha3"
	"crypto/subtle"
	"io"

	"github.com/cloudflare/circl/kem/mlkem/mlkem768"
	"github.com/cloudflare/circl/pke/kyber/kyber768"

	"github.com/ratchetlab/signal/internal/cpu"
)

// Incremental ML-KEM-768 (spqr src/incremental_mlkem768.rs, libcrux
// mlkem768::incremental) on top
// of circl's FIPS 203 K-PKE. The encapsulation key is split into a 64-byte
// header hdr = rho || H(ek) and the 1152-byte ByteEncode12(t_hat) ("pk2"), and
// the ciphertext into ct1 (the u part, 960 bytes) and ct2 (the v part, 128
// bytes). ct1 depends only on rho, m and H(ek), so running K-PKE.Encrypt with
// t = 0 yields it before pk2 is known; running it again with the real t
// yields ct2. ct1 || ct2 is a standard ML-KEM-768 ciphertext.
//
// Every function here that runs circl's ML-KEM or Kyber code ends with
// cpu.VZeroUpper: circl's AVX2 assembly returns with the upper YMM halves
// dirty, which otherwise slows the SHA-NI HMAC/HKDF code that runs next (see
// package internal/cpu).

const (
	hdrSize  = 64
	ekSize   = 1152
	dkSize   = mlkem768.PrivateKeySize // 2400
	ct1Size  = 960
	ct2Size  = 128
	esSize   = 2080
	macSize  = 32
	seedSize = 64
	mSize    = 32

	hdrMsgSize = hdrSize + macSize // HDR: hdr || mac_hdr
	ct2MsgSize = ct2Size + macSize // CT2: ct2 || mac_ct
)

// generate draws a 64-byte seed d || z and returns hdr, pk2 and the
// 2400-byte FIPS 203 decapsulation key.
func generate(rnd io.Reader) (hdr, ek, dk []byte, err error) {
	defer cpu.VZeroUpper()
	var seed [seedSize]byte
	if _, err := io.ReadFull(rnd, seed[:]); err != nil {
		return nil, nil, nil, err
	}
	_, sk := mlkem768.NewKeyFromSeed(seed[:])
	clear(seed[:])
	dk = make([]byte, dkSize)
	sk.Pack(dk)
	// dk = dk_PKE(1152) || t(1152) || rho(32) || H(ek)(32) || z(32)
	ek = append([]byte(nil), dk[1152:2304]...)
	hdr = append([]byte(nil), dk[2304:2368]...)
	return hdr, ek, dk, nil
}

// keyPairFromDK returns hdr, pk2 and a copy of a 2400-byte decapsulation
// key given from outside (transcript replays), after checking it.
func keyPairFromDK(dk []byte) (hdr, ek, dkCopy []byte, ok bool) {
	defer cpu.VZeroUpper()
	var sk mlkem768.PrivateKey
	if len(dk) != dkSize || sk.Unpack(dk) != nil || !ekValid(dk[1152:2304]) {
		return nil, nil, nil, false
	}
	dkCopy = append([]byte(nil), dk...)
	return append([]byte(nil), dk[2304:2368]...), append([]byte(nil), dk[1152:2304]...), dkCopy, true
}

// kpkeEncrypt runs K-PKE.Encrypt(t || rho, m, r) with r derived as in
// ML-KEM.Encaps from m and H(ek) = hdr[32:64], and returns the ciphertext and
// the shared secret K.
func kpkeEncrypt(t []byte, hdr []byte, m []byte) (ct [kyber768.CiphertextSize]byte, ss [32]byte) {
	defer cpu.VZeroUpper()
	var in [mSize + 32]byte
	copy(in[:], m)
	copy(in[mSize:], hdr[32:64])
	kr := sha3.Sum512(in[:])
	var pkBytes [kyber768.PublicKeySize]byte
	copy(pkBytes[:ekSize], t)
	copy(pkBytes[ekSize:], hdr[:32])
	var pk kyber768.PublicKey
	pk.Unpack(pkBytes[:])
	pk.EncryptTo(ct[:], m, kr[32:])
	copy(ss[:], kr[:32])
	clear(kr[:])
	return ct, ss
}

// encaps1 draws m and returns ct1, the encapsulation state es (in libcrux's
// layout, see kpke.go) and the shared secret.
func encaps1(hdr []byte, rnd io.Reader) (ct1, es []byte, ss [32]byte, err error) {
	var m [mSize]byte
	if _, err := io.ReadFull(rnd, m[:]); err != nil {
		return nil, nil, ss, err
	}
	var zero [ekSize]byte
	ct, ss := kpkeEncrypt(zero[:], hdr, m[:])
	es = libcruxES(m[:], hdr[32:64])
	clear(m[:])
	return append([]byte(nil), ct[:ct1Size]...), es, ss, nil
}

// encaps2 returns ct2 for pk2 = ek, given the es of encaps1 and, when the
// state still holds it, hdr (then circl re-encrypts with r re-derived from
// m; without it ct2 is computed from es's r_hat and e2). es and ek were
// validated when they were parsed or received.
func encaps2(ek, hdr, es []byte) []byte {
	if hdr == nil {
		ct2, _ := ct2FromES(ek, es)
		return ct2
	}
	ct, ss := kpkeEncrypt(ek, hdr, es[esSize-mSize:])
	clear(ss[:])
	return append([]byte(nil), ct[ct1Size:]...)
}

// ekMatchesHeader checks SHA3-256(pk2 || rho) == hdr[32:64] and the FIPS 203
// modulus check on pk2.
func ekMatchesHeader(ek, hdr []byte) bool {
	defer cpu.VZeroUpper()
	var pkBytes [kyber768.PublicKeySize]byte
	copy(pkBytes[:ekSize], ek)
	copy(pkBytes[ekSize:], hdr[:32])
	h := sha3.Sum256(pkBytes[:])
	if subtle.ConstantTimeCompare(h[:], hdr[32:64]) != 1 {
		return false
	}
	var pk kyber768.PublicKey
	return pk.UnpackMLKEM(pkBytes[:]) == nil
}

// decaps runs ML-KEM.Decaps(dk, ct1 || ct2) with implicit rejection.
func decaps(dk, ct1, ct2 []byte) ([32]byte, error) {
	defer cpu.VZeroUpper()
	var ss [32]byte
	var sk mlkem768.PrivateKey
	if err := sk.Unpack(dk); err != nil {
		return ss, ErrStateDecode
	}
	ct := make([]byte, 0, ct1Size+ct2Size)
	ct = append(append(ct, ct1...), ct2...)
	sk.DecapsulateTo(ss[:], ct)
	return ss, nil
}

// randReader returns r, or crypto/rand.Reader when r is nil.
func randReader(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}
