package sealed_test

import (
	"fmt"
	"time"

	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/sealed"
)

// Example shows a server issuing certificates, Alice sealing a message for
// Bob (v1) and for Bob and Carol (v2), the server splitting the v2 message,
// and Bob opening both and validating the sender certificate.
func Example() {
	gen := func() *keys.PrivateKey { k, _ := keys.GeneratePrivateKey(); return k }
	trustRoot, serverKey := gen(), gen()
	alice, bob, carol := gen(), gen(), gen()

	// The service: a server certificate under the trust root, then a
	// sender certificate for Alice's device 1, valid for a day.
	server, _ := sealed.NewServerCertificate(1, serverKey.PublicKey(), trustRoot)
	now := time.Now()
	cert, _ := sealed.NewSenderCertificate(sealed.SenderInfo{
		UUID: "a11ce000-0000-4000-8000-00000000a11c", Device: 1, Key: alice.PublicKey(),
		Expires: uint64(now.Add(24 * time.Hour).UnixMilli()),
	}, server, serverKey)

	// Alice: the inner message would be a 1:1 or group ciphertext.
	content, _ := sealed.NewContent(sealed.WhisperType, cert, []byte("inner ciphertext"), sealed.HintResendable, nil)
	v1, _ := sealed.Seal(content, alice, bob.PublicKey())
	sent, _ := sealed.SealMulti(content, alice, []sealed.Destination{
		{ServiceID: "b0b00000-0000-4000-8000-000000000b0b", DeviceID: 1, RegistrationID: 42, IdentityKey: bob.PublicKey()},
		{ServiceID: "ca201000-0000-4000-8000-0000000ca201", DeviceID: 1, RegistrationID: 43, IdentityKey: carol.PublicKey()},
	}, nil)

	// The server splits the v2 message.
	s, _ := sealed.ParseSentMessage(sent)
	toBob := s.ReceivedMessage(&s.Recipients[0])

	// Bob opens both and checks the certificate against his trust root.
	for _, msg := range [][]byte{v1, toBob} {
		c, err := sealed.Open(bob, msg)
		if err != nil {
			fmt.Println(err)
			return
		}
		err = c.Sender().Validate([]keys.PublicKey{trustRoot.PublicKey()}, now)
		fmt.Printf("v%d from %s.%d: %q, certificate ok: %v\n", sealed.Version(msg),
			c.Sender().SenderUUID(), c.Sender().SenderDevice(), c.Contents(), err == nil)
	}
	// Output:
	// v1 from a11ce000-0000-4000-8000-00000000a11c.1: "inner ciphertext", certificate ok: true
	// v2 from a11ce000-0000-4000-8000-00000000a11c.1: "inner ciphertext", certificate ok: true
}
