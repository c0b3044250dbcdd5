package prekey

import (
	"fmt"
	"time"

	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
)

// PreKeyRecord is a stored one-time pre-key: its id and key pair, in
// libsignal's PreKeyRecordStructure encoding (proto/storage.proto):
//
//	message PreKeyRecordStructure {
//	  uint32 id          = 1;
//	  bytes  public_key  = 2;  // 33 bytes, 0x05 || u
//	  bytes  private_key = 3;  // 32 bytes
//	}
//
// Like libsignal, a record keeps its keys as bytes and decodes them when they
// are read, so a record with unusable keys parses (see [ParsePreKeyRecord])
// and fails in [PreKeyRecord.PublicKey] or [PreKeyRecord.PrivateKey]. A
// record holds a private key; it prints only its id and public key.
type PreKeyRecord struct {
	f recordFields
}

// NewPreKeyRecord returns the record of the one-time pre-key priv with the
// given id. priv must not be nil.
func NewPreKeyRecord(id uint32, priv *keys.PrivateKey) *PreKeyRecord {
	return &PreKeyRecord{f: recordFields{id: id, public: priv.PublicKey().Bytes(), private: priv.Bytes()}}
}

// ParsePreKeyRecord decodes a PreKeyRecordStructure. It fails with
// ErrInvalidRecord only for malformed protobuf; the keys are checked when
// they are read. Unknown fields are skipped and not kept.
func ParsePreKeyRecord(b []byte) (*PreKeyRecord, error) {
	f, err := decodeRecord(b, false)
	if err != nil {
		return nil, err
	}
	return &PreKeyRecord{f: f}, nil
}

// ID returns the pre-key id.
func (r *PreKeyRecord) ID() uint32 { return r.f.id }

// PublicKey decodes the record's public key.
func (r *PreKeyRecord) PublicKey() (keys.PublicKey, error) {
	return publicECKey(&r.f)
}

// PrivateKey decodes the record's private key and checks that it belongs to
// the public key (ErrKeyMismatch otherwise).
func (r *PreKeyRecord) PrivateKey() (*keys.PrivateKey, error) {
	return privateECKey(&r.f)
}

// AppendBinary appends the record's PreKeyRecordStructure encoding to b, as
// libsignal (prost) writes it: fields in ascending order, zero values
// omitted. The output contains the private key.
func (r *PreKeyRecord) AppendBinary(b []byte) ([]byte, error) {
	return r.f.appendRecord(b, false), nil
}

// MarshalBinary returns the record's PreKeyRecordStructure encoding. The
// output contains the private key.
func (r *PreKeyRecord) MarshalBinary() ([]byte, error) {
	return r.AppendBinary(make([]byte, 0, r.f.size(false)))
}

// Format implements fmt.Formatter: the record prints its id and public key,
// never its private key.
//
// Format has a value receiver so that a record printed by value is
// covered too; fmt prints a nil *PreKeyRecord as <nil>.
func (r PreKeyRecord) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "prekey.PreKeyRecord{id=%d public=%x}", r.f.id, r.f.public)
}

// SignedPreKeyRecord is a stored signed pre-key: its id, key pair, the
// identity key's XEdDSA signature over the serialized public key, and the
// time it was made, in libsignal's SignedPreKeyRecordStructure encoding
// (proto/storage.proto):
//
//	message SignedPreKeyRecordStructure {
//	  uint32  id          = 1;
//	  bytes   public_key  = 2;  // 33 bytes, 0x05 || u
//	  bytes   private_key = 3;  // 32 bytes
//	  bytes   signature   = 4;  // 64 bytes
//	  fixed64 timestamp   = 5;  // milliseconds since the Unix epoch
//	}
//
// Keys are decoded when read, as for [PreKeyRecord]. A record prints only its
// id, public key and timestamp.
type SignedPreKeyRecord struct {
	f recordFields
}

// NewSignedPreKeyRecord returns the record of the signed pre-key priv with
// the given id, signature and creation time. It does not check the
// signature; [GenerateSignedPreKey] makes one. priv must not be nil.
func NewSignedPreKeyRecord(id uint32, priv *keys.PrivateKey, signature []byte, timestamp time.Time) *SignedPreKeyRecord {
	return &SignedPreKeyRecord{f: recordFields{
		id:        id,
		public:    priv.PublicKey().Bytes(),
		private:   priv.Bytes(),
		signature: clone(signature),
		timestamp: uint64(timestamp.UnixMilli()),
	}}
}

// ParseSignedPreKeyRecord decodes a SignedPreKeyRecordStructure. It fails
// with ErrInvalidRecord only for malformed protobuf; the keys are checked
// when they are read. Unknown fields are skipped and not kept.
func ParseSignedPreKeyRecord(b []byte) (*SignedPreKeyRecord, error) {
	f, err := decodeRecord(b, true)
	if err != nil {
		return nil, err
	}
	return &SignedPreKeyRecord{f: f}, nil
}

// ID returns the signed pre-key id.
func (r *SignedPreKeyRecord) ID() uint32 { return r.f.id }

// PublicKey decodes the record's public key.
func (r *SignedPreKeyRecord) PublicKey() (keys.PublicKey, error) {
	return publicECKey(&r.f)
}

// PrivateKey decodes the record's private key and checks that it belongs to
// the public key (ErrKeyMismatch otherwise).
func (r *SignedPreKeyRecord) PrivateKey() (*keys.PrivateKey, error) {
	return privateECKey(&r.f)
}

// Signature returns a copy of the stored signature over the serialized
// public key. It is not checked here; [ParseBundle] checks it.
func (r *SignedPreKeyRecord) Signature() []byte { return clone(r.f.signature) }

// Timestamp returns the time the key was made, with millisecond precision.
func (r *SignedPreKeyRecord) Timestamp() time.Time { return time.UnixMilli(int64(r.f.timestamp)) }

// AppendBinary appends the record's SignedPreKeyRecordStructure encoding to
// b, as libsignal (prost) writes it. The output contains the private key.
func (r *SignedPreKeyRecord) AppendBinary(b []byte) ([]byte, error) {
	return r.f.appendRecord(b, true), nil
}

// MarshalBinary returns the record's SignedPreKeyRecordStructure encoding.
// The output contains the private key.
func (r *SignedPreKeyRecord) MarshalBinary() ([]byte, error) {
	return r.AppendBinary(make([]byte, 0, r.f.size(true)))
}

// Format implements fmt.Formatter: the record prints its id, public key and
// timestamp, never its private key.
//
// Format has a value receiver so that a record printed by value is
// covered too; fmt prints a nil *SignedPreKeyRecord as <nil>.
func (r SignedPreKeyRecord) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "prekey.SignedPreKeyRecord{id=%d public=%x timestamp=%d}", r.f.id, r.f.public, r.f.timestamp)
}

// KyberPreKeyRecord is a stored Kyber (KEM) pre-key. libsignal has no
// structure of its own for it and reuses SignedPreKeyRecordStructure (see
// [SignedPreKeyRecord]) with public_key the serialized KEM public key (1569
// bytes, type byte first), private_key the serialized KEM secret key (3169
// bytes) and signature the identity key's XEdDSA signature over public_key.
//
// Keys are decoded when read, as for [PreKeyRecord]. A record prints only its
// id, KEM type and timestamp.
type KyberPreKeyRecord struct {
	f recordFields
}

// NewKyberPreKeyRecord returns the record of the KEM key pair sk with the
// given id, signature and creation time. It does not check the signature;
// [GenerateKyberPreKey] makes one.
func NewKyberPreKeyRecord(id uint32, sk *kem.SecretKey, signature []byte, timestamp time.Time) *KyberPreKeyRecord {
	return &KyberPreKeyRecord{f: recordFields{
		id:        id,
		public:    sk.PublicKey().Bytes(),
		private:   sk.Bytes(),
		signature: clone(signature),
		timestamp: uint64(timestamp.UnixMilli()),
	}}
}

// ParseKyberPreKeyRecord decodes a Kyber pre-key record (a
// SignedPreKeyRecordStructure). It fails with ErrInvalidRecord only for
// malformed protobuf; the keys are checked when they are read. Unknown fields
// are skipped and not kept.
func ParseKyberPreKeyRecord(b []byte) (*KyberPreKeyRecord, error) {
	f, err := decodeRecord(b, true)
	if err != nil {
		return nil, err
	}
	return &KyberPreKeyRecord{f: f}, nil
}

// ID returns the Kyber pre-key id.
func (r *KyberPreKeyRecord) ID() uint32 { return r.f.id }

// PublicKey decodes the record's KEM public key. Errors wrap kem's
// (kem.ErrKeyLength, kem.ErrUnknownKeyType, kem.ErrInvalidPublicKey).
func (r *KyberPreKeyRecord) PublicKey() (*kem.PublicKey, error) {
	pk, err := kem.ParsePublicKey(r.f.public)
	if err != nil {
		return nil, &FieldError{Field: "public_key", Err: err}
	}
	return pk, nil
}

// SecretKey decodes the record's KEM secret key and checks that it belongs
// to the public key (ErrKeyMismatch otherwise). Errors wrap kem's.
func (r *KyberPreKeyRecord) SecretKey() (*kem.SecretKey, error) {
	pk, err := r.PublicKey()
	if err != nil {
		return nil, err
	}
	sk, err := kem.ParseSecretKey(r.f.private)
	if err != nil {
		return nil, &FieldError{Field: "private_key", Err: err}
	}
	if !sk.PublicKey().Equal(pk) {
		return nil, ErrKeyMismatch
	}
	return sk, nil
}

// Signature returns a copy of the stored signature over the serialized
// public key. It is not checked here; [ParseBundle] checks it.
func (r *KyberPreKeyRecord) Signature() []byte { return clone(r.f.signature) }

// Timestamp returns the time the key was made, with millisecond precision.
func (r *KyberPreKeyRecord) Timestamp() time.Time { return time.UnixMilli(int64(r.f.timestamp)) }

// AppendBinary appends the record's SignedPreKeyRecordStructure encoding to
// b, as libsignal (prost) writes it. The output contains the secret key.
func (r *KyberPreKeyRecord) AppendBinary(b []byte) ([]byte, error) {
	return r.f.appendRecord(b, true), nil
}

// MarshalBinary returns the record's SignedPreKeyRecordStructure encoding.
// The output contains the secret key.
func (r *KyberPreKeyRecord) MarshalBinary() ([]byte, error) {
	return r.AppendBinary(make([]byte, 0, r.f.size(true)))
}

// Format implements fmt.Formatter: the record prints its id, the KEM type
// byte of its public key and its timestamp, never its secret key.
//
// Format has a value receiver so that a record printed by value is
// covered too; fmt prints a nil *KyberPreKeyRecord as <nil>.
func (r KyberPreKeyRecord) Format(f fmt.State, _ rune) {
	typ := "none"
	if len(r.f.public) > 0 {
		typ = kem.Type(r.f.public[0]).String()
	}
	fmt.Fprintf(f, "prekey.KyberPreKeyRecord{id=%d type=%s timestamp=%d}", r.f.id, typ, r.f.timestamp)
}

// publicECKey decodes the public key field of an EC record.
func publicECKey(f *recordFields) (keys.PublicKey, error) {
	k, err := keys.ParsePublicKey(f.public)
	if err != nil {
		return keys.PublicKey{}, &FieldError{Field: "public_key", Err: err}
	}
	return k, nil
}

// privateECKey decodes the private key field of an EC record and checks it
// against the public key field.
func privateECKey(f *recordFields) (*keys.PrivateKey, error) {
	pub, err := publicECKey(f)
	if err != nil {
		return nil, err
	}
	priv, err := keys.ParsePrivateKey(f.private)
	if err != nil {
		return nil, &FieldError{Field: "private_key", Err: err}
	}
	if !priv.PublicKey().Equal(pub) {
		return nil, ErrKeyMismatch
	}
	return priv, nil
}
