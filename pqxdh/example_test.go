package pqxdh_test

import (
	"fmt"

	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/pqxdh"
)

// Alice starts a session from Bob's published keys; Bob answers her initial
// message with his private keys. Both end with the same root key, chain key
// and post-quantum ratchet start key.
func Example() {
	// Bob's identity key, signed pre-key, one-time pre-key and Kyber pre-key.
	ikB, _ := keys.GeneratePrivateKey()
	spkB, _ := keys.GeneratePrivateKey()
	opkB, _ := keys.GeneratePrivateKey()
	kyberB, _ := kem.GenerateKey(kem.Kyber1024)

	// Alice, with Bob's (verified) bundle. A nil base key draws a fresh one.
	ikA, _ := keys.GeneratePrivateKey()
	alice, msg, err := pqxdh.Initiate(ikA, nil, pqxdh.BobKeys{
		IdentityKey:   ikB.PublicKey(),
		SignedPreKey:  spkB.PublicKey(),
		OneTimePreKey: opkB.PublicKey(),
		KyberPreKey:   kyberB.PublicKey(),
	})
	if err != nil {
		panic(err)
	}

	// msg.IdentityKey, msg.BaseKey and msg.KyberCiphertext travel in the
	// PreKeySignalMessage.
	bob, err := pqxdh.Respond(ikB, spkB, opkB, kyberB, msg)
	if err != nil {
		panic(err)
	}
	fmt.Println(alice.RootKey() == bob.RootKey(), alice.ChainKey() == bob.ChainKey(), alice.SPQRKey() == bob.SPQRKey())
	fmt.Println(len(msg.KyberCiphertext), alice)
	// Output:
	// true true true
	// 1569 pqxdh.Secrets{…}
}
