package bench

import (
	"crypto/aes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/cloudflare/circl/kem/kyber/kyber1024"
)

// BenchmarkFloor measures the primitives the compared operations are made
// of, straight from the standard library and circl, so that each
// operation's cost can be read against the sum of its primitives:
//
//   - X25519: one Diffie-Hellman agreement (crypto/ecdh).
//   - X25519Base: one key pair generation (random scalar, base-point
//     multiplication).
//   - Kyber1024Encapsulate / Kyber1024Decapsulate: circl's Kyber1024 (round
//     3) with a fixed encapsulation seed and unpacked keys, as the kem
//     package uses it.
//   - Kyber1024UnpackPublic: unpacking a serialized public key, which
//     expands the matrix A from its seed. A key that arrives as bytes (the
//     bundle's Kyber pre-key; the public key inside a stored secret key,
//     which decapsulation re-encrypts with) needs it once.
//   - SHA256Block: one SHA-256 compression (sha256.Sum256 of 55 bytes: one
//     padded block). HMAC-SHA256 over a short message costs four.
//   - AES256Block: one AES-256 block encryption with an expanded key.
//   - Ed25519Verify: one Ed25519 verification, the floor of an XEdDSA
//     verification (each bundle signature checked at session setup).
func BenchmarkFloor(b *testing.B) {
	b.Run("X25519", func(b *testing.B) {
		x := ecdh.X25519()
		k1, err := x.GenerateKey(rand.Reader)
		must(b, err)
		k2, err := x.GenerateKey(rand.Reader)
		must(b, err)
		pub := k2.PublicKey()
		m := meter(b)
		defer m.done()
		for b.Loop() {
			_, err := k1.ECDH(pub)
			must(b, err)
		}
	})
	b.Run("X25519Base", func(b *testing.B) {
		x := ecdh.X25519()
		m := meter(b)
		defer m.done()
		for b.Loop() {
			_, err := x.GenerateKey(rand.Reader)
			must(b, err)
		}
	})
	pk, sk, err := kyber1024.GenerateKeyPair(rand.Reader)
	must(b, err)
	seed := make([]byte, kyber1024.EncapsulationSeedSize)
	ct := make([]byte, kyber1024.CiphertextSize)
	ss := make([]byte, kyber1024.SharedKeySize)
	pk.EncapsulateTo(ct, ss, seed)
	b.Run("Kyber1024UnpackPublic", func(b *testing.B) {
		packed := make([]byte, kyber1024.PublicKeySize)
		pk.Pack(packed)
		var k kyber1024.PublicKey
		m := meter(b)
		defer m.done()
		for b.Loop() {
			k.Unpack(packed)
		}
	})
	b.Run("Kyber1024Encapsulate", func(b *testing.B) {
		ct, ss := make([]byte, len(ct)), make([]byte, len(ss))
		m := meter(b)
		defer m.done()
		for b.Loop() {
			pk.EncapsulateTo(ct, ss, seed)
		}
	})
	b.Run("Kyber1024Decapsulate", func(b *testing.B) {
		ss := make([]byte, len(ss))
		m := meter(b)
		defer m.done()
		for b.Loop() {
			sk.DecapsulateTo(ss, ct)
		}
	})
	b.Run("SHA256Block", func(b *testing.B) {
		var msg [55]byte
		m := meter(b)
		defer m.done()
		for b.Loop() {
			sha256.Sum256(msg[:])
		}
	})
	b.Run("AES256Block", func(b *testing.B) {
		block, err := aes.NewCipher(make([]byte, 32))
		must(b, err)
		var buf [aes.BlockSize]byte
		m := meter(b)
		defer m.done()
		for b.Loop() {
			block.Encrypt(buf[:], buf[:])
		}
	})
	groupFloors(b) // group_test.go
	b.Run("Ed25519Verify", func(b *testing.B) {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		must(b, err)
		msg := make([]byte, 33)
		sig := ed25519.Sign(priv, msg)
		m := meter(b)
		defer m.done()
		for b.Loop() {
			if !ed25519.Verify(pub, msg, sig) {
				b.Fatal("verify failed")
			}
		}
	})
}
