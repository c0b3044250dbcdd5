package spqr

import (
	"encoding/binary"
)

// The SPQR v1 message (spqr src/v1/chunked/states/serialize.rs), carried in
// SignalMessage.pq_ratchet:
//
//	0x01 || varint epoch || varint index || u8 type || [varint chunk_index || chunk(32)]

// version values of the SPQR message and state.
const (
	versionV0 = 0
	versionV1 = 1
)

// payloadType is the type byte of an SPQR message.
type payloadType uint8

// Payload types.
const (
	payloadNone     payloadType = 0
	payloadHdr      payloadType = 1
	payloadEk       payloadType = 2
	payloadEkCt1Ack payloadType = 3
	payloadCt1Ack   payloadType = 4
	payloadCt1      payloadType = 5
	payloadCt2      payloadType = 6
)

// hasChunk reports whether the payload type carries a chunk.
func (p payloadType) hasChunk() bool {
	switch p {
	case payloadHdr, payloadEk, payloadEkCt1Ack, payloadCt1, payloadCt2:
		return true
	}
	return false
}

// message is a parsed SPQR v1 message.
type message struct {
	epoch    uint64 // SCKA epoch, >= 1
	index    uint32 // chain counter of the send key, 0 = no key
	typ      payloadType
	chunkIdx uint16
	chunk    [chunkSize]byte
}

// maxMessageSize bounds an encoded v1 message.
const maxMessageSize = 1 + 10 + 5 + 1 + 3 + chunkSize

// appendMessage appends the encoding of m to dst.
func appendMessage(dst []byte, m *message) []byte {
	dst = append(dst, versionV1)
	dst = binary.AppendUvarint(dst, m.epoch)
	dst = binary.AppendUvarint(dst, uint64(m.index))
	dst = append(dst, byte(m.typ))
	if m.typ.hasChunk() {
		dst = binary.AppendUvarint(dst, uint64(m.chunkIdx))
		dst = append(dst, m.chunk[:]...)
	}
	return dst
}

// readVarint reads a protobuf varint of at most 10 bytes.
func readVarint(b []byte) (uint64, int, bool) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, 0, false
	}
	return v, n, true
}

// parseMessage parses a v1 message. Trailing bytes are ignored, as in spqr.
func parseMessage(b []byte) (message, error) {
	var m message
	if len(b) < 1 || b[0] != versionV1 {
		return m, ErrMsgDecode
	}
	b = b[1:]
	epoch, n, ok := readVarint(b)
	if !ok || epoch == 0 {
		return m, ErrMsgDecode
	}
	b = b[n:]
	index, n, ok := readVarint(b)
	if !ok || index > 0xffffffff {
		return m, ErrMsgDecode
	}
	b = b[n:]
	if len(b) < 1 || b[0] > byte(payloadCt2) {
		return m, ErrMsgDecode
	}
	m.epoch, m.index, m.typ = epoch, uint32(index), payloadType(b[0])
	b = b[1:]
	if m.typ.hasChunk() {
		ci, n, ok := readVarint(b)
		if !ok || ci > 0xffff || len(b[n:]) < chunkSize {
			return message{}, ErrMsgDecode
		}
		m.chunkIdx = uint16(ci)
		copy(m.chunk[:], b[n:])
	}
	return m, nil
}
