package kem_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/kem"
)

func prefixed(t kem.Type, raw []byte) []byte { return append([]byte{byte(t)}, raw...) }

// TestWycheproofMLKEM1024 runs mlkem_1024_test.json (FIPS 203 and C2SP CCTV
// strcmp cases): derive the key pair from the 64-byte seed d || z, check the
// encapsulation key, then decapsulate c and check K.
func TestWycheproofMLKEM1024(t *testing.T) {
	cases, err := testvectors.MLKEM1024()
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	var valid, strcmp int
	for _, c := range cases {
		t.Run(fmt.Sprintf("tc%d", c.ID), func(t *testing.T) {
			sk, err := kem.NewKeyFromSeed(kem.MLKEM1024, c.Seed)
			if len(c.Seed) != 64 {
				require.Equal(t, testvectors.Invalid, c.Result, c.Comment)
				require.ErrorIs(t, err, kem.ErrSeedLength)
				assert.Nil(t, sk)
				return
			}
			require.NoError(t, err)
			if c.EK != nil {
				assert.Equal(t, prefixed(kem.MLKEM1024, c.EK), sk.PublicKey().Bytes(), "ek")
			}
			// The expanded key survives serialization.
			sk, err = kem.ParseSecretKey(sk.Bytes())
			require.NoError(t, err)

			ss, err := sk.Decapsulate(prefixed(kem.MLKEM1024, c.C))
			if c.Result == testvectors.Invalid {
				require.NotEqual(t, 1568, len(c.C), "invalid case with a well-formed input: %s", c.Comment)
				require.ErrorIs(t, err, kem.ErrCiphertextLength)
				assert.Equal(t, [32]byte{}, ss)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.K, ss[:], "K")
			valid++
			if c.HasFlag("Strcmp") {
				strcmp++
			}
		})
	}
	assert.Greater(t, valid, 100)
	assert.Equal(t, 1, strcmp, "CCTV strcmp case ran")
}

// TestWycheproofMLKEM1024Encaps runs mlkem_1024_encaps_test.json:
// deterministic encapsulation with m for valid keys, rejection by
// ParsePublicKey for malformed ones (wrong length or, including the C2SP
// CCTV ModulusOverflow cases, a coefficient not reduced modulo q).
func TestWycheproofMLKEM1024Encaps(t *testing.T) {
	cases, err := testvectors.MLKEM1024Encaps()
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	var valid, overflow int
	for _, c := range cases {
		t.Run(fmt.Sprintf("tc%d", c.ID), func(t *testing.T) {
			pk, err := kem.ParsePublicKey(prefixed(kem.MLKEM1024, c.EK))
			if c.Result == testvectors.Invalid {
				if len(c.EK) != 1568 {
					require.ErrorIs(t, err, kem.ErrKeyLength, c.Comment)
				} else {
					require.ErrorIs(t, err, kem.ErrInvalidPublicKey, c.Comment)
					// Kyber1024 keys get the same modulus check.
					_, err = kem.ParsePublicKey(prefixed(kem.Kyber1024, c.EK))
					require.ErrorIs(t, err, kem.ErrInvalidPublicKey, c.Comment)
					if c.HasFlag("ModulusOverflow") {
						overflow++
					}
				}
				assert.Nil(t, pk)
				return
			}
			require.NoError(t, err, c.Comment)
			ct, ss, err := kem.EncapsulateDeterministic(pk, c.M)
			require.NoError(t, err)
			assert.Equal(t, prefixed(kem.MLKEM1024, c.C), ct, "c")
			assert.Equal(t, c.K, ss[:], "K")
			valid++
		})
	}
	assert.Greater(t, valid, 100)
	assert.Equal(t, 16, overflow, "CCTV ModulusOverflow cases ran")
}
