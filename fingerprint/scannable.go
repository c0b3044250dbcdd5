package fingerprint

import (
	"crypto/subtle"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of CombinedFingerprints and LogicalFingerprint.
const (
	fieldVersion = 1 // CombinedFingerprints.version, uint32
	fieldLocal   = 2 // CombinedFingerprints.local_fingerprint
	fieldRemote  = 3 // CombinedFingerprints.remote_fingerprint
	fieldContent = 1 // LogicalFingerprint.content, bytes
)

// Errors returned by [Fingerprint.Compare] and [ParseScannable].
var (
	// ErrMalformed is returned for input that is not a well-formed
	// CombinedFingerprints message with two 32-byte halves. Errors wrapping
	// it say what was wrong, never what the input held.
	ErrMalformed = errors.New("fingerprint: malformed scannable fingerprint")
	// ErrVersionMismatch is returned, wrapped in a [*VersionError], when the
	// other party's scannable fingerprint has a different version.
	ErrVersionMismatch = errors.New("fingerprint: scannable fingerprint version mismatch")
)

// VersionError reports a scannable fingerprint whose version differs from
// ours: the two parties use different safety-number versions, so their
// fingerprints cannot be compared. It unwraps to [ErrVersionMismatch].
type VersionError struct {
	Theirs uint32 // the version in their scannable fingerprint (0 if absent)
	Ours   uint32 // the version of our fingerprint
}

// Error implements error.
func (e *VersionError) Error() string {
	return fmt.Sprintf("fingerprint: scannable fingerprint has version %d, ours has version %d", e.Theirs, e.Ours)
}

// Unwrap returns ErrVersionMismatch.
func (e *VersionError) Unwrap() error { return ErrVersionMismatch }

// Scannable is a decoded scannable fingerprint (libsignal's
// CombinedFingerprints message) as seen by the party that shows it: Local is
// the first 32 bytes of that party's own digest, Remote of its peer's.
type Scannable struct {
	Version uint32
	Local   [ContentSize]byte
	Remote  [ContentSize]byte
}

// Bytes returns the protobuf encoding of s, field by field as libsignal
// (prost) writes it: version, then local_fingerprint, then
// remote_fingerprint, each LogicalFingerprint holding only its content.
func (s Scannable) Bytes() []byte {
	var inner [2 + ContentSize]byte // tag, length, content
	b := make([]byte, 0, 1+protowire.SizeVarint(uint64(s.Version))+2*(2+len(inner)))
	b = protowire.AppendTag(b, fieldVersion, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(s.Version))
	for _, f := range [...]struct {
		num     protowire.Number
		content *[ContentSize]byte
	}{{fieldLocal, &s.Local}, {fieldRemote, &s.Remote}} {
		m := protowire.AppendTag(inner[:0], fieldContent, protowire.BytesType)
		m = protowire.AppendBytes(m, f.content[:])
		b = protowire.AppendTag(b, f.num, protowire.BytesType)
		b = protowire.AppendBytes(b, m)
	}
	return b
}

// ParseScannable decodes a scannable fingerprint of any version. It returns
// an error wrapping [ErrMalformed] if b is not valid protobuf wire format, if
// either half's content is missing, or if a content is not 32 bytes long.
//
// It reads the protobuf the way libsignal's decoder (prost, proto2) does:
//
//   - Unknown fields are skipped, at both levels and with any valid wire type
//     (groups included), so bytes after the known fields pass if they are
//     themselves well-formed fields; anything else, such as a truncated field
//     or a stray end-group tag, is malformed.
//   - A known field with the wrong wire type is malformed (prost rejects it
//     where protobuf-go would keep it as an unknown field).
//   - A repeated version keeps the last value, and a version wider than 32
//     bits keeps its low 32 bits, as prost and protobuf-go both do.
//   - A repeated local_fingerprint or remote_fingerprint is merged as
//     protobuf specifies for embedded messages: the half's content is the
//     last content seen in any of its occurrences.
//   - An absent version reads as 0.
//
// The one difference from libsignal: libsignal accepts a content of the
// wrong length and then reports a mismatch; here it is malformed. Either way
// the fingerprint is not verified.
func ParseScannable(b []byte) (Scannable, error) {
	d, err := decode(b)
	if err != nil {
		return Scannable{}, err
	}
	return d.scannable()
}

// Compare compares this party's fingerprint with theirs, the scannable
// fingerprint the other party shows (scanned from their QR code). It reports
// true when theirs was made for the same two identities, that is, when their
// local half equals our remote half and their remote half equals our local
// half; the comparison is in constant time.
//
// It returns false and a [*VersionError] (errors.Is [ErrVersionMismatch]) if
// the versions differ, and false and an error wrapping [ErrMalformed] if
// theirs cannot be parsed (see [ParseScannable]). As in libsignal, the
// version is checked before the halves, so a scannable fingerprint of
// another version is reported as such even if its halves have another
// shape.
func (f *Fingerprint) Compare(theirs []byte) (bool, error) {
	d, err := decode(theirs)
	if err != nil {
		return false, err
	}
	if d.version != f.version {
		return false, &VersionError{Theirs: d.version, Ours: f.version}
	}
	s, err := d.scannable()
	if err != nil {
		return false, err
	}
	same := subtle.ConstantTimeCompare(s.Local[:], f.remote[:]) &
		subtle.ConstantTimeCompare(s.Remote[:], f.local[:])
	return same == 1, nil
}

// decoded is a CombinedFingerprints message as read off the wire, before the
// halves are checked. local and remote alias the input.
type decoded struct {
	version             uint32
	local, remote       []byte
	hasLocal, hasRemote bool
}

func (d *decoded) scannable() (Scannable, error) {
	switch {
	case !d.hasLocal:
		return Scannable{}, malformed("local fingerprint missing")
	case !d.hasRemote:
		return Scannable{}, malformed("remote fingerprint missing")
	case len(d.local) != ContentSize || len(d.remote) != ContentSize:
		return Scannable{}, malformed("fingerprint content is not 32 bytes")
	}
	s := Scannable{Version: d.version}
	copy(s.Local[:], d.local)
	copy(s.Remote[:], d.remote)
	return s, nil
}

func malformed(reason string) error {
	return fmt.Errorf("%w: %s", ErrMalformed, reason)
}

func wireError(n int) error {
	return fmt.Errorf("%w: %w", ErrMalformed, protowire.ParseError(n))
}

// consumeTag reads a field tag, rejecting field numbers outside
// 1..protowire.MaxValidNumber (prost rejects those too).
func consumeTag(b []byte) (protowire.Number, protowire.Type, int, error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return 0, 0, 0, wireError(n)
	}
	if !num.IsValid() {
		return 0, 0, 0, malformed("invalid field number")
	}
	return num, typ, n, nil
}

// decode reads a CombinedFingerprints message; see ParseScannable for the
// rules.
func decode(b []byte) (decoded, error) {
	var d decoded
	for len(b) > 0 {
		num, typ, n, err := consumeTag(b)
		if err != nil {
			return decoded{}, err
		}
		b = b[n:]
		switch num {
		case fieldVersion:
			if typ != protowire.VarintType {
				return decoded{}, malformed("version has the wrong wire type")
			}
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return decoded{}, wireError(m)
			}
			d.version = uint32(v)
			n = m
		case fieldLocal, fieldRemote:
			if typ != protowire.BytesType {
				return decoded{}, malformed("fingerprint has the wrong wire type")
			}
			msg, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return decoded{}, wireError(m)
			}
			content, ok, err := decodeLogical(msg)
			if err != nil {
				return decoded{}, err
			}
			if ok && num == fieldLocal {
				d.local, d.hasLocal = content, true
			} else if ok {
				d.remote, d.hasRemote = content, true
			}
			n = m
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return decoded{}, wireError(n)
			}
		}
		b = b[n:]
	}
	return d, nil
}

// decodeLogical reads a LogicalFingerprint message and returns the last
// content it holds, if any.
func decodeLogical(b []byte) (content []byte, ok bool, err error) {
	for len(b) > 0 {
		num, typ, n, err := consumeTag(b)
		if err != nil {
			return nil, false, err
		}
		b = b[n:]
		if num == fieldContent {
			if typ != protowire.BytesType {
				return nil, false, malformed("fingerprint content has the wrong wire type")
			}
			content, n = protowire.ConsumeBytes(b)
			ok = true
		} else {
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return nil, false, wireError(n)
		}
		b = b[n:]
	}
	return content, ok, nil
}
