package session_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/sealed"
	"github.com/ratchetlab/signal/senderkey"
	"github.com/ratchetlab/signal/session"
)

// Alice sends Bob a sealed 1:1 message (v1) and Bob and Carol a sealed group
// message (v2, split by the server); the receivers learn the sender from
// the certificate only after checking it against the service's trust root.
func ExampleManager_SealedDecrypt() {
	ctx := context.Background()
	alice := newMember("a11ce000-0000-4000-8000-00000000a11c", 1)
	bob := newMember("b0b00000-0000-4000-8000-000000000b0b", 2)
	carol := newMember("ca201000-0000-4000-8000-0000000ca201", 3)

	// The service certifies Alice's device 1 for a day.
	trustRoot, serverKey := must(keys.GeneratePrivateKey()), must(keys.GeneratePrivateKey())
	server := must(sealed.NewServerCertificate(1, serverKey.PublicKey(), trustRoot))
	now := time.Now()
	cert := must(sealed.NewSenderCertificate(sealed.SenderInfo{
		UUID: alice.addr.Name, Device: 1, Key: alice.id.PublicKey(),
		Expires: uint64(now.Add(24 * time.Hour).UnixMilli()),
	}, server, serverKey))
	opts := session.SealedDecryptOptions{TrustRoots: []keys.PublicKey{trustRoot.PublicKey()}}

	// 1:1 sessions, and Alice's sender key handed to each member inside a
	// sealed 1:1 message.
	group := must(senderkey.ParseDistributionID("d1571b00-0000-4000-8000-0000000000d1"))
	skdm := must(must(alice.groups.CreateDistributionMessage(ctx, group)).MarshalBinary())
	for i, to := range []*member{bob, carol} {
		bundle := must(prekey.ParseBundle(publish(ctx, to.id, to.store, uint32(10+i))))
		if err := alice.m.ProcessBundle(ctx, to.addr, bundle); err != nil {
			log.Fatal(err)
		}
		env, _, err := alice.m.SealedEncrypt(ctx, to.addr, cert, skdm, sealed.HintImplicit, nil)
		if err != nil {
			log.Fatal(err)
		}
		got := must(to.m.SealedDecrypt(ctx, env, opts))
		must(to.groups.ProcessDistributionMessage(ctx, got.Sender, got.Plaintext))
		fmt.Printf("v%d from %s: Alice's sender key\n", got.Version, got.Sender)
	}

	// One group message, sealed once for both (v2); the server splits it.
	ct := must(alice.groups.Encrypt(ctx, group, []byte("Hello, sealed group!")))
	content := must(sealed.NewContent(sealed.SenderKeyType, cert, ct, sealed.HintResendable, []byte("group id")))
	sent := must(alice.m.SealContentMulti(ctx, []session.Address{bob.addr, carol.addr}, content, nil))
	split := must(sealed.ParseSentMessage(sent))
	for i, to := range []*member{bob, carol} {
		got := must(to.m.SealedDecrypt(ctx, split.ReceivedMessage(&split.Recipients[i]), opts))
		fmt.Printf("v%d from %s to %s: %q\n", got.Version, got.Sender, split.Recipients[i].ServiceID, got.Plaintext)
	}
	// Output:
	// v1 from a11ce000-0000-4000-8000-00000000a11c.1: Alice's sender key
	// v1 from a11ce000-0000-4000-8000-00000000a11c.1: Alice's sender key
	// v2 from a11ce000-0000-4000-8000-00000000a11c.1 to b0b00000-0000-4000-8000-000000000b0b: "Hello, sealed group!"
	// v2 from a11ce000-0000-4000-8000-00000000a11c.1 to ca201000-0000-4000-8000-0000000ca201: "Hello, sealed group!"
}
