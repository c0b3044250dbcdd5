package whatsapp_test

import (
	"bytes"
	"fmt"
	"log"
	"strings"

	"github.com/ratchetlab/signal/attachment/whatsapp"
)

// The sender encrypts a voice note; the recipient checks and decrypts it
// with the values from the AudioMessage.
func ExampleEncrypt() {
	mediaKey := whatsapp.GenerateMediaKey()
	var upload bytes.Buffer
	res, err := whatsapp.Encrypt(&upload, strings.NewReader("OggS... a voice note"), mediaKey, whatsapp.Audio)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("file length:", res.FileLength, "upload length:", res.UploadLength)

	pt, err := whatsapp.Decrypt(upload.Bytes(), mediaKey, whatsapp.Audio, whatsapp.Expect{
		FileEncSHA256: res.FileEncSHA256[:], FileSHA256: res.FileSHA256[:], FileLength: res.FileLength,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(pt))

	// The same key under another media type gives other keys.
	_, err = whatsapp.Decrypt(upload.Bytes(), mediaKey, whatsapp.Video, whatsapp.Expect{FileLength: -1})
	fmt.Println(err)
	// Output:
	// file length: 20 upload length: 42
	// OggS... a voice note
	// attachment: MAC mismatch
}
