package prekey_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
)

// The fuzz targets of this file take inputs of several kilobytes (Kyber
// keys); run them with a short minimization budget, or the fuzzer spends its
// time minimizing one input:
//
//	go test -run '^$' -fuzz '^FuzzParseBundle$' -fuzztime 20s -fuzzminimizetime 1s ./prekey

// FuzzParseBundle checks that ParseBundle never panics, returns nil with
// every error, and that an accepted bundle gives back exactly its input
// fields (ParseBundle accepts only canonical encodings) and parses again.
func FuzzParseBundle(f *testing.F) {
	tr, err := testvectors.LibsignalV072Transcript()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range tr.Sessions {
		r := rawFromVector(s.Bundle)
		f.Add(r.IdentityKey, r.SignedPreKey, r.SignedPreKeySignature, r.PreKey, r.KyberPreKey, r.KyberPreKeySignature, r.PreKeyID)
		f.Add(r.IdentityKey, r.SignedPreKey, r.SignedPreKeySignature, []byte(nil), r.KyberPreKey, []byte(nil), r.PreKeyID)
		if len(r.KyberPreKey) > 0 {
			f.Add(r.IdentityKey[:32], r.SignedPreKey, r.SignedPreKeySignature[:63], r.PreKey, r.KyberPreKey[:100], r.KyberPreKeySignature, uint32(0))
		}
	}
	f.Fuzz(func(t *testing.T, ik, spk, spkSig, opk, kyber, kyberSig []byte, opkID uint32) {
		raw := prekey.RawBundle{
			RegistrationID: 1, DeviceID: 2, IdentityKey: ik, SignedPreKeyID: 3, SignedPreKey: spk,
			SignedPreKeySignature: spkSig, PreKeyID: opkID, PreKey: opk, KyberPreKeyID: 4,
			KyberPreKey: kyber, KyberPreKeySignature: kyberSig,
		}
		b, err := prekey.ParseBundle(raw)
		if err != nil {
			if b != nil {
				t.Fatal("bundle returned with an error")
			}
			if err.Error() == "" {
				t.Fatal("empty error text")
			}
			return
		}
		back := b.Raw()
		if len(opk) == 0 {
			raw.PreKeyID, raw.PreKey = 0, nil
		}
		if len(kyber) == 0 {
			raw.KyberPreKeyID, raw.KyberPreKey, raw.KyberPreKeySignature = 0, nil, nil
		}
		if !equalRaw(raw, back) {
			t.Fatalf("Raw() = %+v, want %+v", back, raw)
		}
		if _, err := prekey.ParseBundle(back); err != nil {
			t.Fatalf("re-parse: %v", err)
		}
	})
}

func equalRaw(a, b prekey.RawBundle) bool {
	return a.RegistrationID == b.RegistrationID && a.DeviceID == b.DeviceID &&
		a.SignedPreKeyID == b.SignedPreKeyID && a.PreKeyID == b.PreKeyID && a.KyberPreKeyID == b.KyberPreKeyID &&
		bytes.Equal(a.IdentityKey, b.IdentityKey) && bytes.Equal(a.SignedPreKey, b.SignedPreKey) &&
		bytes.Equal(a.SignedPreKeySignature, b.SignedPreKeySignature) && bytes.Equal(a.PreKey, b.PreKey) &&
		bytes.Equal(a.KyberPreKey, b.KyberPreKey) && bytes.Equal(a.KyberPreKeySignature, b.KyberPreKeySignature)
}

// recordSeeds returns libsignal's empty-key records, the byte 00, and
// encodings of generated records.
func recordSeeds(f *testing.F, gen func() []byte) {
	f.Helper()
	for _, h := range []string{"082a12001a00", "082a12001a002200290000000000000000", "00", "", "0807", "4b"} {
		b, err := hex.DecodeString(h)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(gen())
}

// record is what the three record types have in common.
type record interface {
	MarshalBinary() ([]byte, error)
	ID() uint32
}

// checkRecord asserts the fuzz invariants shared by the record parsers: no
// panic, nil with an error, only ErrInvalidRecord for malformed bytes, and
// for accepted input a re-encoding that parses to an equivalent record whose
// encoding is the same (encode∘parse is idempotent).
func checkRecord[R record](t *testing.T, in []byte, parse func([]byte) (R, error), same func(a, b R) bool) (R, bool) {
	var zero R
	r, err := parse(in)
	if err != nil {
		if !errors.Is(err, prekey.ErrInvalidRecord) {
			t.Fatalf("error %v does not wrap ErrInvalidRecord", err)
		}
		return zero, false
	}
	enc, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	r2, err := parse(enc)
	if err != nil {
		t.Fatalf("re-encoding does not parse: %v", err)
	}
	enc2, err := r2.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, enc2) || r.ID() != r2.ID() || !same(r, r2) {
		t.Fatalf("re-encoded record differs:\n%x\n%x", enc, enc2)
	}
	if len(enc) > len(in) {
		t.Fatalf("re-encoding (%d bytes) longer than the input (%d bytes)", len(enc), len(in))
	}
	return r, true
}

// sameECKeys reports whether two EC records decode to the same keys, or fail
// with the same error.
func sameECKeys(pa, pb func() (keys.PublicKey, error), sa, sb func() (*keys.PrivateKey, error)) bool {
	ka, ea := pa()
	kb, eb := pb()
	if ka != kb || (ea == nil) != (eb == nil) || (ea != nil && ea.Error() != eb.Error()) {
		return false
	}
	xa, ea := sa()
	xb, eb := sb()
	if (ea == nil) != (eb == nil) || (ea != nil && ea.Error() != eb.Error()) {
		return false
	}
	return xa == nil || bytes.Equal(xa.Bytes(), xb.Bytes())
}

func FuzzParsePreKeyRecord(f *testing.F) {
	recordSeeds(f, func() []byte {
		rs, err := prekey.GeneratePreKeys(7, 1)
		if err != nil {
			f.Fatal(err)
		}
		b, _ := rs[0].MarshalBinary()
		return b
	})
	f.Fuzz(func(t *testing.T, in []byte) {
		checkRecord(t, in, prekey.ParsePreKeyRecord, func(a, b *prekey.PreKeyRecord) bool {
			return sameECKeys(a.PublicKey, b.PublicKey, a.PrivateKey, b.PrivateKey)
		})
	})
}

func FuzzParseSignedPreKeyRecord(f *testing.F) {
	recordSeeds(f, func() []byte {
		id, err := keys.GeneratePrivateKey()
		if err != nil {
			f.Fatal(err)
		}
		r, err := prekey.GenerateSignedPreKey(id, 7, time.UnixMilli(1700000000000))
		if err != nil {
			f.Fatal(err)
		}
		b, _ := r.MarshalBinary()
		return b
	})
	f.Fuzz(func(t *testing.T, in []byte) {
		checkRecord(t, in, prekey.ParseSignedPreKeyRecord, func(a, b *prekey.SignedPreKeyRecord) bool {
			return bytes.Equal(a.Signature(), b.Signature()) && a.Timestamp().Equal(b.Timestamp()) &&
				sameECKeys(a.PublicKey, b.PublicKey, a.PrivateKey, b.PrivateKey)
		})
	})
}

func FuzzParseKyberPreKeyRecord(f *testing.F) {
	recordSeeds(f, func() []byte {
		id, err := keys.GeneratePrivateKey()
		if err != nil {
			f.Fatal(err)
		}
		r, err := prekey.GenerateKyberPreKey(id, 7, kem.Kyber1024, time.UnixMilli(1700000000000))
		if err != nil {
			f.Fatal(err)
		}
		b, _ := r.MarshalBinary()
		return b
	})
	f.Fuzz(func(t *testing.T, in []byte) {
		checkRecord(t, in, prekey.ParseKyberPreKeyRecord, func(a, b *prekey.KyberPreKeyRecord) bool {
			if !bytes.Equal(a.Signature(), b.Signature()) || !a.Timestamp().Equal(b.Timestamp()) {
				return false
			}
			pa, ea := a.PublicKey()
			pb, eb := b.PublicKey()
			if (ea == nil) != (eb == nil) || (ea == nil && !pa.Equal(pb)) {
				return false
			}
			sa, ea := a.SecretKey()
			sb, eb := b.SecretKey()
			if (ea == nil) != (eb == nil) {
				return false
			}
			return ea != nil || bytes.Equal(sa.Bytes(), sb.Bytes())
		})
	})
}
