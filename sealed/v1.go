package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/internal/protofield"
	"github.com/ratchetlab/signal/kdf"
	"github.com/ratchetlab/signal/keys"
)

// Version bytes: (required version << 4) | current version.
const (
	// VersionV1 is the first byte of a v1 envelope.
	VersionV1 = 0x11
	// VersionV2UUID is the first byte of a v2 received message (and of the
	// original v2 sent form, with bare UUID recipients).
	VersionV2UUID = 0x22
	// VersionV2ServiceID is the first byte of a v2 sent message with
	// service id recipients, the form SealMulti writes.
	VersionV2ServiceID = 0x23
)

const (
	v1MACSize  = 10
	saltPrefix = "UnidentifiedDelivery"
)

// v1Keys are the three 32-byte keys of one v1 HKDF: chain, cipher, MAC.
type v1Keys struct {
	chain, cipher, mac [32]byte
}

func (k *v1Keys) clear() {
	clear(k.chain[:])
	clear(k.cipher[:])
	clear(k.mac[:])
}

// deriveV1 expands HKDF(salt, ikm, info = "", 96) into chain, cipher and
// MAC keys.
func deriveV1(salt, ikm []byte) v1Keys {
	var okm [96]byte
	kdf.HKDF(okm[:0], ikm, salt, nil, 96)
	var k v1Keys
	copy(k.chain[:], okm[:32])
	copy(k.cipher[:], okm[32:64])
	copy(k.mac[:], okm[64:])
	clear(okm[:])
	return k
}

// ephemeralSalt is "UnidentifiedDelivery" || recipient key || ephemeral key.
func ephemeralSalt(recipient, ephemeral keys.PublicKey) []byte {
	salt := make([]byte, 0, len(saltPrefix)+2*keys.PublicKeySize)
	salt = append(salt, saltPrefix...)
	salt = recipient.AppendBytes(salt)
	return ephemeral.AppendBytes(salt)
}

// ctrXOR applies AES-256-CTR with an all-zero initial counter block (a
// 32-bit big-endian block counter, as libsignal; messages never reach 2^32
// blocks, so crypto/cipher's 128-bit counter gives the same stream).
func ctrXOR(key *[32]byte, dst, src []byte) {
	b, err := aes.NewCipher(key[:])
	if err != nil {
		panic("sealed: " + err.Error()) // unreachable: 32-byte key
	}
	var iv [aes.BlockSize]byte
	cipher.NewCTR(b, iv[:]).XORKeyStream(dst, src)
}

// ctrHMACSeal appends AES-256-CTR(pt) || HMAC-SHA256(ct)[:10] to dst.
func ctrHMACSeal(dst, pt []byte, k *v1Keys) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, len(pt))...)
	ctrXOR(&k.cipher, dst[start:], pt)
	mac := kdf.HMAC(k.mac[:], dst[start:])
	return append(dst, mac[:v1MACSize]...)
}

// ctrHMACOpen checks the truncated MAC in constant time and decrypts.
func ctrHMACOpen(ct []byte, k *v1Keys) ([]byte, bool) {
	if len(ct) < v1MACSize {
		return nil, false
	}
	body, tag := ct[:len(ct)-v1MACSize], ct[len(ct)-v1MACSize:]
	mac := kdf.HMAC(k.mac[:], body)
	if !hmac.Equal(mac[:v1MACSize], tag) {
		return nil, false
	}
	pt := make([]byte, len(body))
	ctrXOR(&k.cipher, pt, body)
	return pt, true
}

// Seal encrypts content for one recipient as a v1 envelope, with a fresh
// ephemeral key: 0x11 || UnidentifiedSenderMessage{ephemeralPublic,
// encryptedStatic, encryptedMessage}. sender is our identity key (whose
// public key the certificate in content must carry), recipient the
// recipient's identity key.
func Seal(content *Content, sender *keys.PrivateKey, recipient keys.PublicKey) ([]byte, error) {
	e, err := keys.GeneratePrivateKey()
	if err != nil {
		return nil, err
	}
	return sealV1(content, sender, recipient, e)
}

func sealV1(content *Content, sender *keys.PrivateKey, recipient keys.PublicKey, e *keys.PrivateKey) ([]byte, error) {
	ePub := e.PublicKey()
	dh, err := e.Agree(recipient)
	if err != nil {
		return nil, fmt.Errorf("%w: recipient key: %w", ErrInvalidArgument, err)
	}
	ek := deriveV1(ephemeralSalt(recipient, ePub), dh[:])
	clear(dh[:])
	defer ek.clear()
	senderPub := sender.PublicKey().Array()
	encStatic := ctrHMACSeal(nil, senderPub[:], &ek)

	dh2, err := sender.Agree(recipient)
	if err != nil {
		return nil, fmt.Errorf("%w: recipient key: %w", ErrInvalidArgument, err)
	}
	// The static keys are the second and third 32 bytes of this HKDF; its
	// first 32 are not used.
	sk := deriveV1(append(ek.chain[:], encStatic...), dh2[:])
	clear(dh2[:])
	defer sk.clear()
	encMsg := ctrHMACSeal(nil, content.serialized, &sk)

	out := make([]byte, 0, 1+3*6+keys.PublicKeySize+len(encStatic)+len(encMsg))
	out = append(out, VersionV1)
	out = protowire.AppendTag(out, 1, protowire.BytesType)
	out = protowire.AppendBytes(out, ePub.Bytes())
	out = protofield.AppendBytes(out, 2, encStatic)
	out = protofield.AppendBytes(out, 3, encMsg)
	return out, nil
}

// openV1 opens the protobuf part of a v1 envelope.
func openV1(body []byte, us *keys.PrivateKey) (*Content, error) {
	var ephemeral, encStatic, encMsg []byte
	var hasE, hasS, hasM bool
	err := eachField(body, func(f fieldValue) error {
		switch f.num {
		case 1:
			ephemeral, hasE = f.b, true
			return f.want(protowire.BytesType)
		case 2:
			encStatic, hasS = f.b, true
			return f.want(protowire.BytesType)
		case 3:
			encMsg, hasM = f.b, true
			return f.want(protowire.BytesType)
		}
		return nil
	})
	if err != nil || !hasE || !hasS || !hasM {
		return nil, fmt.Errorf("%w: malformed v1 envelope", ErrInvalidMessage)
	}
	ePub, err := keys.ParsePublicKey(ephemeral)
	if err != nil {
		return nil, fmt.Errorf("%w: ephemeral key: %w", ErrInvalidMessage, err)
	}
	dh, err := us.Agree(ePub)
	if err != nil {
		return nil, fmt.Errorf("%w: ephemeral key: %w", ErrInvalidMessage, err)
	}
	ek := deriveV1(ephemeralSalt(us.PublicKey(), ePub), dh[:])
	clear(dh[:])
	defer ek.clear()
	staticBytes, ok := ctrHMACOpen(encStatic, &ek)
	if !ok {
		return nil, fmt.Errorf("%w: static key does not decrypt", ErrInvalidMessage)
	}
	static, err := keys.ParsePublicKey(staticBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: static key: %w", ErrInvalidMessage, err)
	}
	dh2, err := us.Agree(static)
	if err != nil {
		return nil, fmt.Errorf("%w: static key: %w", ErrInvalidMessage, err)
	}
	sk := deriveV1(append(ek.chain[:], encStatic...), dh2[:])
	clear(dh2[:])
	defer sk.clear()
	msg, ok := ctrHMACOpen(encMsg, &sk)
	if !ok {
		return nil, fmt.Errorf("%w: message does not decrypt", ErrInvalidMessage)
	}
	c, err := ParseContent(msg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	if !c.sender.key.Equal(static) {
		return nil, fmt.Errorf("%w: certificate key is not the envelope's sender key", ErrInvalidCertificate)
	}
	return c, nil
}
