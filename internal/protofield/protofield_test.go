package protofield_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/internal/protofield"
)

// Expected bytes are hand-encoded from the protobuf encoding guide: tag =
// num<<3 | wire type, then a minimal varint (length or value).
func TestAppend(t *testing.T) {
	assert.Equal(t, []byte{0x0a, 0x02, 'h', 'i'}, protofield.AppendBytes(nil, 1, []byte("hi")))
	assert.Equal(t, []byte{0x12, 0x00}, protofield.AppendBytes(nil, 2, nil))
	assert.Equal(t, []byte{0x18, 0x96, 0x01}, protofield.AppendVarint(nil, 3, 150))
	assert.Equal(t, []byte{0x20, 0x00}, protofield.AppendVarint(nil, 4, 0))
	assert.Equal(t, []byte{0xff}, protofield.AppendBytesNonEmpty([]byte{0xff}, 1, nil))
	assert.Equal(t, []byte{0xff}, protofield.AppendVarintNonZero([]byte{0xff}, 1, 0))
	assert.Equal(t, []byte{0x0a, 0x01, 7}, protofield.AppendBytesNonEmpty(nil, 1, []byte{7}))
	assert.Equal(t, []byte{0x08, 0x01}, protofield.AppendVarintNonZero(nil, 1, 1))
	assert.Equal(t, []byte{0xa2, 0x06, 0x00}, protofield.AppendBytes(nil, 100, nil))
}

func TestSize(t *testing.T) {
	for _, c := range []struct {
		num protowire.Number
		n   int
	}{{1, 0}, {1, 127}, {1, 128}, {15, 300}, {16, 1 << 14}, {1000, 70000}} {
		assert.Equal(t, len(protofield.AppendBytes(nil, c.num, make([]byte, c.n))), protofield.SizeBytes(c.num, c.n))
		assert.Equal(t, len(protofield.AppendVarint(nil, c.num, uint64(c.n))), protofield.SizeVarint(c.num, uint64(c.n)))
	}
}

// AppendMessage gives the bytes of AppendBytes on the finished body for
// every reserved width and body length around the varint boundaries.
func TestAppendMessage(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 300, 16383, 16384, 70000} {
		body := bytes.Repeat([]byte{0x5a}, n)
		want := protofield.AppendBytes([]byte{1, 2, 3}, 9, body)
		for w := 1; w <= 4; w++ {
			got := protofield.AppendMessage([]byte{1, 2, 3}, 9, w, func(b []byte) []byte { return append(b, body...) })
			require.Equal(t, want, got, "n=%d w=%d", n, w)
		}
	}
}
