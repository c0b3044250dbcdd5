package gcmsiv_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/internal/gcmsiv"
	"github.com/ratchetlab/signal/internal/testvectors"
)

// TestWycheproof runs every AES-256 case of Wycheproof's
// aes_gcm_siv_test.json, which includes RFC 8452 Appendix C.2 (the cases
// commented "RFC 8452").
func TestWycheproof(t *testing.T) {
	cases, err := testvectors.AESGCMSIV()
	require.NoError(t, err)
	n, rfc := 0, 0
	for _, c := range cases {
		if len(c.Key) != gcmsiv.KeySize {
			continue
		}
		n++
		if c.Comment == "RFC 8452" {
			rfc++
		}
		a, err := gcmsiv.New(c.Key)
		require.NoError(t, err)
		ct := append(append([]byte{}, c.CT...), c.Tag...)
		if len(c.IV) != gcmsiv.NonceSize {
			t.Fatalf("case %d: nonce size %d", c.ID, len(c.IV))
		}
		pt, err := a.Open(nil, c.IV, ct, c.AAD)
		switch c.Result {
		case testvectors.Valid:
			if assert.NoError(t, err, "case %d (%s)", c.ID, c.Comment) {
				assert.Equal(t, hex.EncodeToString(c.Msg), hex.EncodeToString(pt), "case %d", c.ID)
			}
			assert.Equal(t, hex.EncodeToString(ct), hex.EncodeToString(a.Seal(nil, c.IV, c.Msg, c.AAD)), "case %d seal", c.ID)
		case testvectors.Invalid:
			assert.ErrorIs(t, err, gcmsiv.ErrOpen, "case %d (%s)", c.ID, c.Comment)
			assert.Nil(t, pt, "case %d", c.ID)
		default:
			t.Fatalf("case %d: unexpected result %q", c.ID, c.Result)
		}
	}
	require.Greater(t, n, 90, "AES-256 cases")
	require.GreaterOrEqual(t, rfc, 10, "RFC 8452 cases")
}

// TestLibsignalVector checks the vector libsignal's Node tests use (RFC 8452
// Appendix C.2, with AAD).
func TestLibsignalVector(t *testing.T) {
	v, err := testvectors.Libsignal("aes_256_gcm_siv_rfc8452")
	require.NoError(t, err)
	var in struct{ Key, Nonce, AAD, Plaintext testvectors.Hex }
	var exp struct {
		CiphertextWithTag testvectors.Hex `json:"ciphertext_with_tag"`
	}
	require.NoError(t, v.Decode(&in, &exp))
	a, err := gcmsiv.New(in.Key)
	require.NoError(t, err)
	assert.Equal(t, []byte(exp.CiphertextWithTag), a.Seal(nil, in.Nonce, in.Plaintext, in.AAD))
	pt, err := a.Open(nil, in.Nonce, exp.CiphertextWithTag, in.AAD)
	require.NoError(t, err)
	assert.Equal(t, []byte(in.Plaintext), pt)
}

func TestOpenRejects(t *testing.T) {
	a, err := gcmsiv.New(make([]byte, 32))
	require.NoError(t, err)
	nonce := make([]byte, 12)
	ct := a.Seal(nil, nonce, []byte("hello sealed sender"), nil)
	for i := range ct {
		for bit := 0; bit < 8; bit++ {
			c := append([]byte{}, ct...)
			c[i] ^= 1 << bit
			pt, err := a.Open(nil, nonce, c, nil)
			if !errors.Is(err, gcmsiv.ErrOpen) || pt != nil {
				t.Fatalf("flip byte %d bit %d: got %x, %v", i, bit, pt, err)
			}
		}
	}
	for n := 0; n < gcmsiv.TagSize; n++ {
		_, err := a.Open(nil, nonce, ct[:n], nil)
		assert.ErrorIs(t, err, gcmsiv.ErrOpen, "length %d", n)
	}
	_, err = a.Open(nil, nonce, ct, []byte("aad"))
	assert.ErrorIs(t, err, gcmsiv.ErrOpen)
	_, err = gcmsiv.New(make([]byte, 16))
	assert.Error(t, err)
}

// TestInPlace checks Seal and Open with dst aliasing the input.
func TestInPlace(t *testing.T) {
	a, err := gcmsiv.New(bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	nonce := make([]byte, 12)
	msg := []byte("in place message of some length, longer than a block")
	buf := make([]byte, len(msg), len(msg)+gcmsiv.TagSize)
	copy(buf, msg)
	ct := a.Seal(buf[:0], nonce, buf, nil)
	want := a.Seal(nil, nonce, msg, nil)
	require.Equal(t, want, ct)
	pt, err := a.Open(ct[:0], nonce, ct, nil)
	require.NoError(t, err)
	assert.Equal(t, msg, pt)
}

func FuzzOpen(f *testing.F) {
	f.Add(make([]byte, 32), []byte{})
	f.Add(make([]byte, 32), make([]byte, 16))
	f.Add(make([]byte, 32), make([]byte, 40))
	f.Fuzz(func(t *testing.T, key, ct []byte) {
		var k [32]byte
		copy(k[:], key)
		a, err := gcmsiv.New(k[:])
		if err != nil {
			t.Fatal(err)
		}
		nonce := make([]byte, 12)
		pt, err := a.Open(nil, nonce, ct, nil)
		if err != nil {
			if !errors.Is(err, gcmsiv.ErrOpen) || pt != nil {
				t.Fatalf("error %v with output %x", err, pt)
			}
			return
		}
		if got := a.Seal(nil, nonce, pt, nil); !bytes.Equal(got, ct) {
			t.Fatalf("re-seal differs")
		}
	})
}

func BenchmarkSeal(b *testing.B) {
	for _, n := range []int{64, 1024, 8192} {
		b.Run(byteSize(n), func(b *testing.B) {
			a, _ := gcmsiv.New(make([]byte, 32))
			nonce := make([]byte, 12)
			pt := make([]byte, n)
			out := make([]byte, 0, n+16)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				out = a.Seal(out[:0], nonce, pt, nil)
			}
		})
	}
}

func byteSize(n int) string { return strconv.Itoa(n) + "B" }
