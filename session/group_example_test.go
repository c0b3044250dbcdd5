package session_test

import (
	"context"
	"fmt"
	"log"

	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/senderkey"
	"github.com/ratchetlab/signal/session"
)

// member is one group member's device: its 1:1 Manager and its group
// cipher over the same MemoryStore.
type member struct {
	addr   session.Address
	id     *keys.PrivateKey
	store  *session.MemoryStore
	m      *session.Manager
	groups *session.GroupCipher
}

func newMember(name string, regID uint32) *member {
	addr := session.Address{Name: name, DeviceID: 1}
	id := must(keys.GeneratePrivateKey())
	store := session.NewMemoryStore(id, regID, session.TrustOnFirstUse)
	m := must(session.New(store.Stores(), session.WithLocalAddress(addr)))
	return &member{addr: addr, id: id, store: store, m: m, groups: must(m.Groups())}
}

// Alice sends a group message to Bob and Carol as Signal clients do: she
// sends her sender key distribution message to each member over their 1:1
// session, then encrypts the group message once for all of them.
func ExampleGroupCipher() {
	ctx := context.Background()
	alice, bob, carol := newMember("alice", 1), newMember("bob", 2), newMember("carol", 3)
	group := must(senderkey.ParseDistributionID("d1571b00-0000-4000-8000-0000000000d1"))

	// Alice's distribution message for the group goes to every member in
	// a 1:1 message, which authenticates it.
	skdm := must(must(alice.groups.CreateDistributionMessage(ctx, group)).MarshalBinary())
	for _, to := range []*member{bob, carol} {
		bundle := must(prekey.ParseBundle(publish(ctx, to.id, to.store, uint32(to.addr.Name[0]))))
		if err := alice.m.ProcessBundle(ctx, to.addr, bundle); err != nil {
			log.Fatal(err)
		}
		ct := must(alice.m.Encrypt(ctx, to.addr, skdm))

		got := must(to.m.Decrypt(ctx, alice.addr, ct))
		d := must(to.groups.ProcessDistributionMessage(ctx, alice.addr, got))
		fmt.Printf("%s has Alice's sender key for %s\n", to.addr.Name, d.DistributionID)
	}

	// One ciphertext for the whole group.
	ct := must(alice.groups.Encrypt(ctx, group, []byte("Hello, group!")))
	for _, to := range []*member{bob, carol} {
		pt, id, err := to.groups.Decrypt(ctx, alice.addr, ct)
		fmt.Printf("%s reads %q in %s (err %v)\n", to.addr.Name, pt, id, err)
	}
	// Output:
	// bob has Alice's sender key for d1571b00-0000-4000-8000-0000000000d1
	// carol has Alice's sender key for d1571b00-0000-4000-8000-0000000000d1
	// bob reads "Hello, group!" in d1571b00-0000-4000-8000-0000000000d1 (err <nil>)
	// carol reads "Hello, group!" in d1571b00-0000-4000-8000-0000000000d1 (err <nil>)
}
