package ratchet

import (
	"crypto/sha256"
	"crypto/subtle"
	"hash"
	"sync"

	"github.com/ratchetlab/signal/keys"
)

// macState is a reusable HMAC-SHA256 computation. crypto/hmac re-keys with
// allocations for every new key; message MAC keys change with every
// message, so the MAC is computed here from a pooled SHA-256 state.
type macState struct {
	h     hash.Hash
	pad   [64]byte
	inner [sha256.Size]byte
	ids   [2 * keys.PublicKeySize]byte
}

var macPool = sync.Pool{New: func() any { return &macState{h: sha256.New()} }}

// messageMAC computes HMAC-SHA256(key, sender || receiver || msg) truncated
// to MACSize bytes, into out.
func messageMAC(out *[MACSize]byte, key *[32]byte, sender, receiver keys.PublicKey, msg []byte) {
	m := macPool.Get().(*macState)
	for i := range m.pad {
		m.pad[i] = 0x36
	}
	for i, b := range key {
		m.pad[i] ^= b
	}
	sa, ra := sender.Array(), receiver.Array()
	copy(m.ids[:], sa[:])
	copy(m.ids[keys.PublicKeySize:], ra[:])
	m.h.Reset()
	m.h.Write(m.pad[:])
	m.h.Write(m.ids[:])
	m.h.Write(msg)
	m.h.Sum(m.inner[:0])
	for i := range m.pad {
		m.pad[i] ^= 0x36 ^ 0x5c
	}
	m.h.Reset()
	m.h.Write(m.pad[:])
	m.h.Write(m.inner[:])
	m.h.Sum(m.inner[:0])
	copy(out[:], m.inner[:MACSize])
	clear(m.pad[:])
	clear(m.inner[:])
	macPool.Put(m)
}

// verifyMAC reports, in constant time, whether mac is the message's MAC.
func verifyMAC(key *[32]byte, sender, receiver keys.PublicKey, msg, mac []byte) bool {
	var want [MACSize]byte
	messageMAC(&want, key, sender, receiver, msg)
	return subtle.ConstantTimeCompare(want[:], mac) == 1
}
