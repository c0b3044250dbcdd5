package sealed_test

import (
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/sealed"
)

func mustPub(t testing.TB, b []byte) keys.PublicKey {
	t.Helper()
	k, err := keys.ParsePublicKey(b)
	require.NoError(t, err)
	return k
}

func mustPriv(t testing.TB, b []byte) *keys.PrivateKey {
	t.Helper()
	k, err := keys.ParsePrivateKey(b)
	require.NoError(t, err)
	return k
}

func ms(v uint64) time.Time { return time.UnixMilli(int64(v)) }

func loadVectors(t testing.TB) *testvectors.SealedSenderVectors {
	t.Helper()
	v, err := testvectors.SealedSender()
	require.NoError(t, err)
	return v
}

// TestLibsignalSenderCertificates checks the three certificates of
// libsignal's own tests (uuid string with an unknown field, uuid bytes, a
// server certificate referenced by id) and the known server certificates.
func TestLibsignalSenderCertificates(t *testing.T) {
	for _, id := range []string{
		"sender_certificate_test_lossless_round_trip",
		"sender_certificate_test_uuid_bytes_representation",
		"sender_certificate_test_known_server_cert",
	} {
		t.Run(id, func(t *testing.T) {
			v, err := testvectors.Libsignal(id)
			require.NoError(t, err)
			var in struct {
				TrustRoot   testvectors.Hex `json:"trust_root_serialized"`
				Certificate testvectors.Hex `json:"certificate"`
				Signature   testvectors.Hex `json:"signature"`
				Time        uint64          `json:"validation_time_ms"`
			}
			var exp struct {
				Valid      bool    `json:"valid"`
				UUID       string  `json:"sender_uuid"`
				Device     uint32  `json:"sender_device_id"`
				Expiration uint64  `json:"expiration_ms"`
				E164       *string `json:"sender_e164"`
			}
			require.NoError(t, v.Decode(&in, &exp))
			ser := protowire.AppendTag(nil, 1, protowire.BytesType)
			ser = protowire.AppendBytes(ser, in.Certificate)
			ser = protowire.AppendTag(ser, 2, protowire.BytesType)
			ser = protowire.AppendBytes(ser, in.Signature)
			c, err := sealed.ParseSenderCertificate(ser)
			require.NoError(t, err)
			assert.Equal(t, exp.UUID, c.SenderUUID())
			assert.Equal(t, exp.Device, c.SenderDevice())
			assert.Equal(t, exp.Expiration, c.Expiration())
			_, hasE164 := c.SenderE164()
			assert.Equal(t, exp.E164 != nil, hasE164)
			root := mustPub(t, in.TrustRoot)
			require.True(t, exp.Valid)
			assert.NoError(t, c.Validate([]keys.PublicKey{root}, ms(in.Time)))
			assert.NoError(t, c.Validate([]keys.PublicKey{root}, ms(exp.Expiration)))
			assert.ErrorIs(t, c.Validate([]keys.PublicKey{root}, ms(exp.Expiration+1)), sealed.ErrInvalidCertificate)
			bad := root.Array()
			bad[5] ^= 1
			assert.ErrorIs(t, c.Validate([]keys.PublicKey{mustPub(t, bad[:])}, ms(in.Time)), sealed.ErrInvalidCertificate)
			// Any bit flip in the signature invalidates it.
			sig := append([]byte{}, in.Signature...)
			sig[10] ^= 4
			ser2 := protowire.AppendTag(nil, 1, protowire.BytesType)
			ser2 = protowire.AppendBytes(ser2, in.Certificate)
			ser2 = protowire.AppendTag(ser2, 2, protowire.BytesType)
			ser2 = protowire.AppendBytes(ser2, sig)
			c2, err := sealed.ParseSenderCertificate(ser2)
			require.NoError(t, err)
			assert.ErrorIs(t, c2.Validate([]keys.PublicKey{root}, ms(in.Time)), sealed.ErrInvalidCertificate)
		})
	}
	for _, id := range []string{
		"xeddsa_verify_known_server_certificate_2",
		"xeddsa_verify_known_server_certificate_3",
		"xeddsa_verify_known_server_certificate_7357c357",
	} {
		v, err := testvectors.Libsignal(id)
		require.NoError(t, err)
		var in struct {
			KeyID     uint32          `json:"key_id"`
			TrustRoot testvectors.Hex `json:"trust_root_serialized"`
			Cert      testvectors.Hex `json:"server_certificate_protobuf"`
		}
		require.NoError(t, v.Decode(&in, nil))
		c, err := sealed.ParseServerCertificate(in.Cert)
		require.NoError(t, err, id)
		assert.Equal(t, in.KeyID, c.KeyID(), id)
		assert.True(t, c.Validate(mustPub(t, in.TrustRoot)), id)
		k, ok := sealed.KnownServerCertificate(in.KeyID)
		require.True(t, ok, id)
		assert.Equal(t, []byte(in.Cert), k.Bytes(), id)
	}
}

// TestVectorCertificates checks every certificate of the recording: valid
// under its trust root at the expiration instant and not 1 ms later.
func TestVectorCertificates(t *testing.T) {
	v := loadVectors(t)
	roots := map[string]keys.PublicKey{
		hex.EncodeToString(v.TrustRoot.Pub):  mustPub(t, v.TrustRoot.Pub),
		hex.EncodeToString(v.TrustRoot2.Pub): mustPub(t, v.TrustRoot2.Pub),
	}
	for name, vc := range v.Certificates {
		t.Run(name, func(t *testing.T) {
			c, err := sealed.ParseSenderCertificate(vc.Certificate)
			require.NoError(t, err)
			assert.Equal(t, vc.SenderUUID, c.SenderUUID())
			assert.Equal(t, vc.SenderDevice, c.SenderDevice())
			assert.Equal(t, vc.Expiration, c.Expiration())
			assert.Equal(t, hex.EncodeToString(vc.SenderKey), c.Key().String())
			e164, ok := c.SenderE164()
			if vc.SenderE164 != nil && *vc.SenderE164 != "None" {
				assert.True(t, ok)
				assert.Equal(t, *vc.SenderE164, e164)
			} else {
				assert.False(t, ok)
			}
			s, err := c.Signer()
			require.NoError(t, err)
			assert.Equal(t, []byte(vc.ServerCertificate), s.Bytes())
			var root keys.PublicKey
			for _, r := range roots {
				if s.Validate(r) {
					root = r
				}
			}
			require.False(t, root.IsZero(), "no trust root signs the server certificate")
			assert.NoError(t, c.Validate([]keys.PublicKey{root}, ms(vc.Expiration)))
			assert.ErrorIs(t, c.Validate([]keys.PublicKey{root}, ms(vc.Expiration+1)), sealed.ErrInvalidCertificate)
			all := []keys.PublicKey{mustPub(t, v.TrustRoot.Pub), mustPub(t, v.TrustRoot2.Pub)}
			assert.NoError(t, c.Validate(all, ms(v.Timestamp)))
			assert.ErrorIs(t, c.Validate(nil, ms(v.Timestamp)), sealed.ErrInvalidCertificate)
		})
	}
}

func checkContent(t *testing.T, exp testvectors.SealedSenderExpected, c *sealed.Content) {
	t.Helper()
	assert.Equal(t, exp.SenderUUID, c.Sender().SenderUUID())
	assert.Equal(t, exp.SenderDevice, c.Sender().SenderDevice())
	assert.Equal(t, exp.MessageType, int(c.Type()))
	assert.Equal(t, exp.ContentHint, uint32(c.ContentHint()))
	assert.Equal(t, hex.EncodeToString(exp.GroupID), hex.EncodeToString(c.GroupID()))
	if exp.USMC != nil {
		assert.Equal(t, hex.EncodeToString(exp.USMC), hex.EncodeToString(c.Bytes()))
	}
	if exp.Inner != nil {
		assert.Equal(t, hex.EncodeToString(exp.Inner), hex.EncodeToString(c.Contents()))
	}
	if exp.SenderCertificate != nil {
		assert.Equal(t, hex.EncodeToString(exp.SenderCertificate), hex.EncodeToString(c.Sender().Bytes()))
	}
}

// TestOpenVectors opens every recorded v1 and v2 envelope with the
// recipients' fixed identity keys.
func TestOpenVectors(t *testing.T) {
	v := loadVectors(t)
	bob := mustPriv(t, v.Recipients["bob"].IdentityPriv)
	carol := mustPriv(t, v.Recipients["carol"].IdentityPriv)
	roots := []keys.PublicKey{mustPub(t, v.TrustRoot.Pub)}
	for _, m := range v.V1 {
		t.Run("v1/"+m.Name, func(t *testing.T) {
			require.Equal(t, "bob", m.Receiver)
			c, err := sealed.Open(bob, m.Sealed)
			require.NoError(t, err)
			checkContent(t, m.Expected, c)
			assert.Equal(t, m.InnerType, int(c.Type()))
			assert.NoError(t, c.Sender().Validate(roots, ms(v.Timestamp)))
			assert.Equal(t, 1, sealed.Version(m.Sealed))
			// Not addressed to carol.
			_, err = sealed.Open(carol, m.Sealed)
			assert.ErrorIs(t, err, sealed.ErrInvalidMessage)
		})
	}
	for name, m := range map[string]testvectors.SealedSenderV2{
		"group": v.V2.Group, "single": v.V2.SingleRecipientOneToOne,
	} {
		for _, r := range m.Received {
			t.Run("v2/"+name+"/"+r.Name, func(t *testing.T) {
				key := bob
				if r.Name == v.Recipients["carol"].Name {
					key = carol
				}
				c, err := sealed.Open(key, r.Message)
				require.NoError(t, err)
				checkContent(t, m.Expected, c)
				assert.NoError(t, c.Sender().Validate(roots, ms(v.Timestamp)))
				assert.Equal(t, 2, sealed.Version(r.Message))
			})
		}
	}
}

// TestSplitVectors splits the recorded sent messages as the server does and
// compares with libsignal's split.
func TestSplitVectors(t *testing.T) {
	v := loadVectors(t)
	for name, m := range map[string]testvectors.SealedSenderV2{
		"group": v.V2.Group, "single": v.V2.SingleRecipientOneToOne,
	} {
		t.Run(name, func(t *testing.T) {
			s, err := sealed.ParseSentMessage(m.Sent)
			require.NoError(t, err)
			assert.Equal(t, byte(sealed.VersionV2ServiceID), s.Version)
			var got []testvectors.SealedSenderReceived
			var excluded []string
			for i := range s.Recipients {
				r := &s.Recipients[i]
				if r.Excluded() {
					excluded = append(excluded, r.ServiceID)
					assert.Nil(t, s.ReceivedMessage(r))
					continue
				}
				e := testvectors.SealedSenderReceived{Name: r.ServiceID, Message: s.ReceivedMessage(r)}
				for _, d := range r.Devices {
					e.DeviceIDs = append(e.DeviceIDs, d.ID)
					e.RegistrationIDs = append(e.RegistrationIDs, uint32(d.RegistrationID))
				}
				got = append(got, e)
			}
			assert.Equal(t, m.Received, got)
			assert.Equal(t, m.Excluded, excluded)
		})
	}
}

// TestNegativeVectors checks the envelope-level outcome of the 12 negative
// cases: those expecting invalid_message fail to open, those expecting
// invalid_certificate fail to open or to validate, and the self-send opens
// and validates (the self check is the caller's, see package session).
func TestNegativeVectors(t *testing.T) {
	v := loadVectors(t)
	require.Len(t, v.Negative, 12)
	bob := mustPriv(t, v.Recipients["bob"].IdentityPriv)
	for _, n := range v.Negative {
		t.Run(n.Name, func(t *testing.T) {
			root := mustPub(t, v.TrustRoot.Pub)
			if n.TrustRoot != nil {
				root = mustPub(t, n.TrustRoot)
			}
			c, err := sealed.Open(bob, n.Sealed)
			switch n.Expect {
			case "invalid_message":
				assert.ErrorIs(t, err, sealed.ErrInvalidMessage)
				assert.False(t, errors.Is(err, sealed.ErrInvalidCertificate))
				assert.Nil(t, c)
			case "invalid_certificate":
				if err == nil {
					err = c.Sender().Validate([]keys.PublicKey{root}, ms(n.Timestamp))
				}
				assert.ErrorIs(t, err, sealed.ErrInvalidCertificate)
				assert.False(t, errors.Is(err, sealed.ErrInvalidMessage))
			case "self_send":
				require.NoError(t, err)
				require.NoError(t, c.Sender().Validate([]keys.PublicKey{root}, ms(n.Timestamp)))
				assert.Equal(t, v.Recipients["bob"].Name, c.Sender().SenderUUID())
			default:
				t.Fatalf("unknown expectation %q", n.Expect)
			}
			if n.ThenWithTrustRoot2 != nil {
				require.NotNil(t, c)
				assert.NoError(t, c.Sender().Validate([]keys.PublicKey{mustPub(t, v.TrustRoot2.Pub)}, ms(n.Timestamp)))
				assert.Equal(t, n.ThenWithTrustRoot2.MessageType, int(c.Type()))
				assert.Equal(t, n.ThenWithTrustRoot2.ContentHint, uint32(c.ContentHint()))
				assert.Equal(t, []byte(n.ThenWithTrustRoot2.GroupID), c.GroupID())
			}
		})
	}
}
