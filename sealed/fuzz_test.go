package sealed_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/sealed"
)

func seeds(f *testing.F) *testvectors.SealedSenderVectors {
	v, err := testvectors.SealedSender()
	if err != nil {
		f.Fatal(err)
	}
	return v
}

// FuzzParseServerCertificate: no panic; an error is ErrMalformed; a
// success keeps the input as its serialized form.
func FuzzParseServerCertificate(f *testing.F) {
	v := seeds(f)
	f.Add([]byte(v.Server.Certificate))
	f.Add([]byte(v.ServerUnderTrustRoot2.Certificate))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := sealed.ParseServerCertificate(b)
		if err != nil {
			if !errors.Is(err, sealed.ErrMalformed) || c != nil {
				t.Fatalf("unexpected %v, %v", c, err)
			}
			return
		}
		if !bytes.Equal(c.Bytes(), b) {
			t.Fatal("serialized form differs from the input")
		}
		_ = c.Validate(c.Key())
	})
}

// FuzzParseSenderCertificate: no panic; an error is ErrMalformed; a
// success validates or fails with ErrInvalidCertificate.
func FuzzParseSenderCertificate(f *testing.F) {
	v := seeds(f)
	for _, c := range v.Certificates {
		f.Add([]byte(c.Certificate))
	}
	root, _ := keys.ParsePublicKey(v.TrustRoot.Pub)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := sealed.ParseSenderCertificate(b)
		if err != nil {
			if !errors.Is(err, sealed.ErrMalformed) || c != nil {
				t.Fatalf("unexpected %v, %v", c, err)
			}
			return
		}
		if !bytes.Equal(c.Bytes(), b) {
			t.Fatal("serialized form differs from the input")
		}
		if d := c.SenderDevice(); d < 1 || d > 127 {
			t.Fatalf("device %d accepted", d)
		}
		if err := c.Validate([]keys.PublicKey{root}, ms(v.Timestamp)); err != nil && !errors.Is(err, sealed.ErrInvalidCertificate) {
			t.Fatalf("validate: %v", err)
		}
	})
}

// FuzzParseContent: no panic; an error is ErrMalformed; a success
// re-encodes (NewContent) to a message that parses to the same fields.
func FuzzParseContent(f *testing.F) {
	v := seeds(f)
	for _, m := range v.V1 {
		f.Add([]byte(m.Expected.USMC))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := sealed.ParseContent(b)
		if err != nil {
			if !errors.Is(err, sealed.ErrMalformed) || c != nil {
				t.Fatalf("unexpected %v, %v", c, err)
			}
			return
		}
		re, err := sealed.NewContent(c.Type(), c.Sender(), c.Contents(), c.ContentHint(), c.GroupID())
		if err != nil {
			t.Fatal(err)
		}
		p, err := sealed.ParseContent(re.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if p.Type() != c.Type() || p.ContentHint() != c.ContentHint() || !bytes.Equal(p.Contents(), c.Contents()) ||
			!bytes.Equal(p.GroupID(), c.GroupID()) || !bytes.Equal(p.Sender().Bytes(), c.Sender().Bytes()) {
			t.Fatal("re-encoding changed the content")
		}
	})
}

// FuzzOpen opens arbitrary v1 and v2 envelopes with Bob's key: no panic;
// every error is ErrInvalidMessage or ErrInvalidCertificate with a nil
// result.
func FuzzOpen(f *testing.F) {
	v := seeds(f)
	for _, m := range v.V1 {
		f.Add([]byte(m.Sealed))
	}
	for _, r := range v.V2.Group.Received {
		f.Add([]byte(r.Message))
	}
	for _, n := range v.Negative {
		f.Add([]byte(n.Sealed))
	}
	bob, err := keys.ParsePrivateKey(v.Recipients["bob"].IdentityPriv)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := sealed.Open(bob, b)
		if err != nil {
			if c != nil || !(errors.Is(err, sealed.ErrInvalidMessage) || errors.Is(err, sealed.ErrInvalidCertificate)) {
				t.Fatalf("unexpected %v, %v", c, err)
			}
			return
		}
		if c.Sender() == nil {
			t.Fatal("content without sender")
		}
	})
}

// FuzzParseSentMessage: no panic; an error is ErrMalformed or
// ErrInvalidMessage (version); every received message has the received
// layout and at least the 80-byte prefix.
func FuzzParseSentMessage(f *testing.F) {
	v := seeds(f)
	f.Add([]byte(v.V2.Group.Sent))
	f.Add([]byte(v.V2.SingleRecipientOneToOne.Sent))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := sealed.ParseSentMessage(b)
		if err != nil {
			if s != nil || !(errors.Is(err, sealed.ErrMalformed) || errors.Is(err, sealed.ErrInvalidMessage)) {
				t.Fatalf("unexpected %v, %v", s, err)
			}
			return
		}
		for i := range s.Recipients {
			r := &s.Recipients[i]
			if _, err := sealed.ParseServiceID(r.ServiceID); err != nil {
				t.Fatalf("service id %q", r.ServiceID)
			}
			m := s.ReceivedMessage(r)
			if r.Excluded() {
				if m != nil {
					t.Fatal("excluded recipient with a message")
				}
				continue
			}
			if len(m) < 81 || m[0] != 0x22 {
				t.Fatalf("received message %x", m)
			}
		}
	})
}
