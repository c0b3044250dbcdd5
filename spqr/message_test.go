package spqr

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMessageCodec(t *testing.T) {
	data := bytes.Repeat([]byte{0xab}, 32)
	// §7 example: epoch 1, index 1, Hdr chunk 0.
	m := message{epoch: 1, index: 1, typ: payloadHdr}
	copy(m.chunk[:], data)
	enc := appendMessage(nil, &m)
	assert.Equal(t, append([]byte{1, 1, 1, 1, 0}, data...), enc)
	got, err := parseMessage(enc)
	require.NoError(t, err)
	assert.Equal(t, m, got)

	// Varint 0x012C = AC 02; types without chunks stop after the type byte.
	m = message{epoch: 0x12c, index: 0xffffffff, typ: payloadCt1Ack}
	enc = appendMessage(nil, &m)
	assert.Equal(t, []byte{1, 0xac, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f, 4}, enc)
	got, err = parseMessage(append(enc, 9, 9, 9)) // trailing bytes are ignored
	require.NoError(t, err)
	assert.Equal(t, m, got)

	m = message{epoch: 1 << 63, index: 7, typ: payloadCt2, chunkIdx: 0xffff}
	enc = appendMessage(nil, &m)
	assert.LessOrEqual(t, len(enc), maxMessageSize)
	got, err = parseMessage(enc)
	require.NoError(t, err)
	assert.Equal(t, m, got)
}

func TestMessageRejects(t *testing.T) {
	chunk := make([]byte, 32)
	for name, b := range map[string][]byte{
		"empty":          {},
		"v0":             {0},
		"v2":             {2, 1, 1, 0},
		"no epoch":       {1},
		"epoch 0":        {1, 0, 1, 0},
		"no index":       {1, 1},
		"index too big":  {1, 1, 0x80, 0x80, 0x80, 0x80, 0x10, 0},
		"no type":        {1, 1, 1},
		"bad type":       {1, 1, 1, 7},
		"no chunk index": {1, 1, 1, 1},
		"chunk idx big":  append([]byte{1, 1, 1, 1, 0x80, 0x80, 0x04}, chunk...),
		"short chunk":    append([]byte{1, 1, 1, 5, 0}, chunk[:31]...),
		"long varint":    {1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 1, 0},
		"varint ovf":     {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 0},
	} {
		_, err := parseMessage(b)
		require.ErrorIs(t, err, ErrMsgDecode, name)
	}
}

func FuzzMessage(f *testing.F) {
	f.Add(append([]byte{1, 1, 1, 1, 0}, make([]byte, 32)...))
	f.Add([]byte{1, 0xac, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f, 4})
	f.Add([]byte{1, 3, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMessage(b)
		if err != nil {
			assert.Equal(t, message{}, m)
			return
		}
		enc := appendMessage(nil, &m)
		// Re-encoding gives a canonical prefix form that parses to the same
		// message.
		again, err := parseMessage(enc)
		require.NoError(t, err)
		assert.Equal(t, m, again)
		assert.GreaterOrEqual(t, m.epoch, uint64(1))
	})
}
