package whatsapp

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/ratchetlab/signal/attachment"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func hmacSHA256(key []byte, parts ...[]byte) []byte {
	h := hmac.New(sha256.New, key)
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// refHKDF is RFC 5869 HKDF-SHA256 written out from the RFC (extract with a
// zero salt of hash length when none is given, then T(i) = HMAC(PRK,
// T(i-1) || info || i)), independent of crypto/hkdf.
func refHKDF(ikm, salt, info []byte, n int) []byte {
	if salt == nil {
		salt = make([]byte, sha256.Size)
	}
	prk := hmacSHA256(salt, ikm)
	var out, t []byte
	for i := byte(1); len(out) < n; i++ {
		t = hmacSHA256(prk, t, info, []byte{i})
		out = append(out, t...)
	}
	return out[:n]
}

func TestRefHKDFMatchesRFC5869(t *testing.T) {
	// RFC 5869 A.3: SHA-256 with zero-length salt and info.
	ikm := bytes.Repeat([]byte{0x0b}, 22)
	want, _ := hex.DecodeString("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")
	assert.Equal(t, want, refHKDF(ikm, nil, nil, 42))
}

var allTypes = []MediaType{Image, Video, Audio, Document, History, AppState, StickerPack, LinkThumbnail}

func TestExpandMediaKey(t *testing.T) {
	// The info strings, spelled out as WhatsApp's clients use them.
	assert.Equal(t, []string{"WhatsApp Image Keys", "WhatsApp Video Keys", "WhatsApp Audio Keys",
		"WhatsApp Document Keys", "WhatsApp History Keys", "WhatsApp App State Keys",
		"WhatsApp Sticker Pack Keys", "WhatsApp Link Thumbnail Keys"},
		func() (s []string) {
			for _, m := range allTypes {
				s = append(s, string(m))
			}
			return
		}())
	mk := GenerateMediaKey()
	for _, m := range allTypes {
		want := refHKDF(mk[:], nil, []byte(m), 112)
		k := ExpandMediaKey(mk, m)
		assert.Equal(t, want[:16], k.IV(), "%s IV", m)
		assert.Equal(t, want[16:48], k.CipherKey(), "%s cipher key", m)
		assert.Equal(t, want[48:80], k.MACKey(), "%s MAC key", m)
		assert.Equal(t, want[80:], k.RefKey(), "%s ref key", m)
		for _, f := range []string{"%v", "%+v", "%#v", "%x", "%s"} {
			assert.Equal(t, "whatsapp.Keys{…}", fmt.Sprintf(f, k))
			assert.Equal(t, "whatsapp.Keys{…}", fmt.Sprintf(f, *k))
		}
	}
}

// refUpload builds an upload from the definition with one-shot calls.
func refUpload(mk *[32]byte, m MediaType, pt []byte) []byte {
	x := refHKDF(mk[:], nil, []byte(m), 112)
	iv, ck, mack := x[:16], x[16:48], x[48:80]
	p := 16 - len(pt)%16
	data := append(append([]byte(nil), pt...), bytes.Repeat([]byte{byte(p)}, p)...)
	b, _ := aes.NewCipher(ck)
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(data, data)
	return append(data, hmacSHA256(mack, iv, data)[:10]...)
}

func TestEncryptMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 15, 16, 17, 1000, 64<<10 - 1, 64 << 10, 64<<10 + 1, 300_000} {
		for _, m := range []MediaType{Image, Document} {
			t.Run(fmt.Sprint(n, m), func(t *testing.T) {
				pt := make([]byte, n)
				for i := range pt {
					pt[i] = byte(rng.Uint32())
				}
				mk := GenerateMediaKey()
				want := refUpload(mk, m, pt)
				var buf bytes.Buffer
				res, err := Encrypt(&buf, iotest.HalfReader(bytes.NewReader(pt)), mk, m)
				require.NoError(t, err)
				assert.True(t, bytes.Equal(want, buf.Bytes()), "upload")
				assert.Equal(t, sha256.Sum256(pt), res.FileSHA256)
				assert.Equal(t, sha256.Sum256(want), res.FileEncSHA256)
				assert.Equal(t, int64(n), res.FileLength)
				assert.Equal(t, int64(len(want)), res.UploadLength)

				exp := Expect{FileEncSHA256: res.FileEncSHA256[:], FileSHA256: res.FileSHA256[:], FileLength: int64(n)}
				got, err := Decrypt(want, mk, m, exp)
				require.NoError(t, err)
				assert.True(t, bytes.Equal(pt, got), "Decrypt")
				r, err := Open(bytes.NewReader(want), int64(len(want)), mk, m, Expect{FileLength: -1})
				require.NoError(t, err)
				got, err = io.ReadAll(iotest.OneByteReader(r))
				require.NoError(t, err)
				assert.True(t, bytes.Equal(pt, got), "Open")
			})
		}
	}
}

func TestBadInput(t *testing.T) {
	mk := GenerateMediaKey()
	pt := []byte(strings.Repeat("media ", 100))
	up := refUpload(mk, Audio, pt)
	encSHA, fileSHA := sha256.Sum256(up), sha256.Sum256(pt)
	good := Expect{FileEncSHA256: encSHA[:], FileSHA256: fileSHA[:], FileLength: int64(len(pt))}
	flip := func(i int) []byte {
		b := bytes.Clone(up)
		b[i] ^= 1
		return b
	}
	// A correctly MACed ciphertext with bad padding.
	x := refHKDF(mk[:], nil, []byte(Audio), 112)
	badPad := make([]byte, 32)
	blk, _ := aes.NewCipher(x[16:48])
	cipher.NewCBCEncrypter(blk, x[:16]).CryptBlocks(badPad, badPad)
	badPad = append(badPad, hmacSHA256(x[48:80], x[:16], badPad)[:10]...)
	wrong := func(b []byte) []byte { c := bytes.Clone(b); c[0] ^= 1; return c }

	for _, c := range []struct {
		name string
		up   []byte
		mt   MediaType
		exp  Expect
		want error
	}{
		{"empty", nil, Audio, good, attachment.ErrTruncated},
		{"MAC only", up[len(up)-10:], Audio, good, attachment.ErrTruncated},
		{"one byte short", up[:len(up)-1], Audio, good, attachment.ErrTruncated},
		{"flipped first byte", flip(0), Audio, good, attachment.ErrBadMAC},
		{"flipped MAC", flip(len(up) - 1), Audio, good, attachment.ErrBadMAC},
		{"other media type", up, Video, good, attachment.ErrBadMAC},
		{"one block short", append(bytes.Clone(up[:len(up)-26]), up[len(up)-10:]...), Audio, good, attachment.ErrBadMAC},
		{"wrong FileEncSHA256", up, Audio, Expect{FileEncSHA256: wrong(encSHA[:]), FileLength: -1}, attachment.ErrBadDigest},
		{"wrong FileSHA256", up, Audio, Expect{FileSHA256: wrong(fileSHA[:]), FileLength: -1}, attachment.ErrBadDigest},
		{"wrong FileLength", up, Audio, Expect{FileLength: int64(len(pt)) + 1}, attachment.ErrTruncated},
		{"bad padding", badPad, Audio, Expect{FileLength: -1}, attachment.ErrBadPadding},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Decrypt(c.up, mk, c.mt, c.exp)
			assert.ErrorIs(t, err, c.want)
			assert.ErrorIs(t, err, attachment.ErrDecryption)
			assert.Nil(t, got)
			r, err := Open(bytes.NewReader(c.up), int64(len(c.up)), mk, c.mt, c.exp)
			assert.ErrorIs(t, err, c.want)
			assert.Nil(t, r)
		})
	}
	_, err := Decrypt(up, mk, Audio, Expect{FileSHA256: make([]byte, 31)})
	assert.ErrorIs(t, err, attachment.ErrInvalidParams)
}

// changingReaderAt returns the upload on the first pass and a modified
// upload afterwards, as a file rewritten between Open's passes would.
type changingReaderAt struct {
	a, b    []byte
	changed bool
}

func (c *changingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if c.changed {
		return bytesReaderAt(c.b).ReadAt(p, off)
	}
	return bytesReaderAt(c.a).ReadAt(p, off)
}

func TestReaderDetectsChangeAfterOpen(t *testing.T) {
	mk := GenerateMediaKey()
	up := refUpload(mk, Image, make([]byte, 1000))
	changed := bytes.Clone(up)
	changed[500] ^= 1
	src := &changingReaderAt{a: up, b: changed}
	r, err := Open(src, int64(len(up)), mk, Image, Expect{FileLength: -1})
	require.NoError(t, err)
	src.changed = true
	got, err := io.ReadAll(r)
	assert.ErrorIs(t, err, attachment.ErrBadMAC)
	assert.Empty(t, got, "one-chunk upload: nothing released")
}

// FuzzOpen decrypts arbitrary uploads; with fixMAC the fuzzer's bytes get a
// correct MAC so that the padding checks are exercised.
func FuzzOpen(f *testing.F) {
	mk := &[32]byte{1, 2, 3}
	f.Add(refUpload(mk, Image, []byte("hello")), false)
	f.Add(refUpload(mk, Image, nil), false)
	f.Add(make([]byte, 32), true)
	f.Add([]byte{}, true)
	x := refHKDF(mk[:], nil, []byte(Image), 112)
	f.Fuzz(func(t *testing.T, body []byte, fixMAC bool) {
		up := body
		if fixMAC {
			up = append(bytes.Clone(body), hmacSHA256(x[48:80], x[:16], body)[:10]...)
		}
		got, err := Decrypt(up, mk, Image, Expect{FileLength: -1})
		// Reference: length, MAC, padding by the definition.
		valid := len(up) >= 26 && (len(up)-10)%16 == 0 &&
			hmac.Equal(hmacSHA256(x[48:80], x[:16], up[:len(up)-10])[:10], up[len(up)-10:])
		var want []byte
		if valid {
			ct := bytes.Clone(up[:len(up)-10])
			b, _ := aes.NewCipher(x[16:48])
			cipher.NewCBCDecrypter(b, x[:16]).CryptBlocks(ct, ct)
			p := int(ct[len(ct)-1])
			valid = p >= 1 && p <= 16 && bytes.Equal(ct[len(ct)-p:], bytes.Repeat([]byte{byte(p)}, p))
			if valid {
				want = ct[:len(ct)-p]
			}
		}
		if err != nil {
			if !errors.Is(err, attachment.ErrDecryption) || got != nil || valid {
				t.Fatalf("err %v, got %d bytes, valid %v", err, len(got), valid)
			}
			return
		}
		if !valid || !bytes.Equal(got, want) {
			t.Fatalf("accepted invalid upload or wrong plaintext")
		}
	})
}
