package sealed

import (
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/internal/protofield"
	"github.com/ratchetlab/signal/keys"
)

// RevokedServerKeyID is the one server certificate key id that libsignal
// revokes (an id it uses to test revocation): a server certificate with it
// never validates.
const RevokedServerKeyID = 0xDEADC357

// revokedServerKeyIDs are the server certificate key ids that never
// validate.
var revokedServerKeyIDs = [...]uint32{RevokedServerKeyID}

// ServerCertificate is a server key and its id, signed by a trust root
// (ServerCertificate in sealed_sender.proto).
type ServerCertificate struct {
	serialized  []byte
	certificate []byte
	signature   []byte
	keyID       uint32
	key         keys.PublicKey
}

// parseSigned splits the outer message both certificates share:
// {1 certificate bytes, 2 signature bytes}, both required.
func parseSigned(b []byte) (cert, sig []byte, ok bool) {
	var hasCert, hasSig bool
	err := eachField(b, func(f fieldValue) error {
		switch f.num {
		case 1:
			cert, hasCert = f.b, true
			return f.want(protowire.BytesType)
		case 2:
			sig, hasSig = f.b, true
			return f.want(protowire.BytesType)
		}
		return nil
	})
	return cert, sig, err == nil && hasCert && hasSig
}

// ParseServerCertificate decodes a ServerCertificate. It checks the
// encoding only; [ServerCertificate.Validate] checks the signature.
func ParseServerCertificate(b []byte) (*ServerCertificate, error) {
	cert, sig, ok := parseSigned(b)
	if !ok {
		return nil, fmt.Errorf("%w: server certificate", ErrMalformed)
	}
	var id uint32
	var key []byte
	var hasID, hasKey bool
	err := eachField(cert, func(f fieldValue) error {
		switch f.num {
		case 1:
			id, hasID = uint32(f.v), true
			return f.want(protowire.VarintType)
		case 2:
			key, hasKey = f.b, true
			return f.want(protowire.BytesType)
		}
		return nil
	})
	if err != nil || !hasID || !hasKey {
		return nil, fmt.Errorf("%w: server certificate", ErrMalformed)
	}
	k, err := keys.ParsePublicKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: server certificate key: %w", ErrMalformed, err)
	}
	return &ServerCertificate{
		serialized:  append([]byte(nil), b...),
		certificate: append([]byte(nil), cert...),
		signature:   append([]byte(nil), sig...),
		keyID:       id,
		key:         k,
	}, nil
}

// NewServerCertificate creates a server certificate for key under keyID,
// signed by the trust root's private key. It is what a server (or a test)
// does.
func NewServerCertificate(keyID uint32, key keys.PublicKey, trustRoot *keys.PrivateKey) (*ServerCertificate, error) {
	cert := protofield.AppendVarint(nil, 1, uint64(keyID))
	cert = protofield.AppendBytes(cert, 2, key.Bytes())
	sig, err := trustRoot.Sign(cert)
	if err != nil {
		return nil, err
	}
	ser := protofield.AppendBytes(nil, 1, cert)
	ser = protofield.AppendBytes(ser, 2, sig)
	return &ServerCertificate{serialized: ser, certificate: cert, signature: sig, keyID: keyID, key: key}, nil
}

// Bytes returns the serialized certificate.
func (c *ServerCertificate) Bytes() []byte { return append([]byte(nil), c.serialized...) }

// KeyID returns the server key's id.
func (c *ServerCertificate) KeyID() uint32 { return c.keyID }

// Key returns the server's public key.
func (c *ServerCertificate) Key() keys.PublicKey { return c.key }

// Validate reports whether the certificate is signed by trustRoot and its
// key id is not revoked.
func (c *ServerCertificate) Validate(trustRoot keys.PublicKey) bool {
	for _, id := range revokedServerKeyIDs {
		if c.keyID == id {
			return false
		}
	}
	return trustRoot.VerifySignature(c.signature, c.certificate)
}

// SenderCertificate names a sender (uuid, optional e164, device, identity
// key) until an expiry time, signed by a server key (SenderCertificate in
// sealed_sender.proto). The server certificate is embedded, or referenced
// by the id of one of libsignal's known server certificates.
type SenderCertificate struct {
	serialized  []byte
	certificate []byte
	signature   []byte
	uuid        string
	e164        string
	hasE164     bool
	device      uint32
	expires     uint64
	key         keys.PublicKey
	signer      *ServerCertificate // nil when referenced by id
	signerID    uint32
}

// SenderInfo is the content of a sender certificate.
type SenderInfo struct {
	// UUID is the sender's ACI as a hyphenated lowercase UUID.
	UUID string
	// E164 is the sender's phone number, or empty for none.
	E164 string
	// Device is the sender's device id, 1 to 127.
	Device uint32
	// Key is the sender's identity key.
	Key keys.PublicKey
	// Expires is the expiry time in milliseconds since the Unix epoch;
	// the certificate is valid at times up to and including it.
	Expires uint64
}

// ParseSenderCertificate decodes a SenderCertificate, and the server
// certificate embedded in it. It checks the encoding only;
// [SenderCertificate.Validate] checks signatures and expiry.
func ParseSenderCertificate(b []byte) (*SenderCertificate, error) {
	bad := fmt.Errorf("%w: sender certificate", ErrMalformed)
	cert, sig, ok := parseSigned(b)
	if !ok {
		return nil, bad
	}
	c := &SenderCertificate{
		serialized:  append([]byte(nil), b...),
		certificate: append([]byte(nil), cert...),
		signature:   append([]byte(nil), sig...),
	}
	var hasDevice, hasExpires, hasKey bool
	var key, signerCert, uuidBytes []byte
	uuidKind, signerKind := 0, 0 // 6 or 7; 5 or 8 (the last one wins, as in a oneof)
	err := eachField(cert, func(f fieldValue) error {
		switch f.num {
		case 1:
			c.e164, c.hasE164 = string(f.b), true
			return f.want(protowire.BytesType)
		case 2:
			c.device, hasDevice = uint32(f.v), true
			return f.want(protowire.VarintType)
		case 3:
			c.expires, hasExpires = f.v, true
			return f.want(protowire.Fixed64Type)
		case 4:
			key, hasKey = f.b, true
			return f.want(protowire.BytesType)
		case 5:
			signerCert, signerKind = f.b, 5
			return f.want(protowire.BytesType)
		case 6:
			c.uuid, uuidKind = string(f.b), 6
			return f.want(protowire.BytesType)
		case 7:
			uuidBytes, uuidKind = f.b, 7
			return f.want(protowire.BytesType)
		case 8:
			c.signerID, signerKind = uint32(f.v), 8
			return f.want(protowire.VarintType)
		}
		return nil
	})
	if err != nil || !hasDevice || !hasExpires || !hasKey || uuidKind == 0 || signerKind == 0 {
		return nil, bad
	}
	if c.device < 1 || c.device > 127 {
		return nil, bad
	}
	if uuidKind == 7 {
		if len(uuidBytes) != 16 {
			return nil, bad
		}
		c.uuid = uuidString(uuidBytes)
	}
	if c.key, err = keys.ParsePublicKey(key); err != nil {
		return nil, fmt.Errorf("%w: sender certificate key: %w", ErrMalformed, err)
	}
	if signerKind == 5 {
		if c.signer, err = ParseServerCertificate(signerCert); err != nil {
			return nil, err
		}
		c.signerID = c.signer.keyID
	}
	return c, nil
}

// NewSenderCertificate creates a sender certificate with the server
// certificate embedded, signed by the server's private key. It is what a
// server (or a test) does.
func NewSenderCertificate(info SenderInfo, server *ServerCertificate, serverKey *keys.PrivateKey) (*SenderCertificate, error) {
	if info.Device < 1 || info.Device > 127 {
		return nil, fmt.Errorf("%w: device id %d", ErrInvalidArgument, info.Device)
	}
	if info.UUID == "" {
		return nil, fmt.Errorf("%w: empty sender uuid", ErrInvalidArgument)
	}
	var cert []byte
	if info.E164 != "" {
		cert = protofield.AppendBytes(cert, 1, []byte(info.E164))
	}
	cert = protofield.AppendVarint(cert, 2, uint64(info.Device))
	cert = protowire.AppendTag(cert, 3, protowire.Fixed64Type)
	cert = protowire.AppendFixed64(cert, info.Expires)
	cert = protofield.AppendBytes(cert, 4, info.Key.Bytes())
	cert = protofield.AppendBytes(cert, 5, server.serialized)
	cert = protofield.AppendBytes(cert, 6, []byte(info.UUID))
	sig, err := serverKey.Sign(cert)
	if err != nil {
		return nil, err
	}
	ser := protofield.AppendBytes(nil, 1, cert)
	ser = protofield.AppendBytes(ser, 2, sig)
	return &SenderCertificate{
		serialized: ser, certificate: cert, signature: sig,
		uuid: info.UUID, e164: info.E164, hasE164: info.E164 != "",
		device: info.Device, expires: info.Expires, key: info.Key,
		signer: server, signerID: server.keyID,
	}, nil
}

// Bytes returns the serialized certificate.
func (c *SenderCertificate) Bytes() []byte { return append([]byte(nil), c.serialized...) }

// SenderUUID returns the sender's uuid as the certificate gives it.
func (c *SenderCertificate) SenderUUID() string { return c.uuid }

// SenderE164 returns the sender's phone number, if the certificate has one.
func (c *SenderCertificate) SenderE164() (string, bool) { return c.e164, c.hasE164 }

// SenderDevice returns the sender's device id.
func (c *SenderCertificate) SenderDevice() uint32 { return c.device }

// Key returns the sender's identity key.
func (c *SenderCertificate) Key() keys.PublicKey { return c.key }

// Expiration returns the expiry time in milliseconds since the Unix epoch.
func (c *SenderCertificate) Expiration() uint64 { return c.expires }

// Signer returns the server certificate that signed this one: the embedded
// one, or the known server certificate it names by id. It returns an error
// matching ErrInvalidCertificate for an unknown id.
func (c *SenderCertificate) Signer() (*ServerCertificate, error) {
	if c.signer != nil {
		return c.signer, nil
	}
	if s := knownServerCertificate(c.signerID); s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("%w: unknown server certificate id %d", ErrInvalidCertificate, c.signerID)
}

// Validate checks the certificate at time at against a list of trust
// roots: the server certificate must be signed by one of them (all are
// tried, so that timing does not tell which) and not revoked, this
// certificate must be signed by the server key, and at must not be after
// the expiry. Every failure returns an error matching
// ErrInvalidCertificate.
func (c *SenderCertificate) Validate(trustRoots []keys.PublicKey, at time.Time) error {
	s, err := c.Signer()
	if err != nil {
		return err
	}
	anyValid := 0
	for _, root := range trustRoots {
		ok := 0
		if s.Validate(root) {
			ok = 1
		}
		anyValid |= ok
	}
	if subtle.ConstantTimeEq(int32(anyValid), 1) != 1 {
		return fmt.Errorf("%w: server certificate not signed by a trust root", ErrInvalidCertificate)
	}
	if !s.key.VerifySignature(c.signature, c.certificate) {
		return fmt.Errorf("%w: not signed by the server", ErrInvalidCertificate)
	}
	ms := at.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	if uint64(ms) > c.expires {
		return fmt.Errorf("%w: expired", ErrInvalidCertificate)
	}
	return nil
}

// uuidString formats 16 bytes as a hyphenated lowercase UUID.
func uuidString(b []byte) string {
	var s [36]byte
	h := hex.EncodeToString(b)
	copy(s[0:8], h[0:8])
	s[8] = '-'
	copy(s[9:13], h[8:12])
	s[13] = '-'
	copy(s[14:18], h[12:16])
	s[18] = '-'
	copy(s[19:23], h[16:20])
	s[23] = '-'
	copy(s[24:], h[20:])
	return string(s[:])
}
