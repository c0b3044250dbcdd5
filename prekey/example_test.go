package prekey_test

import (
	"fmt"
	"time"

	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
)

// Bob makes his pre-keys, stores the records and publishes the bundle; Alice
// receives the bundle's fields and verifies them.
func Example() {
	identity, _ := keys.GeneratePrivateKey()
	now := time.UnixMilli(1700000000000)

	signed, _ := prekey.GenerateSignedPreKey(identity, 1, now)
	oneTime, _ := prekey.GeneratePreKeys(100, 10)
	kyber, _ := prekey.GenerateKyberPreKey(identity, 1, kem.Kyber1024, now)

	// The records go to Bob's store in libsignal's encoding (id 2 bytes,
	// public key 3+1569, secret key 3+3169, signature 2+64, timestamp 1+8)...
	stored, _ := kyber.MarshalBinary()
	back, _ := prekey.ParseKyberPreKeyRecord(stored)
	fmt.Println(len(stored), back.ID(), back.Timestamp().Equal(now))

	// ...and the public halves to the server.
	bundle, err := prekey.NewBundle(4242, 1, identity.PublicKey(), signed, oneTime[0], kyber)
	if err != nil {
		panic(err)
	}

	// Alice gets the raw fields and checks keys and signatures.
	received, err := prekey.ParseBundle(bundle.Raw())
	if err != nil {
		panic(err)
	}
	id, _, _ := received.PreKey()
	fmt.Println(received.Version(), id)

	// A tampered signature is rejected.
	raw := bundle.Raw()
	raw.KyberPreKeySignature[0] ^= 1
	_, err = prekey.ParseBundle(raw)
	fmt.Println(err)
	// Output:
	// 4821 1 true
	// 4 100
	// prekey: invalid Kyber pre-key signature
}
