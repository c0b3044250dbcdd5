package prekey_test

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

// TestStorageRecordsWithEmptyKeys runs libsignal's testBadPreKeyRecords
// (SessionRecordTest.java): records with empty keys parse, because keys are
// decoded lazily, but reading the key pair fails; the byte 00 does not parse.
func TestStorageRecordsWithEmptyKeys(t *testing.T) {
	v, err := testvectors.Libsignal("storage_records_with_empty_keys")
	require.NoError(t, err)
	var cases []struct {
		Record    string `json:"record"`
		Bytes     string `json:"bytes"`
		ParseOK   bool   `json:"parse_ok"`
		KeyPairOK *bool  `json:"key_pair_ok"`
	}
	require.NoError(t, json.Unmarshal(v.Cases, &cases))
	require.Len(t, cases, 4)

	for _, c := range cases {
		b := unhex(t, c.Bytes)
		t.Run(c.Record+"/"+c.Bytes, func(t *testing.T) {
			if !c.ParseOK {
				_, err := prekey.ParsePreKeyRecord(b)
				require.ErrorIs(t, err, prekey.ErrInvalidRecord)
				_, err = prekey.ParseSignedPreKeyRecord(b)
				require.ErrorIs(t, err, prekey.ErrInvalidRecord)
				_, err = prekey.ParseKyberPreKeyRecord(b)
				require.ErrorIs(t, err, prekey.ErrInvalidRecord)
				return
			}
			require.NotNil(t, c.KeyPairOK)
			require.False(t, *c.KeyPairOK)
			var fe *prekey.FieldError
			switch c.Record {
			case "PreKeyRecord":
				r, err := prekey.ParsePreKeyRecord(b)
				require.NoError(t, err)
				assert.Equal(t, uint32(42), r.ID())
				_, err = r.PublicKey()
				require.ErrorIs(t, err, keys.ErrNoKeyType)
				require.ErrorAs(t, err, &fe)
				assert.Equal(t, "public_key", fe.Field)
				_, err = r.PrivateKey()
				require.ErrorIs(t, err, keys.ErrNoKeyType)
			case "SignedPreKeyRecord":
				r, err := prekey.ParseSignedPreKeyRecord(b)
				require.NoError(t, err)
				assert.Equal(t, uint32(42), r.ID())
				assert.Empty(t, r.Signature())
				assert.Equal(t, int64(0), r.Timestamp().UnixMilli())
				_, err = r.PublicKey()
				require.ErrorIs(t, err, keys.ErrNoKeyType)
				_, err = r.PrivateKey()
				require.ErrorIs(t, err, keys.ErrNoKeyType)
			case "KyberPreKeyRecord":
				r, err := prekey.ParseKyberPreKeyRecord(b)
				require.NoError(t, err)
				assert.Equal(t, uint32(42), r.ID())
				_, err = r.PublicKey()
				require.ErrorIs(t, err, kem.ErrKeyLength)
				require.ErrorAs(t, err, &fe)
				assert.Equal(t, "public_key", fe.Field)
				_, err = r.SecretKey()
				require.ErrorIs(t, err, kem.ErrKeyLength)
			default:
				t.Fatalf("unknown record %q", c.Record)
			}
		})
	}
}

// TestRecordEncodingLayout checks the encodings of records built from
// libsignal's transcript keys against the byte layout of libsignal rust/protocol/src/proto/storage.proto,
// written out by hand: tags 08 (id), 12 (public), 1a (private), 22
// (signature), 29 (timestamp, fixed64 little-endian).
func TestRecordEncodingLayout(t *testing.T) {
	tr, err := testvectors.LibsignalV072Transcript()
	require.NoError(t, err)
	s := tr.Session("pqxdh")
	require.NotNil(t, s)
	bob := s.Bob

	opk, err := keys.ParsePrivateKey(bob.PreKeyPriv)
	require.NoError(t, err)
	r := prekey.NewPreKeyRecord(*bob.PreKeyID, opk)
	got, err := r.MarshalBinary()
	require.NoError(t, err)
	want := concat([]byte{0x08, 33, 0x12, 33}, bob.PreKeyPub, []byte{0x1a, 32}, bob.PreKeyPriv)
	assert.Equal(t, want, got)

	spk, err := keys.ParsePrivateKey(bob.SignedPreKeyPriv)
	require.NoError(t, err)
	ts := time.UnixMilli(int64(bob.SignedPreKeyTimestam))
	sr := prekey.NewSignedPreKeyRecord(bob.SignedPreKeyID, spk, s.Bundle.SignedPreKeySignature, ts)
	got, err = sr.MarshalBinary()
	require.NoError(t, err)
	// 1700000000000 = 0x18BCFE56800
	tsLE := []byte{0x00, 0x68, 0xe5, 0xcf, 0x8b, 0x01, 0x00, 0x00}
	want = concat([]byte{0x08, 22, 0x12, 33}, bob.SignedPreKeyPub, []byte{0x1a, 32}, bob.SignedPreKeyPriv,
		[]byte{0x22, 64}, s.Bundle.SignedPreKeySignature, []byte{0x29}, tsLE)
	assert.Equal(t, want, got)

	sk, err := kem.ParseSecretKey(bob.KyberPreKeyPriv)
	require.NoError(t, err)
	kr := prekey.NewKyberPreKeyRecord(*bob.KyberPreKeyID, sk, s.Bundle.KyberPreKeySignature, ts)
	got, err = kr.MarshalBinary()
	require.NoError(t, err)
	// Lengths 1569 and 3169 as varints: a1 0c and e1 18.
	want = concat([]byte{0x08, 44, 0x12, 0xa1, 0x0c}, bob.KyberPreKeyPub, []byte{0x1a, 0xe1, 0x18}, bob.KyberPreKeyPriv,
		[]byte{0x22, 64}, s.Bundle.KyberPreKeySignature, []byte{0x29}, tsLE)
	assert.Equal(t, want, got)

	// And back: every field and key decodes.
	kr2, err := prekey.ParseKyberPreKeyRecord(got)
	require.NoError(t, err)
	assert.Equal(t, uint32(44), kr2.ID())
	assert.Equal(t, ts, kr2.Timestamp())
	assert.Equal(t, []byte(s.Bundle.KyberPreKeySignature), kr2.Signature())
	sk2, err := kr2.SecretKey()
	require.NoError(t, err)
	assert.Equal(t, []byte(bob.KyberPreKeyPriv), sk2.Bytes())
	sr2, err := prekey.ParseSignedPreKeyRecord(want[:0:0])
	require.NoError(t, err)
	assert.Equal(t, uint32(0), sr2.ID())
}

// storageDescriptor describes libsignal's two record structures (proto3) for
// the protobuf runtime, so records can be checked against an independent
// protobuf implementation.
func storageDescriptor(t *testing.T) (pre, signed protoreflect.MessageDescriptor) {
	t.Helper()
	field := func(name string, num int32, typ descriptorpb.FieldDescriptorProto_Type) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{
			Name: proto.String(name), Number: proto.Int32(num), Type: typ.Enum(),
			Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), JsonName: proto.String(name),
		}
	}
	u32, bs, f64 := descriptorpb.FieldDescriptorProto_TYPE_UINT32, descriptorpb.FieldDescriptorProto_TYPE_BYTES, descriptorpb.FieldDescriptorProto_TYPE_FIXED64
	fd := &descriptorpb.FileDescriptorProto{
		Name: proto.String("storage_test.proto"), Package: proto.String("signal.test"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("PreKeyRecordStructure"), Field: []*descriptorpb.FieldDescriptorProto{
				field("id", 1, u32), field("public_key", 2, bs), field("private_key", 3, bs),
			}},
			{Name: proto.String("SignedPreKeyRecordStructure"), Field: []*descriptorpb.FieldDescriptorProto{
				field("id", 1, u32), field("public_key", 2, bs), field("private_key", 3, bs),
				field("signature", 4, bs), field("timestamp", 5, f64),
			}},
		},
	}
	f, err := protodesc.NewFile(fd, nil)
	require.NoError(t, err)
	return f.Messages().Get(0), f.Messages().Get(1)
}

// TestRecordsAgainstProtobufRuntime decodes generated records with the
// protobuf runtime (dynamicpb) and decodes the runtime's encodings with this
// package.
func TestRecordsAgainstProtobufRuntime(t *testing.T) {
	preDesc, signedDesc := storageDescriptor(t)
	id := genIdentity(t)
	ts := time.UnixMilli(1712345678901)

	pres, err := prekey.GeneratePreKeys(0xfffffffe, 3)
	require.NoError(t, err)
	require.Len(t, pres, 3)
	assert.Equal(t, []uint32{0xfffffffe, 0xffffffff, 0}, []uint32{pres[0].ID(), pres[1].ID(), pres[2].ID()})
	for _, r := range pres {
		enc, err := r.MarshalBinary()
		require.NoError(t, err)
		m := dynamicpb.NewMessage(preDesc)
		require.NoError(t, proto.Unmarshal(enc, m))
		pub, err := r.PublicKey()
		require.NoError(t, err)
		priv, err := r.PrivateKey()
		require.NoError(t, err)
		assert.Equal(t, uint64(r.ID()), uint64(m.Get(preDesc.Fields().ByNumber(1)).Uint()))
		assert.Equal(t, pub.Bytes(), m.Get(preDesc.Fields().ByNumber(2)).Bytes())
		assert.Equal(t, priv.Bytes(), m.Get(preDesc.Fields().ByNumber(3)).Bytes())

		// The runtime's encoding parses to the same record.
		enc2, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		require.NoError(t, err)
		r2, err := prekey.ParsePreKeyRecord(enc2)
		require.NoError(t, err)
		enc3, err := r2.MarshalBinary()
		require.NoError(t, err)
		assert.Equal(t, enc, enc3)
	}

	spk, err := prekey.GenerateSignedPreKey(id, 5, ts)
	require.NoError(t, err)
	kpk, err := prekey.GenerateKyberPreKey(id, 6, kem.Kyber1024, ts)
	require.NoError(t, err)
	type signedRecord interface {
		MarshalBinary() ([]byte, error)
		ID() uint32
		Signature() []byte
		Timestamp() time.Time
	}
	for _, r := range []signedRecord{spk, kpk} {
		enc, err := r.MarshalBinary()
		require.NoError(t, err)
		m := dynamicpb.NewMessage(signedDesc)
		require.NoError(t, proto.Unmarshal(enc, m))
		assert.Equal(t, uint64(r.ID()), m.Get(signedDesc.Fields().ByNumber(1)).Uint())
		assert.Equal(t, r.Signature(), m.Get(signedDesc.Fields().ByNumber(4)).Bytes())
		assert.Equal(t, uint64(1712345678901), m.Get(signedDesc.Fields().ByNumber(5)).Uint())
		assert.Equal(t, ts, r.Timestamp())
	}
	pub, err := spk.PublicKey()
	require.NoError(t, err)
	assert.True(t, id.PublicKey().VerifySignature(spk.Signature(), pub.Bytes()))
	kpub, err := kpk.PublicKey()
	require.NoError(t, err)
	assert.True(t, id.PublicKey().VerifySignature(kpk.Signature(), kpub.Bytes()))

	// A message written by the runtime with fields out of order and an
	// unknown field parses; the unknown field is dropped on re-encoding.
	m := dynamicpb.NewMessage(signedDesc)
	m.Set(signedDesc.Fields().ByNumber(5), protoreflect.ValueOfUint64(77))
	m.Set(signedDesc.Fields().ByNumber(1), protoreflect.ValueOfUint32(9))
	enc, err := proto.Marshal(m)
	require.NoError(t, err)
	enc = append([]byte{0x3a, 0x02, 0xaa, 0xbb}, enc...) // field 7, bytes
	r, err := prekey.ParseSignedPreKeyRecord(enc)
	require.NoError(t, err)
	assert.Equal(t, uint32(9), r.ID())
	assert.Equal(t, int64(77), r.Timestamp().UnixMilli())
	out, err := r.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, []byte{0x08, 0x09, 0x29, 77, 0, 0, 0, 0, 0, 0, 0}, out)
}

func TestMalformedRecords(t *testing.T) {
	cases := map[string]string{
		"field number 0":               "00",
		"truncated tag":                "80",
		"truncated id":                 "08",
		"id beyond 32 bits":            "088080808010",
		"id as bytes":                  "0a0101",
		"public key as varint":         "1001",
		"private key as fixed32":       "1d01020304",
		"length beyond input":          "122105",
		"truncated unknown varint":     "4880",
		"unterminated unknown group":   "4b",
		"wire type 6":                  "0e",
		"overlong varint":              "08ffffffffffffffffffff01",
		"end group without start":      "0c",
		"truncated unknown fixed64":    "49010203",
		"signed: signature as varint":  "2001",
		"signed: timestamp as varint":  "2801",
		"signed: truncated timestamp":  "290102",
		"signed: timestamp as fixed32": "2d01020304",
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			b := unhex(t, h)
			r, err := prekey.ParseSignedPreKeyRecord(b)
			require.ErrorIs(t, err, prekey.ErrInvalidRecord)
			assert.Nil(t, r)
			k, err := prekey.ParseKyberPreKeyRecord(b)
			require.ErrorIs(t, err, prekey.ErrInvalidRecord)
			assert.Nil(t, k)
			p, err := prekey.ParsePreKeyRecord(b)
			if strings.HasPrefix(name, "signed: ") {
				// Fields 4 and 5 are unknown to PreKeyRecordStructure and
				// skipped whatever their wire type, if well formed.
				if err != nil {
					require.ErrorIs(t, err, prekey.ErrInvalidRecord)
				}
				return
			}
			require.ErrorIs(t, err, prekey.ErrInvalidRecord)
			assert.Nil(t, p)
		})
	}
	// Fields 4 and 5 of a pre-key record are unknown and skipped.
	p, err := prekey.ParsePreKeyRecord(unhex(t, "082a2001290102030405060708"))
	require.NoError(t, err)
	assert.Equal(t, uint32(42), p.ID())
	out, err := p.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, unhex(t, "082a"), out)
	// A repeated field keeps its last value.
	p, err = prekey.ParsePreKeyRecord(unhex(t, "082a0807"))
	require.NoError(t, err)
	assert.Equal(t, uint32(7), p.ID())
}

func TestRecordKeyMismatch(t *testing.T) {
	a, err := prekey.GeneratePreKeys(1, 2)
	require.NoError(t, err)
	encA, err := a[0].MarshalBinary()
	require.NoError(t, err)
	encB, err := a[1].MarshalBinary()
	require.NoError(t, err)
	// Record a's fields, then b's private key field (last one wins).
	mixed := append(append([]byte(nil), encA...), encB[len(encB)-34:]...)
	r, err := prekey.ParsePreKeyRecord(mixed)
	require.NoError(t, err)
	_, err = r.PublicKey()
	require.NoError(t, err)
	_, err = r.PrivateKey()
	require.ErrorIs(t, err, prekey.ErrKeyMismatch)

	// A short private key is a key-length error.
	_, err = prekey.ParsePreKeyRecord(append(append([]byte(nil), encA...), 0x1a, 0x01, 0x00))
	require.NoError(t, err)
	r, _ = prekey.ParsePreKeyRecord(append(append([]byte(nil), encA...), 0x1a, 0x01, 0x00))
	_, err = r.PrivateKey()
	require.ErrorIs(t, err, keys.ErrKeyLength)
	var fe *prekey.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "private_key", fe.Field)

	id := genIdentity(t)
	k1, err := prekey.GenerateKyberPreKey(id, 1, kem.Kyber1024, time.Now())
	require.NoError(t, err)
	k2, err := prekey.GenerateKyberPreKey(id, 2, kem.Kyber1024, time.Now())
	require.NoError(t, err)
	e1, err := k1.MarshalBinary()
	require.NoError(t, err)
	sk2, err := k2.SecretKey()
	require.NoError(t, err)
	mixedKyber := append(append([]byte(nil), e1...), append([]byte{0x1a, 0xe1, 0x18}, sk2.Bytes()...)...)
	kr, err := prekey.ParseKyberPreKeyRecord(mixedKyber)
	require.NoError(t, err)
	_, err = kr.SecretKey()
	require.ErrorIs(t, err, prekey.ErrKeyMismatch)

	// A secret key of another KEM type is a mismatch too.
	k3, err := prekey.GenerateKyberPreKey(id, 3, kem.MLKEM1024, time.Now())
	require.NoError(t, err)
	sk3, err := k3.SecretKey()
	require.NoError(t, err)
	kr, err = prekey.ParseKyberPreKeyRecord(append(append([]byte(nil), e1...), append([]byte{0x1a, 0xe1, 0x18}, sk3.Bytes()...)...))
	require.NoError(t, err)
	_, err = kr.SecretKey()
	require.ErrorIs(t, err, prekey.ErrKeyMismatch)
}

func TestGeneratePreKeys(t *testing.T) {
	rs, err := prekey.GeneratePreKeys(10, 0)
	require.NoError(t, err)
	assert.Empty(t, rs)
	_, err = prekey.GeneratePreKeys(10, -1)
	require.Error(t, err)
	rs, err = prekey.GeneratePreKeys(10, 4)
	require.NoError(t, err)
	seen := map[keys.PublicKey]bool{}
	for i, r := range rs {
		assert.Equal(t, uint32(10+i), r.ID())
		pub, err := r.PublicKey()
		require.NoError(t, err)
		priv, err := r.PrivateKey()
		require.NoError(t, err)
		assert.Equal(t, pub, priv.PublicKey())
		assert.False(t, seen[pub])
		seen[pub] = true
	}
	_, err = prekey.GenerateKyberPreKey(genIdentity(t), 1, kem.Type(0x07), time.Now())
	require.ErrorIs(t, err, kem.ErrUnknownKeyType)
	_, err = prekey.GenerateKyberPreKey(nil, 1, kem.Kyber1024, time.Now())
	require.Error(t, err)
	_, err = prekey.GenerateSignedPreKey(nil, 1, time.Now())
	require.Error(t, err)
}

// TestRecordsDoNotPrintSecrets formats each record type with every common
// verb and checks that no part of the private key appears.
func TestRecordsDoNotPrintSecrets(t *testing.T) {
	id := genIdentity(t)
	pres, err := prekey.GeneratePreKeys(1, 1)
	require.NoError(t, err)
	spk, err := prekey.GenerateSignedPreKey(id, 2, time.Now())
	require.NoError(t, err)
	kpk, err := prekey.GenerateKyberPreKey(id, 3, kem.Kyber1024, time.Now())
	require.NoError(t, err)
	p1, err := pres[0].PrivateKey()
	require.NoError(t, err)
	p2, err := spk.PrivateKey()
	require.NoError(t, err)
	sk, err := kpk.SecretKey()
	require.NoError(t, err)
	// From the secret part of the KEM key (dk_pke), and z at its end.
	skb := sk.Bytes()
	secrets := [][]byte{p1.Bytes(), p2.Bytes(), skb[1:33], skb[len(skb)-32:]}

	for _, v := range []any{pres[0], spk, kpk, *pres[0], *spk, *kpk, []any{pres[0], spk, kpk}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%x", "%X", "%s", "%q", "%d"} {
			out := strings.ToLower(fmt.Sprintf(verb, v))
			for _, s := range secrets {
				assert.NotContains(t, out, hex.EncodeToString(s[:6]), "%s of %T", verb, v)
				assert.NotContains(t, out, strings.Trim(fmt.Sprint(s[:6]), "[]"), "%s of %T", verb, v)
				assert.NotContains(t, out, fmt.Sprintf("%q", s[:6])[1:8], "%s of %T", verb, v)
			}
		}
	}
	assert.Equal(t, "prekey.PreKeyRecord{id=1 public="+hex.EncodeToString(mustPub(t, pres[0]))+"}", fmt.Sprint(pres[0]))
	assert.Contains(t, fmt.Sprint(kpk), "type=Kyber1024")
	assert.Equal(t, "<nil>", fmt.Sprint((*prekey.PreKeyRecord)(nil)))
	assert.Equal(t, "<nil>", fmt.Sprint((*prekey.KyberPreKeyRecord)(nil)))
}

func mustPub(t *testing.T, r *prekey.PreKeyRecord) []byte {
	t.Helper()
	p, err := r.PublicKey()
	require.NoError(t, err)
	return p.Bytes()
}
