package attachment

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

// libsignal's known answers for the incremental MAC, with chunk size 32
// (ChunkSizeChoice.everyNthByte(32)) and the key TEST_KEY:
//
//   - node/ts/test/IncrementalMacTest.ts, "DigestingPassThrough produces the
//     digest": the input "this is a test" + " input to the incremental " +
//     "mac stream" (50 bytes) gives TEST_DIGEST;
//   - java/client/src/test/java/org/signal/libsignal/protocol/incrementalmac/
//     IncrementalStreamsTest.java, testDigestCreation: the same text ending
//     in "mac stream 👋" (55 bytes of UTF-8) gives TEST_EXPECTED_DIGEST.
//
// Both inputs are longer than one chunk and shorter than two, so each
// 64-byte digest is the HMAC of the first 32 bytes (emitted at the chunk
// boundary) followed by the HMAC of the whole input (emitted at the end):
// the two digests share their first 32 bytes, as the published values do.
// rust/protocol/src/incremental_mac.rs has no fixed vector, only property
// tests (incremental_macs_are_valid: each emitted MAC is the HMAC of the
// prefix up to it), which TestIncrementalMACPrefixes checks.
const incrementalTestKey = "a83481457efecc69ad1342e21d9c0297f71debbf5c9304b4c1b2e433c1a78f98"

var incrementalKATs = []struct {
	name   string
	parts  []string
	digest string
}{
	{
		"node DigestingPassThrough",
		[]string{"this is a test", " input to the incremental ", "mac stream"},
		"84892f70600e549fb72879667a9d96a273f144b698ff9ef5a76062a56061a909" +
			"884f6d9f42918a9e476ed518c4ac8f714bd33f045152ae049877fd3d1b0db25a",
	},
	{
		"java IncrementalStreamsTest",
		[]string{"this is a test", " input to the incremental ", "mac stream 👋"},
		"84892f70600e549fb72879667a9d96a273f144b698ff9ef5a76062a56061a909" +
			"ac028f107e1306e1ec8d17c989fa3430d88d7b294d00828a65a2acb3efa31a1f",
	},
}

func TestIncrementalMACKnownAnswers(t *testing.T) {
	key := unhex(t, incrementalTestKey)
	for _, v := range incrementalKATs {
		t.Run(v.name, func(t *testing.T) {
			want := unhex(t, v.digest)
			// As the tests write it: part by part.
			m := NewIncrementalMAC(key, 32)
			var all []byte
			for _, p := range v.parts {
				m.Write([]byte(p))
				all = append(all, p...)
			}
			assert.Equal(t, want, m.Sum(nil), "parts")

			// One write, and one byte at a time.
			m = NewIncrementalMAC(key, 32)
			m.Write(all)
			assert.Equal(t, want, m.Sum(nil), "one write")
			m = NewIncrementalMAC(key, 32)
			for i := range all {
				m.Write(all[i : i+1])
			}
			assert.Equal(t, want, m.Sum(nil), "byte by byte")

			// The validator accepts it, and rejects any flipped byte.
			assert.True(t, validate(key, 32, want, all))
			for i := range want {
				bad := append([]byte(nil), want...)
				bad[i] ^= 0x80
				assert.False(t, validate(key, 32, bad, all), "flipped digest byte %d", i)
			}
			assert.False(t, validate(key, 32, want[:32], all), "missing final MAC")
			assert.False(t, validate(key, 32, want, append([]byte("!"), all...)), "corrupted input")
			assert.False(t, validate(key, 32, want, append(all, '!')), "extended input")
		})
	}
}

// validate runs the validator over data cut at chunk boundaries.
func validate(key []byte, chunk int, digest, data []byte) bool {
	v := newValidator(key, chunk, digest)
	for len(data) > 0 {
		k := min(chunk, len(data))
		if !v.update(data[:k]) {
			return false
		}
		data = data[k:]
	}
	return v.finish()
}

// TestIncrementalMACPrefixes checks the definition in libsignal's
// incremental_macs_are_valid: the i-th MAC is the HMAC of the first
// (i+1)*chunk bytes, the last one the HMAC of everything, with a boundary
// MAC and a final MAC both present when the length is a multiple of chunk.
func TestIncrementalMACPrefixes(t *testing.T) {
	key := unhex(t, incrementalTestKey)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, chunk := range []int{1, 16, 32, 33, 100} {
		for n := range 300 {
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			var want []byte
			for end := chunk; end <= n; end += chunk {
				want = append(want, hmacSHA256(key, data[:end])...)
			}
			want = append(want, hmacSHA256(key, data)...)

			m := NewIncrementalMAC(key, chunk)
			for rest := data; len(rest) > 0; {
				k := min(len(rest), rng.IntN(2*chunk+1))
				m.Write(rest[:k])
				rest = rest[k:]
			}
			require.Equal(t, want, m.Sum(nil), "chunk %d, n %d", chunk, n)
			require.True(t, validate(key, chunk, want, data))
		}
	}
}

func hmacSHA256(key, data []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(data)
	return h.Sum(nil)
}

// TestChunkSize checks libsignal's chunk_sizes_sha256 table.
func TestChunkSize(t *testing.T) {
	const KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
	for _, c := range []struct {
		size int64
		want int
	}{
		{0, 64 * KiB}, {KiB, 64 * KiB}, {10 * KiB, 64 * KiB}, {100 * KiB, 64 * KiB},
		{MiB, 64 * KiB}, {10 * MiB, 64 * KiB}, {20 * MiB, 80 * KiB}, {100 * MiB, 400 * KiB},
		{200 * MiB, 800 * KiB}, {256 * MiB, MiB}, {512 * MiB, 2 * MiB}, {GiB, 2 * MiB},
		{2 * GiB, 2 * MiB},
		// The node test's inferChunkSize(42) and the boundaries.
		{42, 64 * KiB}, {16*MiB - 1, 64 * KiB}, {16 * MiB, 64 * KiB}, {16*MiB + 1, 64*KiB + 1},
		{512*MiB - 1, 2 * MiB},
	} {
		assert.Equal(t, c.want, ChunkSize(c.size), "size %d", c.size)
	}
}

func TestNewIncrementalMACPanicsOnZeroChunk(t *testing.T) {
	// A caller bug, documented (libsignal's chunk_size_zero does the same).
	assert.Panics(t, func() { NewIncrementalMAC(nil, 0) })
}
