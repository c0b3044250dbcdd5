package senderkey_test

import (
	"bytes"
	"testing"

	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/senderkey"
)

// vectorSeeds adds the recorded messages, SKDMs and records.
func vectorSeeds(f *testing.F) {
	v, err := testvectors.LibsignalSenderKeys()
	if err != nil {
		f.Fatal(err)
	}
	for _, g := range v.Groups {
		f.Add([]byte(g.SKDM))
		f.Add([]byte(g.SenderRecord))
		f.Add([]byte(g.ReceiverRecordAfterDeliveries))
		for _, m := range g.Messages {
			f.Add([]byte(m.Ciphertext))
		}
	}
}

func FuzzParseMessage(f *testing.F) {
	vectorSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, enc := range formats {
			m, err := senderkey.ParseMessage(b, enc)
			if err != nil {
				continue
			}
			if !bytes.Equal(m.Bytes(), b) || m.Version != senderkey.Version {
				t.Fatal("Bytes differs from input or bad version accepted")
			}
		}
	})
}

func FuzzParseDistributionMessage(f *testing.F) {
	vectorSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, enc := range formats {
			d, err := senderkey.ParseDistributionMessage(b, enc)
			if err != nil {
				if d != nil {
					t.Fatal("message returned with an error")
				}
				continue
			}
			out, err := d.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			d2, err := senderkey.ParseDistributionMessage(out, enc)
			if err != nil || *d2 != *d {
				t.Fatalf("re-encoding does not parse back: %v", err)
			}
		}
	})
}

func FuzzParseRecord(f *testing.F) {
	vectorSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := senderkey.ParseRecord(b)
		if err != nil {
			if r != nil {
				t.Fatal("record returned with an error")
			}
			return
		}
		out, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		r2, err := senderkey.ParseRecord(out)
		if err != nil {
			t.Fatal(err)
		}
		out2, _ := r2.MarshalBinary()
		if !bytes.Equal(out, out2) {
			t.Fatal("encoding not stable")
		}
	})
}

// FuzzDecrypt decrypts arbitrary bytes with a receiver's record: no panic,
// and a failure leaves the record unchanged.
func FuzzDecrypt(f *testing.F) {
	v, err := testvectors.LibsignalSenderKeys()
	if err != nil {
		f.Fatal(err)
	}
	g := v.Groups[0]
	d, err := senderkey.ParseDistributionMessage(g.SKDM, senderkey.Libsignal)
	if err != nil {
		f.Fatal(err)
	}
	base := senderkey.NewRecord()
	base.Process(d)
	for _, m := range g.Messages {
		f.Add([]byte(m.Ciphertext), false)
	}
	f.Add([]byte(g.Messages[0].Ciphertext), true)
	f.Fuzz(func(t *testing.T, b []byte, legacy bool) {
		enc := senderkey.Libsignal
		if legacy {
			enc = senderkey.WhatsApp
		}
		r := base.Clone()
		// Advance past a message first so that skipped keys exist.
		if m, err := senderkey.ParseMessage(g.Messages[3].Ciphertext, senderkey.Libsignal); err == nil {
			if _, err := r.Decrypt(nil, &m); err != nil {
				t.Fatal(err)
			}
		}
		before, _ := r.MarshalBinary()
		m, err := senderkey.ParseMessage(b, enc)
		if err != nil {
			return
		}
		if _, err := r.Decrypt(nil, &m); err != nil {
			after, _ := r.MarshalBinary()
			if !bytes.Equal(before, after) {
				t.Fatal("failed decrypt changed the record")
			}
		}
	})
}

func FuzzParseDistributionID(f *testing.F) {
	f.Add("d1571b00-0000-4000-8000-0000000000d1")
	f.Add("D1571B00-0000-4000-8000-0000000000D1")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := senderkey.ParseDistributionID(s)
		if err != nil {
			return
		}
		back, err := senderkey.ParseDistributionID(id.String())
		if err != nil || back != id {
			t.Fatal("String does not parse back")
		}
	})
}
