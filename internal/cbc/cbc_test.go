package cbc_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/internal/cbc"
	"github.com/ratchetlab/signal/internal/testvectors"
)

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func randKeyIV(r *rand.Rand) (*[32]byte, *[16]byte) {
	return (*[32]byte)(randBytes(r, 32)), (*[16]byte)(randBytes(r, 16))
}

// stdEncrypt is the reference: PKCS#7 padding written out by hand and the
// standard library's CBC mode.
func stdEncrypt(t *testing.T, key *[32]byte, iv *[16]byte, pt []byte) []byte {
	t.Helper()
	p := 16 - len(pt)%16
	buf := append(append([]byte{}, pt...), bytes.Repeat([]byte{byte(p)}, p)...)
	return stdRawEncrypt(t, key, iv, buf)
}

// stdRawEncrypt encrypts whole blocks without padding.
func stdRawEncrypt(t *testing.T, key *[32]byte, iv *[16]byte, blocks []byte) []byte {
	t.Helper()
	b, err := aes.NewCipher(key[:])
	require.NoError(t, err)
	out := make([]byte, len(blocks))
	cipher.NewCBCEncrypter(b, iv[:]).CryptBlocks(out, blocks)
	return out
}

func TestWycheproof(t *testing.T) {
	cases, err := testvectors.AESCBCPKCS5()
	require.NoError(t, err)
	var ran int
	for _, c := range cases {
		if len(c.Key) != 32 {
			continue // only AES-256 applies to this API
		}
		ran++
		t.Run(fmt.Sprintf("tc%d", c.ID), func(t *testing.T) {
			require.Len(t, c.IV, 16)
			key, iv := (*[32]byte)(c.Key), (*[16]byte)(c.IV)
			pt, err := cbc.Decrypt(nil, key, iv, c.CT)
			switch c.Result {
			case testvectors.Valid:
				require.NoError(t, err, c.Comment)
				assert.Equal(t, len(c.Msg), len(pt), c.Comment)
				assert.True(t, bytes.Equal(c.Msg, pt), c.Comment)
				assert.Equal(t, []byte(c.CT), cbc.Encrypt(nil, key, iv, c.Msg), c.Comment)
			case testvectors.Invalid:
				require.ErrorIs(t, err, cbc.ErrDecryption, c.Comment)
				assert.Nil(t, pt)
			default:
				t.Fatalf("unexpected result %q", c.Result)
			}
		})
	}
	assert.Equal(t, 72, ran, "number of AES-256 cases")
}

func TestLibsignalVector(t *testing.T) {
	v, err := testvectors.Libsignal("aes_256_cbc_pkcs7")
	require.NoError(t, err)
	var in struct {
		Key, IV, Plaintext testvectors.Hex
		BadIV              testvectors.Hex `json:"bad_iv"`
	}
	var exp struct {
		Ciphertext         testvectors.Hex
		PlaintextWithBadIV testvectors.Hex `json:"plaintext_with_bad_iv"`
	}
	require.NoError(t, v.Decode(&in, &exp))
	require.Len(t, in.Key, 32)
	key, iv, badIV := (*[32]byte)(in.Key), (*[16]byte)(in.IV), (*[16]byte)(in.BadIV)

	ct := cbc.Encrypt(nil, key, iv, in.Plaintext)
	assert.Equal(t, []byte(exp.Ciphertext), ct)
	pt, err := cbc.Decrypt(nil, key, iv, ct)
	require.NoError(t, err)
	assert.Equal(t, []byte(in.Plaintext), pt)

	// The 10-byte plaintext is not a whole number of blocks.
	pt, err = cbc.Decrypt(nil, key, iv, in.Plaintext)
	require.ErrorIs(t, err, cbc.ErrDecryption)
	assert.Nil(t, pt)
	// The ciphertext used as its own IV gives bad padding.
	pt, err = cbc.Decrypt(nil, key, (*[16]byte)(ct), ct)
	require.ErrorIs(t, err, cbc.ErrDecryption)
	assert.Nil(t, pt)
	// CBC is malleable through the IV: this must succeed.
	pt, err = cbc.Decrypt(nil, key, badIV, ct)
	require.NoError(t, err)
	assert.Equal(t, []byte(exp.PlaintextWithBadIV), pt)
}

func TestRoundTripMatchesStdlib(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{'c', 'b', 'c'}))
	for n := 0; n <= 200; n++ {
		key, iv := randKeyIV(r)
		pt := randBytes(r, n)
		want := stdEncrypt(t, key, iv, pt)
		ct := cbc.Encrypt(nil, key, iv, pt)
		require.Equal(t, want, ct, "length %d", n)
		require.Len(t, ct, n+cbc.Overhead(n))
		got, err := cbc.Decrypt(nil, key, iv, ct)
		require.NoError(t, err, "length %d", n)
		if n == 0 {
			assert.Empty(t, got)
		} else {
			assert.Equal(t, pt, got, "length %d", n)
		}
	}
}

func TestOverhead(t *testing.T) {
	for n, want := range map[int]int{0: 16, 1: 15, 15: 1, 16: 16, 17: 15, 31: 1, 32: 16} {
		assert.Equal(t, want, cbc.Overhead(n), "n=%d", n)
	}
}

func TestAppend(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{'a', 'p', 'p'}))
	key, iv := randKeyIV(r)
	pt := randBytes(r, 37)
	prefix := []byte("prefix")

	for _, spare := range []int{0, 3, 48, 100} {
		dst := append(make([]byte, 0, len(prefix)+spare), prefix...)
		ct := cbc.Encrypt(dst, key, iv, pt)
		assert.Equal(t, append(append([]byte{}, prefix...), stdEncrypt(t, key, iv, pt)...), ct, "spare %d", spare)
		if spare >= 48 {
			assert.Same(t, &dst[:1][0], &ct[0], "spare %d: dst storage reused", spare)
		}

		dst = append(make([]byte, 0, len(prefix)+spare), prefix...)
		got, err := cbc.Decrypt(dst, key, iv, ct[len(prefix):])
		require.NoError(t, err)
		assert.Equal(t, append(append([]byte{}, prefix...), pt...), got, "spare %d", spare)
	}
}

func TestInPlace(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{'i', 'n'}))
	for _, n := range []int{0, 1, 15, 16, 17, 100} {
		key, iv := randKeyIV(r)
		pt := randBytes(r, n)
		want := stdEncrypt(t, key, iv, pt)

		buf := make([]byte, n, n+16)
		copy(buf, pt)
		ct := cbc.Encrypt(buf[:0], key, iv, buf)
		require.Equal(t, want, ct, "in-place encrypt, length %d", n)
		assert.Same(t, &buf[:1][0], &ct[0], "in-place encrypt reuses the buffer")

		got, err := cbc.Decrypt(ct[:0], key, iv, ct)
		require.NoError(t, err)
		assert.Equal(t, pt, got[:len(got):len(got)], "in-place decrypt, length %d", n)
		assert.Same(t, &buf[:1][0], &got[:1][0], "in-place decrypt reuses the buffer")
	}
}

func TestOverlapPanics(t *testing.T) {
	var key [32]byte
	var iv [16]byte
	buf := make([]byte, 64)
	// Output starting one byte after the input: a caller bug, not peer input.
	assert.Panics(t, func() { cbc.Encrypt(buf[1:1], &key, &iv, buf[:32]) })
	assert.Panics(t, func() { cbc.Decrypt(buf[1:1], &key, &iv, buf[:32]) })
}

func TestBadLengths(t *testing.T) {
	var key [32]byte
	var iv [16]byte
	for _, n := range []int{0, 1, 15, 17, 31, 33, 47} {
		pt, err := cbc.Decrypt(nil, &key, &iv, make([]byte, n))
		require.ErrorIs(t, err, cbc.ErrDecryption, "length %d", n)
		assert.Nil(t, pt, "length %d", n)
	}
	pt, err := cbc.Decrypt([]byte("kept"), &key, &iv, nil)
	require.ErrorIs(t, err, cbc.ErrDecryption)
	assert.Nil(t, pt)
}

// refUnpad is a plain (not constant-time) PKCS#7 check used as the reference.
func refUnpad(b []byte) ([]byte, bool) {
	p := int(b[len(b)-1])
	if p < 1 || p > 16 {
		return nil, false
	}
	for _, c := range b[len(b)-p:] {
		if int(c) != p {
			return nil, false
		}
	}
	return b[:len(b)-p], true
}

// TestPaddingExhaustive decrypts chosen final blocks: for every value of the
// last byte, a block made only of that value and blocks with one other byte
// changed, compared with a straightforward reference check.
func TestPaddingExhaustive(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{'p', 'a', 'd'}))
	key, iv := randKeyIV(r)
	first := randBytes(r, 16)
	check := func(last []byte) {
		t.Helper()
		plain := append(append([]byte{}, first...), last...)
		ct := stdRawEncrypt(t, key, iv, plain)
		got, err := cbc.Decrypt(nil, key, iv, ct)
		want, ok := refUnpad(plain)
		if ok {
			require.NoError(t, err, "last block %x", last)
			assert.Equal(t, want, got, "last block %x", last)
		} else {
			require.ErrorIs(t, err, cbc.ErrDecryption, "last block %x", last)
			assert.Nil(t, got)
		}
	}
	var valid int
	for p := range 256 {
		last := bytes.Repeat([]byte{byte(p)}, 16)
		check(last)
		if p >= 1 && p <= 16 {
			valid++
		}
		for j := range 15 {
			for _, d := range []byte{1, 0x80, 0xff} {
				mod := bytes.Clone(last)
				mod[j] ^= d
				check(mod)
			}
		}
	}
	assert.Equal(t, 16, valid)
}

// TestCorruptLastBlock changes every byte of the last ciphertext block to
// every other value: the result must be rejected or decrypt to a different
// plaintext.
func TestCorruptLastBlock(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{'c', 'o', 'r'}))
	for _, n := range []int{0, 5, 16, 33} {
		key, iv := randKeyIV(r)
		pt := randBytes(r, n)
		ct := cbc.Encrypt(nil, key, iv, pt)
		bad := make([]byte, len(ct))
		out := make([]byte, 0, len(ct))
		for i := len(ct) - 16; i < len(ct); i++ {
			for d := 1; d < 256; d++ {
				copy(bad, ct)
				bad[i] ^= byte(d)
				got, err := cbc.Decrypt(out[:0], key, iv, bad)
				if err != nil {
					require.ErrorIs(t, err, cbc.ErrDecryption)
					require.Nil(t, got)
					continue
				}
				require.False(t, bytes.Equal(pt, got), "n=%d: corruption at %d by %#x went unnoticed", n, i, d)
			}
		}
	}
}

// TestErrorClearsOutput checks that a failed decryption leaves no plaintext
// in dst's spare capacity.
func TestErrorClearsOutput(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{'c', 'l', 'r'}))
	key, iv := randKeyIV(r)
	pt := bytes.Repeat([]byte("secret plaintext"), 4) // 64 bytes, whole blocks
	// Encrypt without padding: decrypting gives pt, whose last byte 't' is
	// not a valid pad.
	ct := stdRawEncrypt(t, key, iv, pt)
	dst := make([]byte, 3, 3+len(ct))
	copy(dst, "abc")
	got, err := cbc.Decrypt(dst, key, iv, ct)
	require.ErrorIs(t, err, cbc.ErrDecryption)
	assert.Nil(t, got)
	assert.Equal(t, []byte("abc"), dst, "dst itself is untouched")
	spare := dst[3 : 3+len(ct)]
	assert.Equal(t, make([]byte, len(ct)), spare, "spare capacity cleared")
	assert.NotContains(t, string(spare), "secret")
}

func TestErrorIsNotSecret(t *testing.T) {
	var key [32]byte
	var iv [16]byte
	_, err := cbc.Decrypt(nil, &key, &iv, make([]byte, 32))
	require.ErrorIs(t, err, cbc.ErrDecryption)
	assert.Equal(t, cbc.ErrDecryption.Error(), err.Error(), "a single error with no details")
}

func TestAllocations(t *testing.T) {
	if raceEnabled || testing.CoverMode() != "" {
		t.Skip("race and coverage instrumentation change allocation behaviour")
	}
	var key [32]byte
	var iv [16]byte
	pt := make([]byte, 100)
	out := make([]byte, 0, 1024)
	ct := cbc.Encrypt(nil, &key, &iv, pt)
	var err error
	// One allocation: crypto/aes.NewCipher's key schedule.
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { out = cbc.Encrypt(out[:0], &key, &iv, pt) }), "Encrypt")
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { out, err = cbc.Decrypt(out[:0], &key, &iv, ct) }), "Decrypt")
	require.NoError(t, err)
}
