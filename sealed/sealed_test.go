package sealed_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/sealed"
)

type fixture struct {
	root, server, sender, bob, carol *keys.PrivateKey
	serverCert                       *sealed.ServerCertificate
	cert                             *sealed.SenderCertificate
}

const (
	aliceUUID = "a11ce000-0000-4000-8000-00000000a11c"
	bobUUID   = "b0b00000-0000-4000-8000-000000000b0b"
	carolUUID = "ca201000-0000-4000-8000-0000000ca201"
	expires   = 1769817600000
)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	gen := func() *keys.PrivateKey {
		k, err := keys.GeneratePrivateKey()
		require.NoError(t, err)
		return k
	}
	f := &fixture{root: gen(), server: gen(), sender: gen(), bob: gen(), carol: gen()}
	var err error
	f.serverCert, err = sealed.NewServerCertificate(7, f.server.PublicKey(), f.root)
	require.NoError(t, err)
	f.cert, err = sealed.NewSenderCertificate(sealed.SenderInfo{
		UUID: aliceUUID, E164: "+15550100001", Device: 3, Key: f.sender.PublicKey(), Expires: expires,
	}, f.serverCert, f.server)
	require.NoError(t, err)
	return f
}

func TestCertificateRoundTrip(t *testing.T) {
	f := newFixture(t)
	c, err := sealed.ParseSenderCertificate(f.cert.Bytes())
	require.NoError(t, err)
	assert.Equal(t, aliceUUID, c.SenderUUID())
	e164, ok := c.SenderE164()
	assert.True(t, ok)
	assert.Equal(t, "+15550100001", e164)
	assert.Equal(t, uint32(3), c.SenderDevice())
	assert.Equal(t, uint64(expires), c.Expiration())
	assert.True(t, c.Key().Equal(f.sender.PublicKey()))
	roots := []keys.PublicKey{f.root.PublicKey()}
	assert.NoError(t, c.Validate(roots, time.UnixMilli(expires)))
	assert.ErrorIs(t, c.Validate(roots, time.UnixMilli(expires+1)), sealed.ErrInvalidCertificate)
	assert.ErrorIs(t, c.Validate([]keys.PublicKey{f.server.PublicKey()}, time.UnixMilli(0)), sealed.ErrInvalidCertificate)
	// The right root anywhere in the list is enough.
	assert.NoError(t, c.Validate([]keys.PublicKey{f.server.PublicKey(), f.root.PublicKey(), f.bob.PublicKey()}, time.UnixMilli(0)))

	// A certificate signed by a key other than the server's.
	forged, err := sealed.NewSenderCertificate(sealed.SenderInfo{
		UUID: aliceUUID, Device: 1, Key: f.sender.PublicKey(), Expires: expires,
	}, f.serverCert, f.bob)
	require.NoError(t, err)
	assert.ErrorIs(t, forged.Validate(roots, time.UnixMilli(0)), sealed.ErrInvalidCertificate)
}

func TestRevokedServerCertificate(t *testing.T) {
	f := newFixture(t)
	s, err := sealed.NewServerCertificate(sealed.RevokedServerKeyID, f.server.PublicKey(), f.root)
	require.NoError(t, err)
	assert.False(t, s.Validate(f.root.PublicKey()))
	c, err := sealed.NewSenderCertificate(sealed.SenderInfo{
		UUID: aliceUUID, Device: 1, Key: f.sender.PublicKey(), Expires: expires,
	}, s, f.server)
	require.NoError(t, err)
	assert.ErrorIs(t, c.Validate([]keys.PublicKey{f.root.PublicKey()}, time.UnixMilli(0)), sealed.ErrInvalidCertificate)
}

func TestContentRoundTrip(t *testing.T) {
	f := newFixture(t)
	for _, hint := range []sealed.ContentHint{sealed.HintDefault, sealed.HintResendable, sealed.HintImplicit, 77} {
		for _, gid := range [][]byte{nil, {}, []byte("group")} {
			c, err := sealed.NewContent(sealed.SenderKeyType, f.cert, []byte("inner"), hint, gid)
			require.NoError(t, err)
			p, err := sealed.ParseContent(c.Bytes())
			require.NoError(t, err)
			assert.Equal(t, hint, p.ContentHint())
			assert.Equal(t, sealed.SenderKeyType, p.Type())
			assert.Equal(t, []byte("inner"), p.Contents())
			if len(gid) == 0 {
				assert.Nil(t, p.GroupID())
			} else {
				assert.Equal(t, gid, p.GroupID())
			}
			assert.Equal(t, f.cert.Bytes(), p.Sender().Bytes())
		}
	}
	_, err := sealed.NewContent(5, f.cert, nil, 0, nil)
	assert.ErrorIs(t, err, sealed.ErrInvalidArgument)
}

func TestV1RoundTripAndTampering(t *testing.T) {
	f := newFixture(t)
	c, err := sealed.NewContent(sealed.WhisperType, f.cert, []byte("hello bob"), sealed.HintResendable, nil)
	require.NoError(t, err)
	msg, err := sealed.Seal(c, f.sender, f.bob.PublicKey())
	require.NoError(t, err)
	assert.Equal(t, byte(0x11), msg[0])
	got, err := sealed.Open(f.bob, msg)
	require.NoError(t, err)
	assert.Equal(t, c.Bytes(), got.Bytes())

	_, err = sealed.Open(f.carol, msg)
	assert.ErrorIs(t, err, sealed.ErrInvalidMessage)
	for i := 1; i < len(msg); i++ {
		m := bytes.Clone(msg)
		m[i] ^= 0x01
		got, err := sealed.Open(f.bob, m)
		if err == nil {
			// A flip in a protobuf tag or length can still parse only if
			// it changes nothing that matters; it never does here.
			t.Fatalf("flip at %d opened: %x", i, got.Bytes())
		}
	}
	for _, n := range []int{0, 1, 10, len(msg) - 1} {
		_, err := sealed.Open(f.bob, msg[:n])
		assert.ErrorIs(t, err, sealed.ErrInvalidMessage, "truncated to %d", n)
	}
	m := bytes.Clone(msg)
	m[0] = 0x51
	_, err = sealed.Open(f.bob, m)
	var ve *sealed.VersionError
	assert.ErrorAs(t, err, &ve)
	assert.ErrorIs(t, err, sealed.ErrInvalidMessage)

	// An envelope whose static key is not the certificate's key.
	msg, err = sealed.Seal(c, f.carol, f.bob.PublicKey())
	require.NoError(t, err)
	_, err = sealed.Open(f.bob, msg)
	assert.ErrorIs(t, err, sealed.ErrInvalidCertificate)
}

func TestV2RoundTripSplitAndTampering(t *testing.T) {
	f := newFixture(t)
	dave, err := keys.GeneratePrivateKey()
	require.NoError(t, err)
	c, err := sealed.NewContent(sealed.SenderKeyType, f.cert, []byte("to the group"), sealed.HintImplicit, []byte("gid"))
	require.NoError(t, err)
	dests := []sealed.Destination{
		{ServiceID: bobUUID, DeviceID: 1, RegistrationID: 4242, IdentityKey: f.bob.PublicKey()},
		{ServiceID: bobUUID, DeviceID: 2, RegistrationID: 0x3FFF, IdentityKey: f.bob.PublicKey()},
		{ServiceID: "PNI:" + carolUUID, DeviceID: 127, RegistrationID: 1, IdentityKey: f.carol.PublicKey()},
	}
	sent, err := sealed.SealMulti(c, f.sender, dests, []string{"da5e0000-0000-4000-8000-00000000da5e"})
	require.NoError(t, err)
	assert.Equal(t, byte(0x23), sent[0])
	s, err := sealed.ParseSentMessage(sent)
	require.NoError(t, err)
	require.Len(t, s.Recipients, 3)
	assert.Equal(t, bobUUID, s.Recipients[0].ServiceID)
	assert.Equal(t, []sealed.SentDevice{{1, 4242}, {2, 0x3FFF}}, s.Recipients[0].Devices)
	assert.Equal(t, "PNI:"+carolUUID, s.Recipients[1].ServiceID)
	assert.Equal(t, []sealed.SentDevice{{127, 1}}, s.Recipients[1].Devices)
	assert.True(t, s.Recipients[2].Excluded())

	toBob := s.ReceivedMessage(&s.Recipients[0])
	toCarol := s.ReceivedMessage(&s.Recipients[1])
	got, err := sealed.Open(f.bob, toBob)
	require.NoError(t, err)
	assert.Equal(t, c.Bytes(), got.Bytes())
	got, err = sealed.Open(f.carol, toCarol)
	require.NoError(t, err)
	assert.Equal(t, c.Bytes(), got.Bytes())
	_, err = sealed.Open(dave, toBob)
	assert.ErrorIs(t, err, sealed.ErrInvalidMessage)
	_, err = sealed.Open(f.bob, toCarol)
	assert.ErrorIs(t, err, sealed.ErrInvalidMessage)

	for i := 1; i < len(toBob); i++ {
		m := bytes.Clone(toBob)
		m[i] ^= 0x80
		_, err := sealed.Open(f.bob, m)
		require.Error(t, err, "flip at %d", i)
		if i >= 33 && i < 49 {
			// The authentication tag: the certificate key does not match.
			assert.ErrorIs(t, err, sealed.ErrInvalidCertificate, "flip at %d", i)
		} else {
			assert.ErrorIs(t, err, sealed.ErrInvalidMessage, "flip at %d", i)
		}
	}
	_, err = sealed.Open(f.bob, toBob[:80])
	assert.ErrorIs(t, err, sealed.ErrInvalidMessage)

	// A sender that is not the certificate's key.
	sent, err = sealed.SealMulti(c, f.carol, dests[:1], nil)
	require.NoError(t, err)
	s, err = sealed.ParseSentMessage(sent)
	require.NoError(t, err)
	_, err = sealed.Open(f.bob, s.ReceivedMessage(&s.Recipients[0]))
	assert.ErrorIs(t, err, sealed.ErrInvalidCertificate)
}

func TestSealMultiArguments(t *testing.T) {
	f := newFixture(t)
	c, err := sealed.NewContent(sealed.SenderKeyType, f.cert, []byte("x"), 0, nil)
	require.NoError(t, err)
	for name, d := range map[string]sealed.Destination{
		"not a service id": {ServiceID: "bob", DeviceID: 1, IdentityKey: f.bob.PublicKey()},
		"device 0":         {ServiceID: bobUUID, DeviceID: 0, IdentityKey: f.bob.PublicKey()},
		"device 128":       {ServiceID: bobUUID, DeviceID: 128, IdentityKey: f.bob.PublicKey()},
		"registration id":  {ServiceID: bobUUID, DeviceID: 1, RegistrationID: 0x4000, IdentityKey: f.bob.PublicKey()},
	} {
		_, err := sealed.SealMulti(c, f.sender, []sealed.Destination{d}, nil)
		assert.ErrorIs(t, err, sealed.ErrInvalidArgument, name)
	}
	_, err = sealed.SealMulti(c, f.sender, nil, []string{"nope"})
	assert.ErrorIs(t, err, sealed.ErrInvalidArgument)
}

func TestParseSentMessageRejects(t *testing.T) {
	f := newFixture(t)
	c, err := sealed.NewContent(sealed.SenderKeyType, f.cert, []byte("x"), 0, nil)
	require.NoError(t, err)
	sent, err := sealed.SealMulti(c, f.sender, []sealed.Destination{
		{ServiceID: bobUUID, DeviceID: 1, RegistrationID: 1, IdentityKey: f.bob.PublicKey()},
	}, nil)
	require.NoError(t, err)
	// 0x23, count 1, service id (17), device 1, reg (2), C, AT, E, body.
	for n := 0; n < 1+1+17+3+48+32; n++ {
		_, err := sealed.ParseSentMessage(sent[:n])
		assert.Error(t, err, "truncated to %d", n)
	}
	m := bytes.Clone(sent)
	m[2] = 2 // unknown service id kind
	_, err = sealed.ParseSentMessage(m)
	assert.ErrorIs(t, err, sealed.ErrMalformed)
	m = bytes.Clone(sent)
	m[19] = 0x80 // device id 128
	_, err = sealed.ParseSentMessage(m)
	assert.ErrorIs(t, err, sealed.ErrMalformed)
	m = bytes.Clone(sent)
	m[0] = 0x11
	_, err = sealed.ParseSentMessage(m)
	assert.Error(t, err)
	// A recipient listed twice is merged; listed once excluded and once
	// with devices is rejected.
	id, err := sealed.ParseServiceID(bobUUID)
	require.NoError(t, err)
	rec := append(append([]byte{}, id[:]...), 1, 0, 1)
	rec = append(rec, make([]byte, 48)...)
	twice := append([]byte{0x23, 2}, rec...)
	twice = append(twice, id[:]...)
	twice = append(twice, 2, 0, 2)
	twice = append(twice, make([]byte, 48+32)...)
	s, err := sealed.ParseSentMessage(twice)
	require.NoError(t, err)
	require.Len(t, s.Recipients, 1)
	assert.Equal(t, []sealed.SentDevice{{1, 1}, {2, 2}}, s.Recipients[0].Devices)
	bad := append([]byte{0x23, 2}, rec...)
	bad = append(bad, id[:]...)
	bad = append(bad, 0)
	bad = append(bad, make([]byte, 32)...)
	_, err = sealed.ParseSentMessage(bad)
	assert.ErrorIs(t, err, sealed.ErrMalformed)
}

func TestErrorsHoldNoSecrets(t *testing.T) {
	f := newFixture(t)
	c, err := sealed.NewContent(sealed.WhisperType, f.cert, []byte("secret plaintext"), 0, nil)
	require.NoError(t, err)
	msg, err := sealed.Seal(c, f.sender, f.bob.PublicKey())
	require.NoError(t, err)
	_, err = sealed.Open(f.carol, msg)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret")
	assert.True(t, errors.Is(err, sealed.ErrInvalidMessage))
}
