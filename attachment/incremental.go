package attachment

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
)

// Chunk sizes of libsignal's incremental MAC (rust/protocol/src/incremental_mac.rs,
// calculate_chunk_size): the digest list aims at 8 KiB, that is 256 SHA-256
// MACs, with chunks of at least 64 KiB and at most 2 MiB.
const (
	MinChunkSize = 64 << 10
	MaxChunkSize = 2 << 20

	targetDigestSize = 8 << 10
	targetChunks     = targetDigestSize / sha256.Size // 256
)

// ChunkSize returns the incremental-MAC chunk size libsignal chooses for
// dataSize bytes of upload: 64 KiB below 16 MiB (256 × 64 KiB), then
// ceil(dataSize/256) below 512 MiB (256 × 2 MiB), then 2 MiB. Signal-Android
// passes the length of the upload (the HTTP body, [UploadSize]), and the MAC
// runs over the whole upload, IV and MAC included, keyed with the
// attachment's MAC key.
func ChunkSize(dataSize int64) int {
	switch {
	case dataSize < targetChunks*MinChunkSize:
		return MinChunkSize
	case dataSize < targetChunks*MaxChunkSize:
		return int((dataSize + targetChunks - 1) / targetChunks)
	default:
		return MaxChunkSize
	}
}

// IncrementalMAC computes libsignal's incremental MAC: an HMAC-SHA256 run
// over the data, whose running value is emitted every chunkSize bytes and
// once more at the end. The MAC at a boundary authenticates the whole prefix
// up to it, so a reader can verify the data chunk by chunk. When the data
// length is a multiple of the chunk size, the last boundary MAC and the
// final MAC are the same value and both are emitted (as libsignal does).
//
// Write never fails. The zero value is not usable; use [NewIncrementalMAC].
type IncrementalMAC struct {
	mac    hash.Hash
	chunk  int
	filled int    // bytes of the current chunk written so far
	macs   []byte // emitted MACs, 32 bytes each
}

// NewIncrementalMAC returns an IncrementalMAC keyed with key (for an
// attachment, its 32-byte MAC key) that emits a MAC every chunkSize bytes.
// It panics if chunkSize is not positive.
func NewIncrementalMAC(key []byte, chunkSize int) *IncrementalMAC {
	if chunkSize <= 0 {
		panic("attachment: incremental MAC chunk size must be positive")
	}
	// libsignal's chunk sizes keep the digest near 8 KiB; reserve that.
	return &IncrementalMAC{mac: hmac.New(sha256.New, key), chunk: chunkSize, macs: make([]byte, 0, targetDigestSize+sha256.Size)}
}

// Write adds p to the MAC, recording a MAC at every chunk boundary it crosses.
func (m *IncrementalMAC) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), m.chunk-m.filled)
		m.mac.Write(p[:k])
		m.filled += k
		p = p[k:]
		if m.filled == m.chunk {
			m.macs = m.mac.Sum(m.macs) // Sum leaves the running state intact
			m.filled = 0
		}
	}
	return n, nil
}

// Sum appends to b the MACs emitted so far followed by the MAC of all the
// data written, and returns the result: the digest sent alongside the
// attachment. It does not change the state.
func (m *IncrementalMAC) Sum(b []byte) []byte {
	b = append(b, m.macs...)
	return m.mac.Sum(b)
}

// validator checks data against an expected incremental-MAC digest as it
// arrives.
type validator struct {
	mac      hash.Hash
	chunk    int
	filled   int
	expected []byte // remaining expected MACs, in order
	sum      [sha256.Size]byte
}

func newValidator(key []byte, chunkSize int, digest []byte) *validator {
	return &validator{mac: hmac.New(sha256.New, key), chunk: chunkSize, expected: digest}
}

// check reports whether the next expected MAC equals the running MAC, and
// consumes it.
func (v *validator) check() bool {
	got := v.mac.Sum(v.sum[:0])
	if len(v.expected) < sha256.Size {
		return false
	}
	ok := hmac.Equal(got, v.expected[:sha256.Size])
	v.expected = v.expected[sha256.Size:]
	return ok
}

// update adds p, which must not cross a chunk boundary, and checks the MAC
// if p completes a chunk.
func (v *validator) update(p []byte) bool {
	v.mac.Write(p)
	v.filled += len(p)
	if v.filled == v.chunk {
		v.filled = 0
		return v.check()
	}
	return true
}

// finish checks the final MAC, which must be the last one expected.
func (v *validator) finish() bool {
	return v.check() && len(v.expected) == 0
}
