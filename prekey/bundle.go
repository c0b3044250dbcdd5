// Package prekey holds the keys a Signal party publishes so that others can
// start sessions with it while it is offline: pre-key bundles, as specified
// in [X3DH] §3.2 and [PQXDH] §3.2 "Publishing keys", and the records in which
// their owner stores the private halves, in libsignal's storage encodings.
//
// A [Bundle] is what Alice fetches from the server for Bob: his identity key
// IK_B, signed pre-key SPKB with its XEdDSA signature by IK_B, optionally a
// one-time pre-key OPKB, and optionally a signed KEM ("Kyber") pre-key. A
// bundle with a Kyber pre-key starts a PQXDH session (version 4), one without
// an X3DH session (version 3, which current libsignal no longer accepts).
// [ParseBundle] checks every field and both signatures and reports each
// defect with its own error.
//
// [PreKeyRecord], [SignedPreKeyRecord] and [KyberPreKeyRecord] hold Bob's
// pre-keys with their ids. They encode to and decode from libsignal's
// PreKeyRecordStructure and SignedPreKeyRecordStructure protobufs
// (proto/storage.proto), byte for byte as libsignal writes them, so stores can
// be exchanged with libsignal. [GeneratePreKeys], [GenerateSignedPreKey] and
// [GenerateKyberPreKey] make new ones, and [NewBundle] builds the public
// bundle from them.
//
// Records hold private keys: their encodings must be kept secret, and the
// record types print only public data with the fmt package.
//
// [X3DH]: https://signal.org/docs/specifications/x3dh/
// [PQXDH]: https://signal.org/docs/specifications/pqxdh/
package prekey

import (
	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
)

// Session versions a bundle starts.
const (
	// VersionX3DH is the version of a session started from a bundle without a
	// Kyber pre-key.
	VersionX3DH = 3
	// VersionPQXDH is the version of a session started from a bundle with a
	// Kyber pre-key.
	VersionPQXDH = 4
)

// RawBundle holds the fields of a pre-key bundle as they arrive from a
// server or a peer, undecoded. Keys are libsignal's serializations: 33-byte
// Curve25519 public keys (0x05 || u) and 1569-byte KEM public keys (type byte
// first); signatures are 64-byte XEdDSA signatures by the identity key over
// the serialized public key, type byte included.
type RawBundle struct {
	// RegistrationID is the owner's registration id.
	RegistrationID uint32
	// DeviceID is the owner's device id.
	DeviceID uint32
	// IdentityKey is IK_B.
	IdentityKey []byte
	// SignedPreKeyID is the id of SPKB.
	SignedPreKeyID uint32
	// SignedPreKey is SPKB.
	SignedPreKey []byte
	// SignedPreKeySignature is the signature of SPKB.
	SignedPreKeySignature []byte
	// PreKeyID is the id of the one-time pre-key, if there is one.
	PreKeyID uint32
	// PreKey is the one-time pre-key OPKB; empty means none.
	PreKey []byte
	// KyberPreKeyID is the id of the Kyber pre-key, if there is one.
	KyberPreKeyID uint32
	// KyberPreKey is the KEM pre-key; empty means none (an X3DH bundle).
	KyberPreKey []byte
	// KyberPreKeySignature is the signature of KyberPreKey; required with
	// it, forbidden without it.
	KyberPreKeySignature []byte
}

// Bundle is a verified pre-key bundle: every key decoded and both signatures
// checked against the identity key. Get one from [ParseBundle] or
// [NewBundle]. A Bundle holds public data only and is immutable.
type Bundle struct {
	registrationID uint32
	deviceID       uint32
	identity       keys.PublicKey
	signedID       uint32
	signed         keys.PublicKey
	signedSig      [keys.SignatureSize]byte
	hasPreKey      bool
	preKeyID       uint32
	preKey         keys.PublicKey
	kyberID        uint32
	kyber          *kem.PublicKey // nil: no Kyber pre-key
	kyberSig       [keys.SignatureSize]byte
}

// ParseBundle decodes and verifies a bundle. It rejects, each with its own
// error:
//
//   - a key that does not decode: a *FieldError naming the field and wrapping
//     keys.ErrNoKeyType (empty), keys.ErrBadKeyType (type byte not 0x05),
//     keys.ErrKeyLength (too short), kem.ErrUnknownKeyType, kem.ErrKeyLength
//     or kem.ErrInvalidPublicKey;
//   - a key or signature followed by extra bytes: a *FieldError wrapping
//     ErrTrailingData (libsignal drops extra bytes after a Curve25519 public
//     key; no libsignal encoder writes any);
//   - a signature shorter than 64 bytes or absent: a *FieldError wrapping
//     ErrSignatureLength;
//   - a Kyber pre-key without signature: ErrMissingKyberSignature, and a
//     signature without key: ErrMissingKyberPreKey;
//   - a signature that does not verify under the identity key:
//     ErrInvalidSignedPreKeySignature or ErrInvalidKyberPreKeySignature.
//
// Keys are checked before signatures, in the order of the fields. ParseBundle
// does not decide whether the identity key is trusted; that is the session
// store's job.
func ParseBundle(raw RawBundle) (*Bundle, error) {
	b := &Bundle{
		registrationID: raw.RegistrationID,
		deviceID:       raw.DeviceID,
		signedID:       raw.SignedPreKeyID,
	}
	var err error
	if b.identity, err = parseECKey("identity_key", raw.IdentityKey); err != nil {
		return nil, err
	}
	if b.signed, err = parseECKey("signed_prekey", raw.SignedPreKey); err != nil {
		return nil, err
	}
	if err := parseSignature("signed_prekey_signature", raw.SignedPreKeySignature, &b.signedSig); err != nil {
		return nil, err
	}
	if len(raw.PreKey) > 0 {
		if b.preKey, err = parseECKey("prekey", raw.PreKey); err != nil {
			return nil, err
		}
		b.hasPreKey, b.preKeyID = true, raw.PreKeyID
	}
	switch {
	case len(raw.KyberPreKey) > 0 && len(raw.KyberPreKeySignature) == 0:
		return nil, ErrMissingKyberSignature
	case len(raw.KyberPreKey) == 0 && len(raw.KyberPreKeySignature) > 0:
		return nil, ErrMissingKyberPreKey
	case len(raw.KyberPreKey) > 0:
		if b.kyber, err = parseKEMKey("kyber_prekey", raw.KyberPreKey); err != nil {
			return nil, err
		}
		if err := parseSignature("kyber_prekey_signature", raw.KyberPreKeySignature, &b.kyberSig); err != nil {
			return nil, err
		}
		b.kyberID = raw.KyberPreKeyID
	}
	if !b.identity.VerifySignature(b.signedSig[:], raw.SignedPreKey) {
		return nil, ErrInvalidSignedPreKeySignature
	}
	if b.kyber != nil && !b.identity.VerifySignature(b.kyberSig[:], raw.KyberPreKey) {
		return nil, ErrInvalidKyberPreKeySignature
	}
	return b, nil
}

// NewBundle builds the bundle that publishes the given pre-keys: a signed
// pre-key (required), a one-time pre-key and a Kyber pre-key (each nil for
// none). It reads the public halves from the records and verifies them like
// [ParseBundle], so a record signed by another identity key or holding an
// unusable key is rejected.
func NewBundle(registrationID, deviceID uint32, identity keys.PublicKey, signed *SignedPreKeyRecord, preKey *PreKeyRecord, kyber *KyberPreKeyRecord) (*Bundle, error) {
	if signed == nil {
		return nil, &FieldError{Field: "signed_prekey", Err: keys.ErrNoKeyType}
	}
	raw := RawBundle{
		RegistrationID:        registrationID,
		DeviceID:              deviceID,
		IdentityKey:           identity.Bytes(),
		SignedPreKeyID:        signed.f.id,
		SignedPreKey:          signed.f.public,
		SignedPreKeySignature: signed.f.signature,
	}
	if preKey != nil {
		if len(preKey.f.public) == 0 {
			return nil, &FieldError{Field: "prekey", Err: keys.ErrNoKeyType}
		}
		raw.PreKeyID, raw.PreKey = preKey.f.id, preKey.f.public
	}
	if kyber != nil {
		if len(kyber.f.public) == 0 {
			return nil, &FieldError{Field: "kyber_prekey", Err: kem.ErrKeyLength}
		}
		raw.KyberPreKeyID, raw.KyberPreKey, raw.KyberPreKeySignature = kyber.f.id, kyber.f.public, kyber.f.signature
	}
	return ParseBundle(raw)
}

// Version returns the version of the session the bundle starts:
// VersionPQXDH with a Kyber pre-key, VersionX3DH without.
func (b *Bundle) Version() int {
	if b.kyber != nil {
		return VersionPQXDH
	}
	return VersionX3DH
}

// RegistrationID returns the owner's registration id.
func (b *Bundle) RegistrationID() uint32 { return b.registrationID }

// DeviceID returns the owner's device id.
func (b *Bundle) DeviceID() uint32 { return b.deviceID }

// IdentityKey returns IK_B.
func (b *Bundle) IdentityKey() keys.PublicKey { return b.identity }

// SignedPreKeyID returns the id of SPKB.
func (b *Bundle) SignedPreKeyID() uint32 { return b.signedID }

// SignedPreKey returns SPKB.
func (b *Bundle) SignedPreKey() keys.PublicKey { return b.signed }

// SignedPreKeySignature returns a copy of the (verified) signature of SPKB.
func (b *Bundle) SignedPreKeySignature() []byte { return clone(b.signedSig[:]) }

// PreKey returns the one-time pre-key OPKB and its id; ok is false if the
// bundle has none.
func (b *Bundle) PreKey() (id uint32, key keys.PublicKey, ok bool) {
	return b.preKeyID, b.preKey, b.hasPreKey
}

// KyberPreKey returns the KEM pre-key and its id; ok is false if the bundle
// has none (an X3DH bundle).
func (b *Bundle) KyberPreKey() (id uint32, key *kem.PublicKey, ok bool) {
	return b.kyberID, b.kyber, b.kyber != nil
}

// KyberPreKeySignature returns a copy of the (verified) signature of the
// Kyber pre-key, or nil if the bundle has none.
func (b *Bundle) KyberPreKeySignature() []byte {
	if b.kyber == nil {
		return nil
	}
	return clone(b.kyberSig[:])
}

// Raw returns the bundle's fields in serialized form; ParseBundle of the
// result returns an equal bundle.
func (b *Bundle) Raw() RawBundle {
	r := RawBundle{
		RegistrationID:        b.registrationID,
		DeviceID:              b.deviceID,
		IdentityKey:           b.identity.Bytes(),
		SignedPreKeyID:        b.signedID,
		SignedPreKey:          b.signed.Bytes(),
		SignedPreKeySignature: clone(b.signedSig[:]),
	}
	if b.hasPreKey {
		r.PreKeyID, r.PreKey = b.preKeyID, b.preKey.Bytes()
	}
	if b.kyber != nil {
		r.KyberPreKeyID, r.KyberPreKey, r.KyberPreKeySignature = b.kyberID, b.kyber.Bytes(), clone(b.kyberSig[:])
	}
	return r
}

// parseECKey decodes a 33-byte Curve25519 public key field.
func parseECKey(field string, v []byte) (keys.PublicKey, error) {
	if len(v) > keys.PublicKeySize && v[0] == keys.TypeDJB {
		return keys.PublicKey{}, &FieldError{Field: field, Err: ErrTrailingData}
	}
	k, err := keys.ParsePublicKey(v)
	if err != nil {
		return keys.PublicKey{}, &FieldError{Field: field, Err: err}
	}
	return k, nil
}

// parseKEMKey decodes a 1569-byte KEM public key field.
func parseKEMKey(field string, v []byte) (*kem.PublicKey, error) {
	if len(v) > kem.PublicKeySize && (kem.Type(v[0]) == kem.Kyber1024 || kem.Type(v[0]) == kem.MLKEM1024) {
		return nil, &FieldError{Field: field, Err: ErrTrailingData}
	}
	k, err := kem.ParsePublicKey(v)
	if err != nil {
		return nil, &FieldError{Field: field, Err: err}
	}
	return k, nil
}

// parseSignature copies a 64-byte signature field into dst.
func parseSignature(field string, v []byte, dst *[keys.SignatureSize]byte) error {
	switch {
	case len(v) > keys.SignatureSize:
		return &FieldError{Field: field, Err: ErrTrailingData}
	case len(v) < keys.SignatureSize:
		return &FieldError{Field: field, Err: ErrSignatureLength}
	}
	copy(dst[:], v)
	return nil
}
