package interop

// WhatsApp media interop: our attachment/whatsapp package against the media
// code of go.mau.fi/whatsmeow, the Go WhatsApp client. whatsmeow's own
// media functions (Client.Upload, Client.Download*) need a connected
// client and the network, and its key expansion (getMediaKeys) is
// unexported, so this test calls the exported, offline building blocks
// those functions are made of, with the same arguments they use:
//
//   - util/hkdfutil.SHA256(mediaKey, nil, []byte(appInfo), 112), split
//     16/32/32/32 into IV, cipher key, MAC key and ref key (getMediaKeys in
//     download.go);
//   - util/cbcutil.EncryptStream(cipherKey, iv, macKey, plaintext, w), which
//     UploadReader uses to produce the upload, FileSHA256, FileEncSHA256
//     and the lengths;
//   - the download path's checks: HMAC-SHA256(macKey, iv || ciphertext)[:10]
//     (validateMedia) and util/cbcutil.Decrypt(cipherKey, iv, ciphertext).
//
// Only those two leaf packages are imported, which keeps whatsmeow's many
// dependencies (websocket, zerolog, protobuf, ...) out of the build.

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mau.fi/whatsmeow/util/cbcutil"
	"go.mau.fi/whatsmeow/util/hkdfutil"

	"github.com/ratchetlab/signal/attachment/whatsapp"
)

// whatsmeow's MediaType values (download.go), spelled out: importing the
// root package would pull in the whole client.
var whatsmeowMediaTypes = map[whatsapp.MediaType]string{
	whatsapp.Image:         "WhatsApp Image Keys",
	whatsapp.Video:         "WhatsApp Video Keys",
	whatsapp.Audio:         "WhatsApp Audio Keys",
	whatsapp.Document:      "WhatsApp Document Keys",
	whatsapp.History:       "WhatsApp History Keys",
	whatsapp.AppState:      "WhatsApp App State Keys",
	whatsapp.StickerPack:   "WhatsApp Sticker Pack Keys",
	whatsapp.LinkThumbnail: "WhatsApp Link Thumbnail Keys",
}

func TestWhatsAppMediaKeysWhatsmeow(t *testing.T) {
	for ours, info := range whatsmeowMediaTypes {
		mk := whatsapp.GenerateMediaKey()
		x := hkdfutil.SHA256(mk[:], nil, []byte(info), 112)
		k := whatsapp.ExpandMediaKey(mk, ours)
		assert.Equal(t, x[:16], k.IV(), info)
		assert.Equal(t, x[16:48], k.CipherKey(), info)
		assert.Equal(t, x[48:80], k.MACKey(), info)
		assert.Equal(t, x[80:], k.RefKey(), info)
	}
}

func TestWhatsAppMediaWhatsmeow(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 16))
	// Sizes around whatsmeow's 32 KiB read buffer and our 64 KiB one.
	for _, n := range []int{0, 1, 15, 16, 17, 32<<10 - 1, 32 << 10, 32<<10 + 1, 64 << 10, 1<<20 + 5} {
		for ours, info := range whatsmeowMediaTypes {
			t.Run(fmt.Sprintf("%d/%s", n, info), func(t *testing.T) {
				pt := make([]byte, n)
				for i := range pt {
					pt[i] = byte(rng.Uint32())
				}
				mk := whatsapp.GenerateMediaKey()
				x := hkdfutil.SHA256(mk[:], nil, []byte(info), 112)
				iv, cipherKey, macKey := x[:16], x[16:48], x[48:80]

				// whatsmeow encrypts; we compare and decrypt.
				var theirs bytes.Buffer
				fileSHA, encSHA, size, upSize, err := cbcutil.EncryptStream(cipherKey, iv, macKey, bytes.NewReader(pt), &theirs)
				require.NoError(t, err)
				var mine bytes.Buffer
				res, err := whatsapp.Encrypt(&mine, bytes.NewReader(pt), mk, ours)
				require.NoError(t, err)
				assert.True(t, bytes.Equal(theirs.Bytes(), mine.Bytes()), "uploads differ")
				assert.Equal(t, fileSHA, res.FileSHA256[:])
				assert.Equal(t, encSHA, res.FileEncSHA256[:])
				assert.Equal(t, size, uint64(res.FileLength))
				assert.Equal(t, upSize, uint64(res.UploadLength))

				got, err := whatsapp.Decrypt(theirs.Bytes(), mk, ours, whatsapp.Expect{
					FileEncSHA256: encSHA, FileSHA256: fileSHA, FileLength: int64(size),
				})
				require.NoError(t, err)
				assert.True(t, bytes.Equal(pt, got), "our decryption of whatsmeow's upload")

				// We encrypt; whatsmeow's download checks and decrypts.
				up := mine.Bytes()
				ct, tag := up[:len(up)-10], up[len(up)-10:]
				h := hmac.New(sha256.New, macKey)
				h.Write(iv)
				h.Write(ct)
				assert.True(t, hmac.Equal(h.Sum(nil)[:10], tag), "validateMedia")
				theirPT, err := cbcutil.Decrypt(cipherKey, iv, bytes.Clone(ct))
				require.NoError(t, err)
				assert.True(t, bytes.Equal(pt, theirPT), "whatsmeow's decryption of our upload")
				assert.Equal(t, sha256.Sum256(up), res.FileEncSHA256)
			})
		}
	}
}
