package xeddsa_test

import (
	"crypto/ecdh"
	"crypto/rand"
	"fmt"

	"github.com/ratchetlab/signal/internal/xeddsa"
)

// Bob signs his serialized signed pre-key with his X25519 identity key, as
// in a pre-key bundle; Alice verifies it with his identity public key.
func Example() {
	identity, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	signedPreKey, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	// libsignal serializes a public key as 0x05 || u.
	serialized := append([]byte{0x05}, signedPreKey.PublicKey().Bytes()...)

	var z [64]byte
	if _, err := rand.Read(z[:]); err != nil {
		panic(err)
	}
	priv := [32]byte(identity.Bytes())
	sig := xeddsa.Sign(&priv, &z, serialized)
	clear(priv[:])

	u := [32]byte(identity.PublicKey().Bytes())
	fmt.Println("valid:", xeddsa.Verify(&u, sig[:], serialized))
	serialized[1] ^= 1
	fmt.Println("after tampering:", xeddsa.Verify(&u, sig[:], serialized))
	// Output:
	// valid: true
	// after tampering: false
}
