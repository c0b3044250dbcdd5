package attachment_test

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/ratchetlab/signal/attachment"
)

// Alice encrypts a file for upload with an incremental MAC; Bob downloads
// it and decrypts it as a stream, chunk by verified chunk.
func ExampleNewIncrementalWriter() {
	photo := strings.Repeat("not really a JPEG. ", 10_000) // 190 kB

	// Alice: a fresh key per attachment; the chunk size follows from the
	// size of the upload.
	key := attachment.GenerateKey()
	chunk := attachment.ChunkSize(attachment.UploadSize(attachment.PaddedSize(int64(len(photo)))))
	var upload bytes.Buffer // in practice, the HTTP request body
	w := attachment.NewIncrementalWriter(&upload, key, chunk)
	if _, err := io.Copy(w, strings.NewReader(photo)); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	// The AttachmentPointer sent to Bob in the encrypted message.
	keyBytes, size, digest, mac := key.Bytes(), w.PlaintextSize(), w.Digest(), w.IncrementalMAC()

	// Bob: decrypt while downloading.
	bobKey, err := attachment.NewKey(keyBytes)
	if err != nil {
		log.Fatal(err)
	}
	r, err := attachment.NewReader(&upload, bobKey, attachment.Params{
		PlaintextSize: size, Digest: digest, IncrementalMAC: mac, ChunkSize: chunk,
	})
	if err != nil {
		log.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		log.Fatal(err) // errors.Is(err, attachment.ErrDecryption)
	}
	fmt.Println(len(got), string(got) == photo)
	// Output: 190000 true
}

// Bob decrypts an attachment without an incremental MAC from a file (here
// a bytes.Reader): Open verifies the whole upload before returning any
// plaintext.
func ExampleOpen() {
	key := attachment.GenerateKey()
	var upload bytes.Buffer
	w := attachment.NewWriter(&upload, key)
	io.WriteString(w, "hello, attachment")
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("upload bytes:", upload.Len()) // padded to 541, then CBC, IV and MAC

	r, err := attachment.Open(bytes.NewReader(upload.Bytes()), int64(upload.Len()), key,
		attachment.Params{PlaintextSize: w.PlaintextSize(), Digest: w.Digest()})
	if err != nil {
		log.Fatal(err)
	}
	pt, err := io.ReadAll(r)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(pt))

	tampered := bytes.Clone(upload.Bytes())
	tampered[100] ^= 1
	_, err = attachment.Decrypt(tampered, key, attachment.Params{PlaintextSize: w.PlaintextSize()})
	fmt.Println(err)
	// Output:
	// upload bytes: 592
	// hello, attachment
	// attachment: MAC mismatch
}
