package kem_test

import (
	"fmt"

	"github.com/ratchetlab/signal/kem"
)

// Bob publishes a Kyber1024 public key (his "Kyber pre-key"); Alice
// encapsulates a fresh shared secret to it and sends Bob the ciphertext,
// which he decapsulates to the same secret.
func Example() {
	// Bob.
	bob, err := kem.GenerateKey(kem.Kyber1024)
	if err != nil {
		panic(err)
	}
	published := bob.PublicKey().Bytes()

	// Alice.
	bobKey, err := kem.ParsePublicKey(published)
	if err != nil {
		panic(err)
	}
	ciphertext, aliceSecret, err := bobKey.Encapsulate()
	if err != nil {
		panic(err)
	}

	// Bob.
	bobSecret, err := bob.Decapsulate(ciphertext)
	if err != nil {
		panic(err)
	}

	fmt.Println("public key:", bobKey.Type(), len(published), "bytes")
	fmt.Printf("ciphertext: type %#02x, %d bytes\n", ciphertext[0], len(ciphertext))
	fmt.Println("secrets equal:", aliceSecret == bobSecret)
	fmt.Println(bob)
	// Output:
	// public key: Kyber1024 1569 bytes
	// ciphertext: type 0x08, 1569 bytes
	// secrets equal: true
	// kem.SecretKey(Kyber1024)
}
