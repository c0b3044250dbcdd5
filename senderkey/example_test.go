package senderkey_test

import (
	"fmt"

	"github.com/ratchetlab/signal/senderkey"
)

// Alice creates her sender key for a group and hands the distribution
// message to Bob (in a real client, inside a 1:1 Signal message). One
// encryption then serves every member.
func Example() {
	id, _ := senderkey.ParseDistributionID("d1571b00-0000-4000-8000-0000000000d1")

	alice, _ := senderkey.NewSenderKey()
	d, _ := alice.DistributionMessage(senderkey.Libsignal, id)
	skdm, _ := d.MarshalBinary()

	// Bob, on receiving skdm from Alice over their 1:1 session:
	got, _ := senderkey.ParseDistributionMessage(skdm, senderkey.Libsignal)
	bob := senderkey.NewRecord()
	bob.Process(got)

	ct, _ := alice.Encrypt(nil, senderkey.Libsignal, id, []byte("hello, group"))

	m, _ := senderkey.ParseMessage(ct, senderkey.Libsignal)
	pt, err := bob.Decrypt(nil, &m)
	fmt.Println(string(pt), err, m.DistributionID)

	_, err = bob.Decrypt(nil, &m)
	fmt.Println(err)
	// Output:
	// hello, group <nil> d1571b00-0000-4000-8000-0000000000d1
	// senderkey: duplicate message (chain iteration 1, message iteration 0)
}
