package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/sealed"
	"github.com/ratchetlab/signal/senderkey"
)

// Errors of sealed sender, repeated here so that callers of the Manager's
// sealed functions need not import package sealed for them.
var (
	// ErrSealedInvalidMessage matches every envelope that does not open.
	ErrSealedInvalidMessage = sealed.ErrInvalidMessage
	// ErrSealedInvalidCertificate matches a sender certificate that does
	// not validate or does not carry the envelope's sender key.
	ErrSealedInvalidCertificate = sealed.ErrInvalidCertificate
	// ErrSealedSelfSend is returned for a sealed message whose
	// certificate names the receiving device.
	ErrSealedSelfSend = sealed.ErrSelfSend
	// ErrSealedGroupUnsupported is returned for a sealed group message
	// (inner type 7) when no GroupDecrypter was given and the Manager has
	// no sender key store or no local address (see Manager.Groups).
	ErrSealedGroupUnsupported = errors.New("session: sealed group message but no sender key decrypter")
	// ErrInvalidPlaintextContent is returned for an inner PlaintextContent
	// (type 8) that does not start with its identifier byte 0xC0.
	ErrInvalidPlaintextContent = errors.New("session: invalid plaintext content")
)

// plaintextContentID is the first byte of a serialized PlaintextContent.
const plaintextContentID = 0xC0

// GroupDecrypter decrypts a SenderKeyMessage from a sender's device, all or
// nothing, and names its group. *GroupCipher implements it; it is the seam
// through which SealedDecrypt hands over sealed group messages.
type GroupDecrypter interface {
	Decrypt(ctx context.Context, sender Address, ciphertext []byte) ([]byte, senderkey.DistributionID, error)
}

// SealedDecryptOptions are the parameters of SealedDecrypt.
type SealedDecryptOptions struct {
	// TrustRoots are the keys a server certificate must be signed by (at
	// least one of them).
	TrustRoots []keys.PublicKey
	// Time is the time the certificate must be valid at; zero means now
	// (the Manager's clock).
	Time time.Time
	// Local is our own address for the self-send check; empty means the
	// Manager's WithLocalAddress.
	Local Address
	// LocalE164 is our phone number, if the self-send check should also
	// compare it.
	LocalE164 string
	// Groups decrypts inner sender key messages; nil means the Manager's
	// own GroupCipher (Manager.Groups), or ErrSealedGroupUnsupported when
	// it has none.
	Groups GroupDecrypter
}

// SealedMessage is a decrypted sealed message.
type SealedMessage struct {
	// Sender is the certificate's uuid and device, the address under which
	// the inner message was decrypted.
	Sender Address
	// SenderE164 is the certificate's phone number ("" if HasE164 is false).
	SenderE164 string
	HasE164    bool
	// SenderKey is the certificate's (and the envelope's) identity key.
	SenderKey keys.PublicKey
	// Certificate is the validated sender certificate.
	Certificate *sealed.SenderCertificate
	// Type is the inner message's type.
	Type sealed.MessageType
	// ContentHint and GroupID are as the sender set them.
	ContentHint sealed.ContentHint
	GroupID     []byte
	// DistributionID names the sender key group of a SenderKeyType message.
	DistributionID senderkey.DistributionID
	// Inner is the inner message as sent.
	Inner []byte
	// Plaintext is the decrypted inner message (for type 8, the
	// PlaintextContent body after its identifier byte).
	Plaintext []byte
	// Version is the envelope's version, 1 or 2.
	Version int
}

// SealedDecrypt decrypts a sealed sender message (v1, or a v2 received
// message) in libsignal's order, the first failure deciding the error:
//
//  1. open the envelope with our identity key (ErrSealedInvalidMessage,
//     or ErrSealedInvalidCertificate when the certificate's key is not the
//     envelope's sender key);
//  2. validate the certificate against opts.TrustRoots at opts.Time
//     (ErrSealedInvalidCertificate);
//  3. refuse a certificate naming our own uuid (or e164) and device
//     (ErrSealedSelfSend);
//  4. decrypt the inner message from the certificate's uuid and device:
//     PreKey and Whisper messages with this Manager (as Decrypt), sender
//     key messages with opts.Groups (by default the Manager's GroupCipher),
//     PlaintextContent as is.
//
// Steps 1 to 3 change nothing, and step 4 stores nothing unless it
// succeeds, so a failed SealedDecrypt leaves every session as it was.
func (m *Manager) SealedDecrypt(ctx context.Context, msg []byte, opts SealedDecryptOptions) (*SealedMessage, error) {
	sm, c, err := m.openSealed(ctx, msg, opts)
	if err != nil {
		return nil, err
	}
	switch c.Type() {
	case sealed.PreKeyType, sealed.WhisperType:
		sm.Plaintext, err = m.Decrypt(ctx, sm.Sender, innerCiphertext(c))
	case sealed.SenderKeyType:
		g := opts.Groups
		if g == nil {
			gc, gerr := m.Groups()
			if gerr != nil {
				return nil, fmt.Errorf("%w: %w", ErrSealedGroupUnsupported, gerr)
			}
			g = gc
		}
		sm.Plaintext, sm.DistributionID, err = g.Decrypt(ctx, sm.Sender, c.Contents())
	case sealed.PlaintextType:
		sm.Plaintext, err = plaintextContent(c.Contents())
	default:
		err = fmt.Errorf("%w: inner type %d", ErrUnknownMessageType, c.Type())
	}
	if err != nil {
		return nil, err
	}
	return sm, nil
}

// openSealed does the steps of SealedDecrypt that change nothing: it opens
// the envelope with our identity key, validates the sender certificate and
// refuses a self-send. The returned message has every field but Plaintext
// and DistributionID.
func (m *Manager) openSealed(ctx context.Context, msg []byte, opts SealedDecryptOptions) (*SealedMessage, *sealed.Content, error) {
	us, err := m.stores.Identity.IdentityKeyPair(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, err := sealed.Open(us, msg)
	if err != nil {
		return nil, nil, err
	}
	cert := c.Sender()
	at := opts.Time
	if at.IsZero() {
		at = m.now()
	}
	if err := cert.Validate(opts.TrustRoots, at); err != nil {
		return nil, nil, err
	}
	local := opts.Local
	if local == (Address{}) && m.hasLocal {
		local = m.local
	}
	e164, hasE164 := cert.SenderE164()
	isLocal := local.Name != "" && local.Name == cert.SenderUUID() ||
		opts.LocalE164 != "" && hasE164 && opts.LocalE164 == e164
	if isLocal && cert.SenderDevice() == local.DeviceID {
		return nil, nil, ErrSealedSelfSend
	}
	return &SealedMessage{
		Sender:     Address{Name: cert.SenderUUID(), DeviceID: cert.SenderDevice()},
		SenderE164: e164, HasE164: hasE164, SenderKey: cert.Key(), Certificate: cert,
		Type: c.Type(), ContentHint: c.ContentHint(), GroupID: c.GroupID(), Inner: c.Contents(),
		Version: sealed.Version(msg),
	}, c, nil
}

// innerCiphertext is the 1:1 message inside a sealed message of type
// PreKey or Whisper.
func innerCiphertext(c *sealed.Content) Ciphertext {
	if c.Type() == sealed.PreKeyType {
		return Ciphertext{Type: PreKeyType, Bytes: c.Contents()}
	}
	return Ciphertext{Type: WhisperType, Bytes: c.Contents()}
}

// plaintextContent returns the body of a PlaintextContent inner message.
func plaintextContent(b []byte) ([]byte, error) {
	if len(b) == 0 || b[0] != plaintextContentID {
		return nil, ErrInvalidPlaintextContent
	}
	return append([]byte(nil), b[1:]...), nil
}

// SealedEncrypt encrypts plaintext for a peer with the 1:1 session (as
// Encrypt) and seals the result as a v1 envelope carrying cert, the given
// content hint and group id. It returns the envelope and the inner
// message. The session advances even if sealing then fails.
func (m *Manager) SealedEncrypt(ctx context.Context, to Address, cert *sealed.SenderCertificate, plaintext []byte,
	hint sealed.ContentHint, groupID []byte) ([]byte, *sealed.Content, error) {
	ct, err := m.Encrypt(ctx, to, plaintext)
	if err != nil {
		return nil, nil, err
	}
	typ := sealed.WhisperType
	if ct.Type == PreKeyType {
		typ = sealed.PreKeyType
	}
	c, err := sealed.NewContent(typ, cert, ct.Bytes, hint, groupID)
	if err != nil {
		return nil, nil, err
	}
	env, err := m.SealContent(ctx, to, c)
	if err != nil {
		return nil, nil, err
	}
	return env, c, nil
}

// SealContent seals a prepared inner message (for example a sender key
// message) for one peer as a v1 envelope, to the identity key recorded for
// it (ErrNoSession if there is none).
func (m *Manager) SealContent(ctx context.Context, to Address, c *sealed.Content) ([]byte, error) {
	us, err := m.stores.Identity.IdentityKeyPair(ctx)
	if err != nil {
		return nil, err
	}
	their, ok, err := m.stores.Identity.Identity(ctx, to)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: no identity key for %s", ErrNoSession, to)
	}
	return sealed.Seal(c, us, their)
}

// SealContentMulti seals a prepared inner message once for many peer
// devices as a v2 sent message (see sealed.SealMulti). Every device needs
// a current session, which gives its registration id; names must be
// service ids, and one account's devices must come one after another.
// excluded lists service ids of members deliberately left out.
func (m *Manager) SealContentMulti(ctx context.Context, to []Address, c *sealed.Content, excluded []string) ([]byte, error) {
	us, err := m.stores.Identity.IdentityKeyPair(ctx)
	if err != nil {
		return nil, err
	}
	dests := make([]sealed.Destination, len(to))
	for i, addr := range to {
		e := m.lock(addr)
		rec, err := m.stores.Sessions.LoadSession(ctx, addr)
		m.unlock(addr, e)
		if err != nil {
			return nil, err
		}
		if rec == nil || rec.current == nil {
			return nil, fmt.Errorf("%w: %s", ErrNoSession, addr)
		}
		d := sealed.Destination{ServiceID: addr.Name, DeviceID: addr.DeviceID,
			RegistrationID: rec.current.RemoteRegistrationID()}
		if i > 0 && addr.Name == to[i-1].Name {
			d.IdentityKey = dests[i-1].IdentityKey
		} else {
			k, ok, err := m.stores.Identity.Identity(ctx, addr)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("%w: no identity key for %s", ErrNoSession, addr)
			}
			d.IdentityKey = k
		}
		dests[i] = d
	}
	return sealed.SealMulti(c, us, dests, excluded)
}
