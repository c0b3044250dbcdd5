package session_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/session"
)

// must stops an example on an unexpected error.
func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}

// newDevice returns a device's identity key, its store and its Manager.
func newDevice(registrationID uint32) (*keys.PrivateKey, *session.MemoryStore, *session.Manager) {
	id := must(keys.GeneratePrivateKey())
	store := session.NewMemoryStore(id, registrationID, session.TrustOnFirstUse)
	m := must(session.New(store.Stores()))
	return id, store, m
}

// publish stores a signed pre-key, a one-time pre-key and a Kyber pre-key
// and returns the bundle that announces them, as a server would hand it out.
func publish(ctx context.Context, id *keys.PrivateKey, store *session.MemoryStore, registrationID uint32) prekey.RawBundle {
	spk := must(prekey.GenerateSignedPreKey(id, 1, time.Now()))
	opk := must(prekey.GeneratePreKeys(100, 1))[0]
	kpk := must(prekey.GenerateKyberPreKey(id, 1, kem.Kyber1024, time.Now()))
	if err := errors.Join(store.StoreSignedPreKey(ctx, spk), store.StorePreKey(ctx, opk), store.StoreKyberPreKey(ctx, kpk)); err != nil {
		log.Fatal(err)
	}
	return must(prekey.NewBundle(registrationID, 1, id.PublicKey(), spk, opk, kpk)).Raw()
}

func typeName(t session.MessageType) string {
	switch t {
	case session.PreKeyType:
		return "PreKey"
	case session.WhisperType:
		return "Whisper"
	}
	return "unknown"
}

// Alice starts a PQXDH session from Bob's pre-key bundle, sends him two
// messages and reads his reply. Her messages are PreKey messages until Bob
// has answered; after that both sides send Whisper messages.
func Example() {
	ctx := context.Background()
	aliceAddr := session.Address{Name: "alice", DeviceID: 1}
	bobAddr := session.Address{Name: "bob", DeviceID: 1}
	_, _, alice := newDevice(1111)
	bobID, bobStore, bob := newDevice(2222)

	// Bob publishes his pre-keys; Alice fetches the bundle, which
	// ParseBundle verifies (keys and signatures), and starts the session.
	raw := publish(ctx, bobID, bobStore, 2222)
	bundle := must(prekey.ParseBundle(raw))
	fmt.Println("bundle version:", bundle.Version())
	if err := alice.ProcessBundle(ctx, bobAddr, bundle); err != nil {
		log.Fatal(err)
	}

	ct1 := must(alice.Encrypt(ctx, bobAddr, []byte("Hello Bob")))
	ct2 := must(alice.Encrypt(ctx, bobAddr, []byte("Are you there?")))
	fmt.Println("Alice sends:", typeName(ct1.Type), typeName(ct2.Type))

	// Bob's first decryption sets up his side and uses up the one-time
	// pre-key.
	fmt.Printf("Bob reads: %s\n", must(bob.Decrypt(ctx, aliceAddr, ct1)))
	fmt.Printf("Bob reads: %s\n", must(bob.Decrypt(ctx, aliceAddr, ct2)))
	fmt.Println("one-time pre-keys left:", bobStore.PreKeyCount())

	reply := must(bob.Encrypt(ctx, aliceAddr, []byte("Hi Alice")))
	fmt.Println("Bob sends:", typeName(reply.Type))
	fmt.Printf("Alice reads: %s\n", must(alice.Decrypt(ctx, bobAddr, reply)))

	ct3 := must(alice.Encrypt(ctx, bobAddr, []byte("Good to hear")))
	fmt.Println("Alice sends:", typeName(ct3.Type))
	fmt.Printf("Bob reads: %s\n", must(bob.Decrypt(ctx, aliceAddr, ct3)))
	// Output:
	// bundle version: 4
	// Alice sends: PreKey PreKey
	// Bob reads: Hello Bob
	// Bob reads: Are you there?
	// one-time pre-keys left: 0
	// Bob sends: Whisper
	// Alice reads: Hi Alice
	// Alice sends: Whisper
	// Bob reads: Good to hear
}

// Decrypt reports what went wrong with errors that errors.Is recognizes. A
// failed decryption changes nothing: the session goes on as before.
func ExampleManager_Decrypt() {
	ctx := context.Background()
	aliceAddr := session.Address{Name: "alice", DeviceID: 1}
	bobAddr := session.Address{Name: "bob", DeviceID: 1}
	_, _, alice := newDevice(1111)
	bobID, bobStore, bob := newDevice(2222)
	if err := alice.ProcessBundle(ctx, bobAddr, must(prekey.ParseBundle(publish(ctx, bobID, bobStore, 2222)))); err != nil {
		log.Fatal(err)
	}
	first := must(alice.Encrypt(ctx, bobAddr, []byte("first")))
	fmt.Printf("%s\n", must(bob.Decrypt(ctx, aliceAddr, first)))
	fmt.Printf("%s\n", must(alice.Decrypt(ctx, bobAddr, must(bob.Encrypt(ctx, aliceAddr, []byte("ack"))))))

	// The network delivers a message twice.
	ct := must(alice.Encrypt(ctx, bobAddr, []byte("once")))
	fmt.Printf("%s\n", must(bob.Decrypt(ctx, aliceAddr, ct)))
	_, err := bob.Decrypt(ctx, aliceAddr, ct)
	fmt.Println("duplicate:", errors.Is(err, session.ErrDuplicateMessage))

	// A replayed PreKey message is a duplicate too.
	_, err = bob.Decrypt(ctx, aliceAddr, first)
	fmt.Println("duplicate PreKey message:", errors.Is(err, session.ErrDuplicateMessage))

	// A message changed in transit fails its MAC.
	ct = must(alice.Encrypt(ctx, bobAddr, []byte("tampered")))
	ct.Bytes[len(ct.Bytes)-1] ^= 1
	_, err = bob.Decrypt(ctx, aliceAddr, ct)
	fmt.Println("tampered:", errors.Is(err, session.ErrDecryption))

	// A message from a peer Bob has no session with.
	_, err = bob.Decrypt(ctx, session.Address{Name: "carol", DeviceID: 1}, ct)
	fmt.Println("no session:", errors.Is(err, session.ErrNoSession))

	// A type other than PreKey or Whisper.
	_, err = bob.Decrypt(ctx, aliceAddr, session.Ciphertext{Type: 7, Bytes: ct.Bytes})
	fmt.Println("unknown type:", errors.Is(err, session.ErrUnknownMessageType))

	// None of this disturbed the session.
	fmt.Printf("%s\n", must(bob.Decrypt(ctx, aliceAddr, must(alice.Encrypt(ctx, bobAddr, []byte("still here"))))))
	// Output:
	// first
	// ack
	// once
	// duplicate: true
	// duplicate PreKey message: true
	// tampered: true
	// no session: true
	// unknown type: true
	// still here
}

// A session record is saved as bytes (libsignal's RecordStructure) and
// parsed again, for example after the app restarts with a new store.
func ExampleParseRecord() {
	ctx := context.Background()
	aliceAddr := session.Address{Name: "alice", DeviceID: 1}
	bobAddr := session.Address{Name: "bob", DeviceID: 1}
	aliceID, aliceStore, alice := newDevice(1111)
	bobID, bobStore, bob := newDevice(2222)
	if err := alice.ProcessBundle(ctx, bobAddr, must(prekey.ParseBundle(publish(ctx, bobID, bobStore, 2222)))); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", must(bob.Decrypt(ctx, aliceAddr, must(alice.Encrypt(ctx, bobAddr, []byte("before the restart"))))))

	// Alice saves her record...
	rec := must(aliceStore.LoadSession(ctx, bobAddr))
	saved := must(rec.MarshalBinary())

	// ...and loads it into a fresh store after the restart.
	loaded := must(session.ParseRecord(saved))
	fmt.Println("current state:", loaded.HasCurrentState(), "archived:", loaded.ArchivedStates())
	fmt.Println("same bytes:", bytes.Equal(saved, must(loaded.MarshalBinary())))
	restarted := session.NewMemoryStore(aliceID, 1111, session.TrustOnFirstUse)
	if err := restarted.StoreSession(ctx, bobAddr, loaded); err != nil {
		log.Fatal(err)
	}
	alice = must(session.New(restarted.Stores()))

	// The conversation goes on where it left off.
	ct := must(alice.Encrypt(ctx, bobAddr, []byte("after the restart")))
	fmt.Println("Alice sends:", typeName(ct.Type))
	fmt.Printf("%s\n", must(bob.Decrypt(ctx, aliceAddr, ct)))

	// A damaged record is rejected.
	_, err := session.ParseRecord(saved[:len(saved)/2])
	fmt.Println("truncated:", errors.Is(err, session.ErrInvalidRecord))
	// Output:
	// before the restart
	// current state: true archived: 0
	// same bytes: true
	// Alice sends: PreKey
	// after the restart
	// truncated: true
}

// X3DH (version 3) sessions are off by default, as in current libsignal: a
// bundle without a Kyber pre-key is refused unless the Manager was created
// WithX3DH(true).
func ExampleWithX3DH() {
	ctx := context.Background()
	bobAddr := session.Address{Name: "bob", DeviceID: 1}
	bobID := must(keys.GeneratePrivateKey())
	spk := must(prekey.GenerateSignedPreKey(bobID, 1, time.Now()))
	x3dhBundle := must(prekey.NewBundle(2222, 1, bobID.PublicKey(), spk, nil, nil))
	fmt.Println("bundle version:", x3dhBundle.Version())

	_, _, pqOnly := newDevice(1111)
	err := pqOnly.ProcessBundle(ctx, bobAddr, x3dhBundle)
	fmt.Println("default:", errors.Is(err, session.ErrX3DHDisabled))

	aliceID := must(keys.GeneratePrivateKey())
	store := session.NewMemoryStore(aliceID, 1111, session.TrustOnFirstUse)
	legacy := must(session.New(store.Stores(), session.WithX3DH(true)))
	err = legacy.ProcessBundle(ctx, bobAddr, x3dhBundle)
	fmt.Println("WithX3DH(true):", err)
	// Output:
	// bundle version: 3
	// default: true
	// WithX3DH(true): <nil>
}
