package bench

import (
	"bytes"
	"testing"
)

// wire is a message as it crosses the network: its serialized bytes and
// the type that travels beside them in Signal's envelope.
type wire struct {
	typ   int
	bytes []byte
}

// peer is one party of a conversation in one implementation. Every
// message it sends or receives crosses the wire as bytes, and it keeps
// its session records encoded in its store.
type peer interface {
	// encrypt encrypts pt for to.
	encrypt(tb testing.TB, to peer, pt []byte) wire
	// decrypt decrypts a message from from.
	decrypt(tb testing.TB, from peer, w wire) []byte
	// record returns the encoded session record this peer stores for to.
	record(tb testing.TB, to peer) []byte
}

// impl is one implementation under comparison.
type impl struct {
	name string
	// newPeer returns a party with a fresh identity.
	newPeer func(tb testing.TB, name string) peer
	// connect starts a session from alice to bob (X3DH, with a one-time
	// pre-key) and exchanges one message each way, so that both sides
	// are past the PreKey stage.
	connect func(tb testing.TB, alice, bob peer)
	// parseRecord decodes a stored session record; encodeRecord encodes
	// what parseRecord returned.
	parseRecord  func(tb testing.TB, b []byte) any
	encodeRecord func(tb testing.TB, r any) []byte
}

var impls = []impl{signalImpl, mauImpl}

func must(tb testing.TB, err error) {
	if err != nil {
		tb.Helper()
		tb.Fatal(err)
	}
}

// plaintext returns a 100-byte message.
func plaintext() []byte { return bytes.Repeat([]byte("0123456789"), 10) }

// exchange sends pt from a to b and checks it arrives.
func exchange(tb testing.TB, a, b peer, pt []byte) {
	tb.Helper()
	got := b.decrypt(tb, a, a.encrypt(tb, b, pt))
	if !bytes.Equal(got, pt) {
		tb.Fatalf("decrypted %q, sent %q", got, pt)
	}
}

// conversation returns two connected peers that exchanged two more
// messages each way: their records are typical of a conversation.
func conversation(tb testing.TB, im impl) (alice, bob peer) {
	tb.Helper()
	alice, bob = im.newPeer(tb, "alice"), im.newPeer(tb, "bob")
	im.connect(tb, alice, bob)
	pt := plaintext()
	for range 2 {
		exchange(tb, alice, bob, pt)
		exchange(tb, bob, alice, pt)
	}
	return alice, bob
}

// skipped returns bob's record after alice sent n+1 messages of which bob
// received only the last: it holds n skipped message keys.
func skipped(tb testing.TB, im impl, n int) []byte {
	tb.Helper()
	alice, bob := conversation(tb, im)
	pt := plaintext()
	var last wire
	for range n + 1 {
		last = alice.encrypt(tb, bob, pt)
	}
	bob.decrypt(tb, alice, last)
	return bob.record(tb, alice)
}
