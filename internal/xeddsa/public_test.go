package xeddsa_test

import (
	"crypto/ecdh"
	"crypto/rand"
	"testing"

	"github.com/ratchetlab/signal/internal/xeddsa"
)

// TestSignWithPublic checks that SignWithPublic with PublicEdwards gives
// Sign's signature, and that a wrong public key gives one that fails.
func TestSignWithPublic(t *testing.T) {
	for range 20 {
		var priv [32]byte
		var z [64]byte
		rand.Read(priv[:])
		rand.Read(z[:])
		msg := []byte("sender key message")
		a := xeddsa.PublicEdwards(&priv)
		if xeddsa.Sign(&priv, &z, msg) != xeddsa.SignWithPublic(&priv, &a, &z, msg) {
			t.Fatal("SignWithPublic differs from Sign")
		}
		a[31] ^= 0x80
		sig := xeddsa.SignWithPublic(&priv, &a, &z, msg)
		k, err := ecdh.X25519().NewPrivateKey(priv[:])
		if err != nil {
			t.Fatal(err)
		}
		u := [32]byte(k.PublicKey().Bytes())
		if xeddsa.Verify(&u, sig[:], msg) {
			t.Fatal("a signature with the wrong public key verifies")
		}
		a[31] ^= 0x80
		sig = xeddsa.SignWithPublic(&priv, &a, &z, msg)
		if !xeddsa.Verify(&u, sig[:], msg) {
			t.Fatal("signature does not verify")
		}
	}
}
