// Command chat plays Alice and Bob in one process to show the session API
// of github.com/ratchetlab/signal: Bob publishes a PQXDH pre-key bundle
// (signed, one-time and Kyber pre-keys), Alice starts a session from it,
// both send messages that arrive out of order, both save their session
// records and reload them as after an app restart, and both compute the
// safety number they would compare to verify each other.
//
// Run it with:
//
//	go run ./examples/chat
//
// The protocol is specified in https://signal.org/docs/specifications/pqxdh/
// and https://signal.org/docs/specifications/doubleratchet/.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ratchetlab/signal/fingerprint"
	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/session"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

// device is one side of the conversation: its identity, store and Manager.
type device struct {
	name     string
	addr     session.Address
	identity *keys.PrivateKey
	regID    uint32
	store    *session.MemoryStore
	m        *session.Manager
}

func newDevice(name string, regID uint32) (*device, error) {
	id, err := keys.GeneratePrivateKey()
	if err != nil {
		return nil, err
	}
	d := &device{name: name, addr: session.Address{Name: name, DeviceID: 1}, identity: id, regID: regID}
	d.store = session.NewMemoryStore(id, regID, session.TrustOnFirstUse)
	// The defaults talk to current Signal: PQXDH, and SPQR (the
	// post-quantum triple ratchet) on every message. Older peers need
	// session.WithSPQR(false); WhatsApp-style stacks session.WithX3DH(true).
	d.m, err = session.New(d.store.Stores())
	return d, err
}

// letter is a message in flight, numbered by its sender.
type letter struct {
	n    int
	from *device
	ct   session.Ciphertext
}

func typeName(t session.MessageType) string {
	switch t {
	case session.PreKeyType:
		return "PreKey"
	case session.WhisperType:
		return "Whisper"
	}
	return fmt.Sprintf("type %d", t)
}

// chat holds the conversation and where it prints.
type chat struct {
	ctx        context.Context
	w          io.Writer
	alice, bob *device
	sent       map[*device]int
}

func (c *chat) section(title string) { fmt.Fprintf(c.w, "\n== %s\n", title) }

func (c *chat) send(from, to *device, text string) (letter, error) {
	ct, err := from.m.Encrypt(c.ctx, to.addr, []byte(text))
	if err != nil {
		return letter{}, fmt.Errorf("%s encrypting: %w", from.name, err)
	}
	c.sent[from]++
	l := letter{n: c.sent[from], from: from, ct: ct}
	fmt.Fprintf(c.w, "%-5s -> %-5s #%d %-7s %4d bytes  %q\n", from.name, to.name, l.n, typeName(ct.Type), len(ct.Bytes), text)
	return l, nil
}

func (c *chat) deliver(to *device, l letter) error {
	pt, err := to.m.Decrypt(c.ctx, l.from.addr, l.ct)
	if err != nil {
		return fmt.Errorf("%s decrypting %s's #%d: %w", to.name, l.from.name, l.n, err)
	}
	fmt.Fprintf(c.w, "%-5s <- %-5s #%d reads %q\n", to.name, l.from.name, l.n, pt)
	return nil
}

// publish stores Bob's pre-keys and returns the bundle a server would hand
// out, in its serialized form.
func (c *chat) publish(d *device) (prekey.RawBundle, error) {
	now := time.Now()
	spk, err := prekey.GenerateSignedPreKey(d.identity, 1, now)
	if err != nil {
		return prekey.RawBundle{}, err
	}
	opks, err := prekey.GeneratePreKeys(100, 5)
	if err != nil {
		return prekey.RawBundle{}, err
	}
	kpk, err := prekey.GenerateKyberPreKey(d.identity, 1, kem.Kyber1024, now)
	if err != nil {
		return prekey.RawBundle{}, err
	}
	if err := d.store.StoreSignedPreKey(c.ctx, spk); err != nil {
		return prekey.RawBundle{}, err
	}
	for _, k := range opks {
		if err := d.store.StorePreKey(c.ctx, k); err != nil {
			return prekey.RawBundle{}, err
		}
	}
	if err := d.store.StoreKyberPreKey(c.ctx, kpk); err != nil {
		return prekey.RawBundle{}, err
	}
	// The server hands out one one-time pre-key per bundle.
	b, err := prekey.NewBundle(d.regID, d.addr.DeviceID, d.identity.PublicKey(), spk, opks[0], kpk)
	if err != nil {
		return prekey.RawBundle{}, err
	}
	fmt.Fprintf(c.w, "%s uploads signed pre-key %d, one-time pre-keys %d-%d, Kyber1024 pre-key %d\n",
		d.name, spk.ID(), opks[0].ID(), opks[len(opks)-1].ID(), kpk.ID())
	return b.Raw(), nil
}

// restart saves d's session record with peer and its trust in peer's
// identity, and loads both into a new store and Manager, as an app does
// when it restarts. A real app keeps all its stores (pre-keys too) in a
// database; only what this conversation still needs moves over here.
func (c *chat) restart(d, peer *device) error {
	rec, err := d.store.LoadSession(c.ctx, peer.addr)
	if err != nil {
		return err
	}
	saved, err := rec.MarshalBinary()
	if err != nil {
		return err
	}
	peerKey, ok, err := d.store.Identity(c.ctx, peer.addr)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s has no identity for %s", d.name, peer.name)
	}
	fmt.Fprintf(c.w, "%s saves a %d-byte session record for %s\n", d.name, len(saved), peer.addr)

	loaded, err := session.ParseRecord(saved)
	if err != nil {
		return err
	}
	st := session.NewMemoryStore(d.identity, d.regID, session.TrustOnFirstUse)
	if _, err := st.SaveIdentity(c.ctx, peer.addr, peerKey); err != nil {
		return err
	}
	if err := st.StoreSession(c.ctx, peer.addr, loaded); err != nil {
		return err
	}
	m, err := session.New(st.Stores())
	if err != nil {
		return err
	}
	d.store, d.m = st, m
	fmt.Fprintf(c.w, "%s restarts and loads it: current state %t, %d archived\n", d.name, loaded.HasCurrentState(), loaded.ArchivedStates())
	return nil
}

// safetyNumber computes the safety number d shows for peer, with the names
// as stable identifiers and the identity key d has on record for peer.
func (c *chat) safetyNumber(d, peer *device) (*fingerprint.Fingerprint, error) {
	peerKey, ok, err := d.store.Identity(c.ctx, peer.addr)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s has no identity for %s", d.name, peer.name)
	}
	return fingerprint.New(5200, 2, []byte(d.name), d.identity.PublicKey(), []byte(peer.name), peerKey)
}

// run plays the whole conversation, printing each step to w.
func run(w io.Writer) error {
	alice, err := newDevice("alice", 1111)
	if err != nil {
		return err
	}
	bob, err := newDevice("bob", 2222)
	if err != nil {
		return err
	}
	c := &chat{ctx: context.Background(), w: w, alice: alice, bob: bob, sent: map[*device]int{}}

	c.section("Bob publishes a PQXDH pre-key bundle")
	raw, err := c.publish(bob)
	if err != nil {
		return err
	}

	c.section("Alice fetches the bundle and starts a session")
	bundle, err := prekey.ParseBundle(raw) // checks the keys and both signatures
	if err != nil {
		return err
	}
	if err := alice.m.ProcessBundle(c.ctx, bob.addr, bundle); err != nil {
		return err
	}
	fmt.Fprintf(w, "alice verified the bundle and started a version %d session with %s\n", bundle.Version(), bob.addr)

	c.section("Alice writes three messages; the network delivers #2, #3, #1")
	var a []letter
	for _, text := range []string{"Hi Bob, it's Alice.", "Did you get my first message?", "Let me know when you're online."} {
		l, err := c.send(alice, bob, text)
		if err != nil {
			return err
		}
		a = append(a, l)
	}
	for _, i := range []int{1, 2, 0} {
		if err := c.deliver(bob, a[i]); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "bob has %d of 5 one-time pre-keys left (one was used by Alice's session)\n", bob.store.PreKeyCount())
	if _, err := bob.m.Decrypt(c.ctx, alice.addr, a[0].ct); errors.Is(err, session.ErrDuplicateMessage) {
		fmt.Fprintf(w, "the network delivers alice's #1 again: bob rejects it as a duplicate\n")
	} else {
		return fmt.Errorf("a replayed message: got %v, want a duplicate", err)
	}

	c.section("Bob answers twice; Alice gets the second answer first")
	var b []letter
	for _, text := range []string{"Hi Alice! Got them all.", "I'm online now."} {
		l, err := c.send(bob, alice, text)
		if err != nil {
			return err
		}
		b = append(b, l)
	}
	for _, i := range []int{1, 0} {
		if err := c.deliver(alice, b[i]); err != nil {
			return err
		}
	}
	inFlight, err := c.send(alice, bob, "Great. Now that you answered, I send Whisper messages.")
	if err != nil {
		return err
	}

	c.section("Both save their session records and restart (one message still in flight)")
	if err := c.restart(alice, bob); err != nil {
		return err
	}
	if err := c.restart(bob, alice); err != nil {
		return err
	}

	c.section("After the restart the conversation goes on")
	if err := c.deliver(bob, inFlight); err != nil {
		return err
	}
	l, err := c.send(bob, alice, "Still here after the restart.")
	if err != nil {
		return err
	}
	if err := c.deliver(alice, l); err != nil {
		return err
	}
	if l, err = c.send(alice, bob, "Me too."); err != nil {
		return err
	}
	if err := c.deliver(bob, l); err != nil {
		return err
	}

	c.section("Safety numbers (5200 iterations, version 2, the names as identifiers)")
	fa, err := c.safetyNumber(alice, bob)
	if err != nil {
		return err
	}
	fb, err := c.safetyNumber(bob, alice)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "alice sees: %s\n", fa)
	fmt.Fprintf(w, "bob sees:   %s\n", fb)
	if fa.Displayable() != fb.Displayable() {
		return errors.New("the safety numbers differ")
	}
	fmt.Fprintln(w, "the safety numbers match")
	return nil
}
