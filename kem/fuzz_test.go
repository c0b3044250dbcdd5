package kem_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/kem"
)

// FuzzParsePublicKey: no panic; on error a nil key; on success the key
// re-serializes to exactly the input.
func FuzzParsePublicKey(f *testing.F) {
	for _, typ := range types {
		pub, _ := libsignalKeys(f, typ)
		f.Add(pub)
		f.Add(pub[:len(pub)-1])
		f.Add(append(bytes.Clone(pub), 0))
	}
	if cases, err := testvectors.MLKEM1024Encaps(); err == nil {
		for _, c := range cases {
			if c.HasFlag("ModulusOverflow") {
				f.Add(prefixed(kem.MLKEM1024, c.EK))
				f.Add(prefixed(kem.Kyber1024, c.EK))
				break
			}
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0x08})
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		pk, err := kem.ParsePublicKey(in)
		assert.Equal(t, orig, in, "input modified")
		if err != nil {
			assert.Nil(t, pk)
			return
		}
		require.NotNil(t, pk)
		assert.Equal(t, in, pk.Bytes())
		assert.Equal(t, kem.Type(in[0]), pk.Type())
	})
}

// FuzzParseSecretKey: no panic; on error a nil key; on success the key
// re-serializes to exactly the input and its public key is the embedded ek.
func FuzzParseSecretKey(f *testing.F) {
	for _, typ := range types {
		_, sec := libsignalKeys(f, typ)
		f.Add(sec)
		f.Add(sec[:len(sec)-1])
		f.Add(append(bytes.Clone(sec), 0))
	}
	f.Add([]byte{})
	f.Add([]byte{0x0a})
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		sk, err := kem.ParseSecretKey(in)
		assert.Equal(t, orig, in, "input modified")
		if err != nil {
			assert.Nil(t, sk)
			return
		}
		require.NotNil(t, sk)
		assert.Equal(t, in, sk.Bytes())
		assert.Equal(t, kem.Type(in[0]), sk.Type())
		assert.Equal(t, append([]byte{in[0]}, in[1+1536:1+3104]...), sk.PublicKey().Bytes())
	})
}

// FuzzDecapsulate: no panic; on error a zero secret; on success the input
// was a ciphertext of the key's type and length, and decapsulating again
// gives the same secret.
func FuzzDecapsulate(f *testing.F) {
	keys := make([]*kem.SecretKey, len(types))
	for i, typ := range types {
		_, sec := libsignalKeys(f, typ)
		sk, err := kem.ParseSecretKey(sec)
		require.NoError(f, err)
		keys[i] = sk
		ct, _, err := kem.EncapsulateDeterministic(sk.PublicKey(), make([]byte, 32))
		require.NoError(f, err)
		f.Add(uint8(i), ct)
		f.Add(uint8(1-i), ct)
		f.Add(uint8(i), ct[:len(ct)-1])
	}
	f.Add(uint8(0), []byte{})
	f.Fuzz(func(t *testing.T, which uint8, ct []byte) {
		sk := keys[int(which)%len(keys)]
		orig := bytes.Clone(ct)
		ss, err := sk.Decapsulate(ct)
		assert.Equal(t, orig, ct, "input modified")
		if err != nil {
			assert.Equal(t, [32]byte{}, ss)
			return
		}
		require.Len(t, ct, kem.CiphertextSize)
		assert.Equal(t, byte(sk.Type()), ct[0])
		again, err := sk.Decapsulate(ct)
		require.NoError(t, err)
		assert.Equal(t, ss, again)
	})
}
