package kdf_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ratchetlab/signal/kdf"
)

func TestAllocations(t *testing.T) {
	if raceEnabled || testing.CoverMode() != "" {
		t.Skip("race and coverage instrumentation change allocation behaviour")
	}
	var (
		k1, k2 = [32]byte{1}, [32]byte{2}
		dh     = [][]byte{k1[:], k2[:], k1[:], k2[:]}
		buf    = make([]byte, 0, 200)
		long   = make([]byte, 300)
	)
	for name, f := range map[string]func(){
		"ChainStep":                func() { k1, k2 = kdf.ChainStep(&k1) },
		"RootStep":                 func() { k1, k2 = kdf.RootStep(&k1, &k2) },
		"DeriveMessageKeys":        func() { mk := kdf.DeriveMessageKeys(&k1, nil); k2 = mk.MACKey },
		"DeriveMessageKeys salted": func() { mk := kdf.DeriveMessageKeys(&k1, &k2); k2 = mk.MACKey },
		"DeriveGroupMessageKeys":   func() { _, k2 = kdf.DeriveGroupMessageKeys(&k1) },
		"X3DH":                     func() { k1, k2 = kdf.X3DH(dh[0], dh[1], dh[2], dh[3]) },
		"X3DH slice":               func() { k1, k2 = kdf.X3DH(dh...) },
		"PQXDH":                    func() { k1, k2, _ = kdf.PQXDH(dh[0], dh[1], dh[2], dh[3], k2[:]) },
		"HMAC":                     func() { k1 = kdf.HMAC(k2[:], long, k1[:]) },
		"HMAC long key":            func() { k1 = kdf.HMAC(long, k2[:]) },
		"Extract":                  func() { k1 = kdf.Extract(k2[:], long) },
		"Extract no salt":          func() { k1 = kdf.Extract(nil, long) },
		"Expand":                   func() { buf = kdf.Expand(buf[:0], k1[:], long, 200) },
		"HKDF":                     func() { buf = kdf.HKDF(buf[:0], long, k1[:], long, 200) },
	} {
		assert.Zero(t, testing.AllocsPerRun(100, f), name)
	}
}
