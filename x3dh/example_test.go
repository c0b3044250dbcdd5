package x3dh_test

import (
	"fmt"

	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/x3dh"
)

// Alice starts a session from Bob's published keys; Bob answers her initial
// message with his private keys. Both end with the same root and chain key.
func Example() {
	// Bob's identity key, signed pre-key and one-time pre-key.
	ikB, _ := keys.GeneratePrivateKey()
	spkB, _ := keys.GeneratePrivateKey()
	opkB, _ := keys.GeneratePrivateKey()

	// Alice, with Bob's (verified) bundle. A nil base key draws a fresh one.
	ikA, _ := keys.GeneratePrivateKey()
	alice, msg, err := x3dh.Initiate(ikA, nil, x3dh.BobKeys{
		IdentityKey:   ikB.PublicKey(),
		SignedPreKey:  spkB.PublicKey(),
		OneTimePreKey: opkB.PublicKey(),
	})
	if err != nil {
		panic(err)
	}

	// msg.IdentityKey and msg.BaseKey travel in the PreKeySignalMessage.
	bob, err := x3dh.Respond(ikB, spkB, opkB, msg)
	if err != nil {
		panic(err)
	}
	fmt.Println(alice.RootKey() == bob.RootKey(), alice.ChainKey() == bob.ChainKey())
	fmt.Println(alice)
	// Output:
	// true true
	// x3dh.Secrets{…}
}
