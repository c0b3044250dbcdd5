package ratchet

import (
	"crypto/subtle"

	"github.com/ratchetlab/signal/kdf"
	"github.com/ratchetlab/signal/keys"
)

// messageMAC computes HMAC-SHA256(key, sender || receiver || msg) truncated
// to MACSize bytes, into out.
func messageMAC(out *[MACSize]byte, key *[32]byte, sender, receiver keys.PublicKey, msg []byte) {
	sa, ra := sender.Array(), receiver.Array()
	tag := kdf.HMAC(key[:], sa[:], ra[:], msg)
	copy(out[:], tag[:MACSize])
	clear(tag[:])
}

// verifyMAC reports, in constant time, whether mac is the message's MAC.
func verifyMAC(key *[32]byte, sender, receiver keys.PublicKey, msg, mac []byte) bool {
	var want [MACSize]byte
	messageMAC(&want, key, sender, receiver, msg)
	return subtle.ConstantTimeCompare(want[:], mac) == 1
}
