package spqr

import (
	"crypto/hmac"
	"encoding/binary"
	"fmt"

	"github.com/ratchetlab/signal/kdf"
)

// spqr src/authenticator.rs: the authenticator MACs the ML-KEM header and ciphertext
// of each epoch with a key ratcheted by the epoch secrets.

const (
	labelAuthUpdate = "Signal_PQCKA_V1_MLKEM768:Authenticator Update"
	labelHdrMAC     = "Signal_PQCKA_V1_MLKEM768:ekheader"
	labelCtMAC      = "Signal_PQCKA_V1_MLKEM768:ciphertext"
	labelSCKAKey    = "Signal_PQCKA_V1_MLKEM768:SCKA Key"
)

// authenticator is the (root, mac) key pair of §4.
type authenticator struct {
	root, mac [32]byte
}

// newAuthenticator returns update(epoch, key) applied to a zero root.
func newAuthenticator(key []byte, epoch uint64) authenticator {
	var a authenticator
	a.update(epoch, key)
	return a
}

// update sets (root, mac) = HKDF(zero, root || key, label || BE64(epoch), 64).
func (a *authenticator) update(epoch uint64, key []byte) {
	ikm := make([]byte, 0, 64)
	ikm = append(append(ikm, a.root[:]...), key...)
	info := binary.BigEndian.AppendUint64([]byte(labelAuthUpdate), epoch)
	var out [64]byte
	kdf.HKDF(out[:0], ikm, nil, info, 64)
	copy(a.root[:], out[:32])
	copy(a.mac[:], out[32:])
	clear(out[:])
	clear(ikm)
}

// macHdr returns the header MAC for epoch.
func (a *authenticator) macHdr(epoch uint64, hdr []byte) [32]byte {
	var e [8]byte
	binary.BigEndian.PutUint64(e[:], epoch)
	return kdf.HMAC(a.mac[:], []byte(labelHdrMAC), e[:], hdr)
}

// macCt returns the ciphertext MAC for epoch.
func (a *authenticator) macCt(epoch uint64, ct1, ct2 []byte) [32]byte {
	var e [8]byte
	binary.BigEndian.PutUint64(e[:], epoch)
	return kdf.HMAC(a.mac[:], []byte(labelCtMAC), e[:], ct1, ct2)
}

// verifyHdr checks a header MAC in constant time.
func (a *authenticator) verifyHdr(epoch uint64, hdr, mac []byte) error {
	want := a.macHdr(epoch, hdr)
	if !hmac.Equal(want[:], mac) {
		return ErrErroneousData
	}
	return nil
}

// verifyCt checks a ciphertext MAC in constant time.
func (a *authenticator) verifyCt(epoch uint64, ct1, ct2, mac []byte) error {
	want := a.macCt(epoch, ct1, ct2)
	if !hmac.Equal(want[:], mac) {
		return ErrErroneousData
	}
	return nil
}

// Format prints no key material.
func (a authenticator) Format(f fmt.State, _ rune) { fmt.Fprint(f, "spqr.authenticator{redacted}") }

// epochSecret returns K_e = HKDF(zero, ss, "…:SCKA Key" || BE64(e), 32).
func epochSecret(epoch uint64, ss []byte) [32]byte {
	info := binary.BigEndian.AppendUint64([]byte(labelSCKAKey), epoch)
	var k [32]byte
	kdf.HKDF(k[:0], ss, nil, info, 32)
	return k
}
