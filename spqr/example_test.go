package spqr_test

import (
	"fmt"

	"github.com/ratchetlab/signal/spqr"
)

// The byte-level API: state bytes in, state bytes out, for callers that
// keep the state encoded between messages.
func Example_bytes() {
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

// Alice and Bob start from the same PQXDH-derived key and exchange
// messages; each SPQR message yields the same 32-byte key on both sides,
// which salts the Double Ratchet message keys. The states stay decoded
// between messages; a receiver commits a step only once the message
// authenticates, and rolls it back otherwise.
func Example() {
	var pqrKey [32]byte // from PQXDH: the third 32-byte block of its output
	alice := spqr.New(pqrKey, spqr.A2B, spqr.ChainParams{})
	bob := spqr.New(pqrKey, spqr.B2A, spqr.ChainParams{})

	exchange := func(from, to *spqr.State) bool {
		// Encrypting: msg goes into SignalMessage.pq_ratchet.
		msg, sendKey, _, err := from.Send(nil)
		if err != nil {
			panic(err)
		}
		from.Commit()
		// Decrypting: the key salts the message keys; the step is kept
		// only if the message's MAC then verifies.
		recvKey, ok, err := to.Recv(msg)
		if err != nil {
			panic(err)
		}
		macOK := true // the Double Ratchet's MAC check
		if !macOK {
			to.Rollback()
			return false
		}
		to.Commit()
		return ok && recvKey == sendKey
	}
	same := 0
	for range 100 {
		if exchange(alice, bob) {
			same++
		}
		if exchange(bob, alice) {
			same++
		}
	}
	record, _ := alice.AppendBinary(nil) // SessionStructure field 15
	again, err := spqr.ParseState(record)
	fmt.Println(same, "of 200 keys agree; state round-trips:", err == nil && !again.IsV0())
	// Output: 200 of 200 keys agree; state round-trips: true
}
