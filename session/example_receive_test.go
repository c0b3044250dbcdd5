package session_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/session"
)

// Receive hands the plaintext to the application inside the store's
// transaction, so that the message and the advanced session are saved
// together: if saving the message fails, the session does not advance and
// the redelivered message decrypts again. With MemoryStore,
// MemoryOnCommit stands in for the application's writes; with a SQL
// store the handler writes to the transaction the ctx carries.
func ExampleManager_Receive() {
	ctx := context.Background()
	aliceAddr := session.Address{Name: "alice", DeviceID: 1}
	bobAddr := session.Address{Name: "bob", DeviceID: 1}
	_, _, alice := newDevice(1111)
	bobID, bobStore, bob := newDevice(2222)
	if err := alice.ProcessBundle(ctx, bobAddr, must(prekey.ParseBundle(publish(ctx, bobID, bobStore, 2222)))); err != nil {
		log.Fatal(err)
	}
	ct := must(alice.Encrypt(ctx, bobAddr, []byte("hello")))

	var inbox []string
	diskFull := true
	save := func(ctx context.Context, plaintext []byte) error {
		if diskFull {
			return errors.New("disk full")
		}
		msg := string(plaintext) // plaintext is not kept after save returns
		session.MemoryOnCommit(ctx, func() { inbox = append(inbox, msg) })
		return nil
	}
	fmt.Println("first delivery:", bob.Receive(ctx, aliceAddr, ct, save))
	diskFull = false
	fmt.Println("redelivery:", bob.Receive(ctx, aliceAddr, ct, save))
	err := bob.Receive(ctx, aliceAddr, ct, save)
	fmt.Println("third delivery is a duplicate:", errors.Is(err, session.ErrDuplicateMessage))
	fmt.Println("inbox:", inbox)
	// Output:
	// first delivery: disk full
	// redelivery: <nil>
	// third delivery is a duplicate: true
	// inbox: [hello]
}
