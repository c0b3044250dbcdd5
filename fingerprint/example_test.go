package fingerprint_test

import (
	"encoding/hex"
	"fmt"

	"github.com/ratchetlab/signal/fingerprint"
	"github.com/ratchetlab/signal/keys"
)

func mustKey(s string) keys.PublicKey {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	k, err := keys.ParsePublicKey(b)
	if err != nil {
		panic(err)
	}
	return k
}

// Alice and Bob check their safety number, with the inputs of libsignal's
// known-answer test: each computes the fingerprint from their own point of
// view, reads the digits, and scans the other's QR code.
func Example() {
	aliceID, aliceKey := []byte("+14152222222"), mustKey("0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868")
	bobID, bobKey := []byte("+14153333333"), mustKey("05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b")

	alice, err := fingerprint.New(fingerprint.DefaultIterations, fingerprint.Version2, aliceID, aliceKey, bobID, bobKey)
	if err != nil {
		panic(err)
	}
	bob, err := fingerprint.New(fingerprint.DefaultIterations, fingerprint.Version2, bobID, bobKey, aliceID, aliceKey)
	if err != nil {
		panic(err)
	}

	fmt.Println(alice)
	fmt.Println(bob.Displayable() == alice.Displayable())

	// Alice scans the QR code on Bob's screen.
	ok, err := alice.Compare(bob.Scannable())
	fmt.Println(ok, err)

	// A QR code made with the other version cannot be compared.
	old, err := fingerprint.New(fingerprint.DefaultIterations, fingerprint.Version1, bobID, bobKey, aliceID, aliceKey)
	if err != nil {
		panic(err)
	}
	_, err = alice.Compare(old.Scannable())
	fmt.Println(err)
	// Output:
	// 30035 44776 92869 39689 28698 76765 45825 75691 62576 84344 09180 79131
	// true
	// true <nil>
	// fingerprint: scannable fingerprint has version 1, ours has version 2
}
