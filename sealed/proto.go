package sealed

import "google.golang.org/protobuf/encoding/protowire"

// fieldValue is one decoded protobuf field.
type fieldValue struct {
	num protowire.Number
	typ protowire.Type
	v   uint64 // varint and fixed values
	b   []byte // bytes values (aliasing the input)
}

// eachField calls fn for every field of the protobuf message b, in order.
// Unknown fields are passed too (fn ignores what it does not know); groups
// and fixed32 values are skipped. It returns ErrMalformed for a bad
// encoding.
func eachField(b []byte, fn func(f fieldValue) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return ErrMalformed
		}
		b = b[n:]
		f := fieldValue{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed64Type:
			f.v, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return ErrMalformed
		}
		b = b[n:]
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// want checks that a known field has the wire type its schema gives it,
// as a protobuf decoder does.
func (f fieldValue) want(t protowire.Type) error {
	if f.typ != t {
		return ErrMalformed
	}
	return nil
}
