// Package protofield appends and sizes single protobuf fields with
// protowire (https://protobuf.dev/programming-guides/encoding/), in the two
// forms Signal's encodings use: a field that is always written (a proto2
// field that is set), and a proto3 field with implicit presence, which is
// left out when it holds its zero value. It encodes only; each package
// keeps its own decoding loop, whose errors belong to that package.
package protofield

import (
	"encoding/binary"

	"google.golang.org/protobuf/encoding/protowire"
)

// AppendBytes appends a length-delimited field num holding v, even if v is
// empty.
func AppendBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// AppendVarint appends a varint field num holding v, even if v is 0.
func AppendVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// AppendBytesNonEmpty appends field num holding v unless v is empty (proto3
// implicit presence).
func AppendBytesNonEmpty(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	return AppendBytes(b, num, v)
}

// AppendVarintNonZero appends field num holding v unless v is 0 (proto3
// implicit presence).
func AppendVarintNonZero(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	return AppendVarint(b, num, v)
}

// SizeBytes is the encoded size of a length-delimited field num holding n
// bytes.
func SizeBytes(num protowire.Number, n int) int {
	return protowire.SizeTag(num) + protowire.SizeBytes(n)
}

// SizeVarint is the encoded size of a varint field num holding v.
func SizeVarint(num protowire.Number, v uint64) int {
	return protowire.SizeTag(num) + protowire.SizeVarint(v)
}

// AppendMessage appends an embedded message field num whose body is what
// body appends, written in place: w bytes are reserved for the length (its
// expected width, at least 1) and the body is moved afterwards only if
// its length needs another width. The length is the minimal varint, as
// every protobuf encoder writes it.
func AppendMessage(b []byte, num protowire.Number, w int, body func([]byte) []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	at := len(b)
	var zeros [binary.MaxVarintLen64]byte
	b = append(b, zeros[:w]...)
	b = body(b)
	n := len(b) - at - w
	if nw := protowire.SizeVarint(uint64(n)); nw != w {
		if nw > w {
			b = append(b, zeros[:nw-w]...)
		}
		copy(b[at+nw:], b[at+w:at+w+n])
		b = b[:at+nw+n]
	}
	protowire.AppendVarint(b[at:at], uint64(n))
	return b
}
