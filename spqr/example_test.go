package spqr_test

import (
	"fmt"

	"github.com/ratchetlab/signal/spqr"
)

// Alice and Bob start from the same PQXDH-derived key and exchange
// messages; each SPQR message yields the same 32-byte key on both sides,
// which salts the Double Ratchet message keys.
func Example() {
	var pqrKey [32]byte // from PQXDH: the third 32-byte block of its output
	alice := spqr.Init(pqrKey, spqr.A2B, spqr.ChainParams{})
	bob := spqr.Init(pqrKey, spqr.B2A, spqr.ChainParams{})

	same := 0
	for range 100 {
		var (
			aliceKey, bobKey *[32]byte
			msg              []byte
			err              error
		)
		// Alice encrypts: msg goes into SignalMessage.pq_ratchet.
		if alice, aliceKey, msg, err = spqr.Send(alice); err != nil {
			panic(err)
		}
		// Bob decrypts; he stores the new state only if the message
		// authenticates.
		if bob, bobKey, err = spqr.Recv(bob, msg); err != nil {
			panic(err)
		}
		if *aliceKey == *bobKey {
			same++
		}
		// And the other way round.
		if bob, bobKey, msg, err = spqr.Send(bob); err != nil {
			panic(err)
		}
		if alice, aliceKey, err = spqr.Recv(alice, msg); err != nil {
			panic(err)
		}
		if *aliceKey == *bobKey {
			same++
		}
	}
	fmt.Println(same, "of 200 keys agree")
	// Output: 200 of 200 keys agree
}
