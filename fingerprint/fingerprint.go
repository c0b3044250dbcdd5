// Package fingerprint computes Signal safety numbers: the 60-digit numeric
// fingerprint two users compare by reading it aloud, and the scannable
// fingerprint shown as a QR code, both byte for byte as libsignal computes
// them (libsignal rust/protocol/src/fingerprint.rs). The design is described
// in [Safety number updates].
//
// # Algorithm
//
// Each party's half depends only on that party's identity key and stable
// identifier:
//
//	d = SHA-512(0x00 0x00 || key || stable_id || key)
//	repeat iterations−1 times: d = SHA-512(d || key)
//
// where key is the 33-byte serialized identity key. The party's 30 digits are
// d[0:30] read as six 40-bit big-endian integers, each reduced mod 100000 and
// zero-padded to 5 digits. The safety number is the two 30-digit halves with
// the lexicographically smaller first, so both parties see the same 60
// digits. The scannable form is the protobuf
//
//	message LogicalFingerprint   { optional bytes content = 1; }   // d[0:32]
//	message CombinedFingerprints {
//	  optional uint32             version            = 1;
//	  optional LogicalFingerprint local_fingerprint  = 2;
//	  optional LogicalFingerprint remote_fingerprint = 3;
//	}
//
// and two scannable fingerprints match when each one's local half is the
// other's remote half.
//
// # Versions and stable identifiers
//
// The version (1 or 2) is an opaque number written into the scannable form:
// the digits do not depend on it. Which stable identifier goes with which
// version is the caller's choice: libsignal does not tie them together (its
// own known-answer tests use phone numbers with both versions).
//
// # Cost
//
// Nearly all the work is the iterated SHA-512: 5200 one-block compressions
// per half with the default iteration count. The two halves are independent,
// so when runtime.GOMAXPROCS(0) > 1, [New] computes them in parallel and a
// safety number costs about one half's wall-clock time.
//
// Fingerprints are derived from public keys only and are not secret.
//
// [Safety number updates]: https://signal.org/blog/safety-number-updates/
package fingerprint

import (
	"bytes"
	"crypto/sha512"
	"errors"
	"hash"
	"runtime"

	"github.com/ratchetlab/signal/keys"
)

// Iteration counts accepted by [New].
const (
	// DefaultIterations is the iteration count Signal's clients use.
	DefaultIterations = 5200
	// MaxIterations is the largest iteration count libsignal accepts. The
	// smallest is 2.
	MaxIterations = 1_000_000
)

// Versions of the scannable fingerprint. The version changes only the
// version field of the scannable form.
const (
	Version1 = 1
	Version2 = 2
)

// Sizes of the two forms.
const (
	// DisplayDigits is the number of digits in a safety number.
	DisplayDigits = 60
	// ContentSize is the size of each half in the scannable form.
	ContentSize = 32
)

const (
	halfDigits  = DisplayDigits / 2
	groupDigits = 5
)

// Errors returned by [New].
var (
	// ErrIterations is returned for an iteration count outside
	// 1 < iterations ≤ MaxIterations, the range libsignal accepts.
	ErrIterations = errors.New("fingerprint: iteration count out of range (must be 2 to 1000000)")
	// ErrVersion is returned for a version other than Version1 and Version2.
	ErrVersion = errors.New("fingerprint: unknown fingerprint version (must be 1 or 2)")
)

// Fingerprint is the safety number of a conversation as one party sees it:
// the shared 60 digits and this party's scannable form.
type Fingerprint struct {
	version uint32
	local   [ContentSize]byte // d_local[0:32]
	remote  [ContentSize]byte // d_remote[0:32]
	display [DisplayDigits]byte
}

// New computes the safety number between the local party (this device's
// user) and the remote party, with iterations rounds of SHA-512 per half
// (use [DefaultIterations]) and the given version ([Version1] or
// [Version2]). The stable identifiers are arbitrary byte strings; they are
// only read, and must not be modified while New runs.
//
// It returns [ErrIterations] for an iteration count libsignal rejects, and
// [ErrVersion] for a version other than 1 and 2. (libsignal accepts any
// 32-bit version; this package is stricter, and version 0 in particular
// would be indistinguishable from an absent version field.)
func New(iterations, version int, localID []byte, localKey keys.PublicKey, remoteID []byte, remoteKey keys.PublicKey) (*Fingerprint, error) {
	if iterations <= 1 || iterations > MaxIterations {
		return nil, ErrIterations
	}
	if version != Version1 && version != Version2 {
		return nil, ErrVersion
	}
	lk, rk := localKey.Array(), remoteKey.Array()
	var ld, rd [sha512.Size]byte
	if runtime.GOMAXPROCS(0) > 1 {
		done := make(chan struct{})
		go func() {
			digest(&rd, iterations, remoteID, &rk)
			close(done)
		}()
		digest(&ld, iterations, localID, &lk)
		<-done
	} else {
		digest(&ld, iterations, localID, &lk)
		digest(&rd, iterations, remoteID, &rk)
	}

	f := &Fingerprint{version: uint32(version)}
	copy(f.local[:], ld[:])
	copy(f.remote[:], rd[:])
	var l, r [halfDigits]byte
	digits(&l, &ld)
	digits(&r, &rd)
	if bytes.Compare(l[:], r[:]) < 0 {
		copy(f.display[:], l[:])
		copy(f.display[halfDigits:], r[:])
	} else {
		copy(f.display[:], r[:])
		copy(f.display[halfDigits:], l[:])
	}
	return f, nil
}

// digest computes one party's iterated SHA-512:
//
//	d = SHA-512(0x00 0x00 || key || id || key)
//	repeat iterations−1 times: d = SHA-512(d || key)
//
// without allocating. The loop keeps d || key in one 97-byte buffer (one
// SHA-512 block after padding) and rehashes it in place with one reused
// hash.Hash; on the development machine this measured slightly faster than
// sha512.Sum512 plus a copy, and neither allocates.
func digest(out *[sha512.Size]byte, iterations int, id []byte, key *[keys.PublicKeySize]byte) {
	var buf [sha512.Size + keys.PublicKeySize]byte
	var h hash.Hash = sha512.New()
	h.Write([]byte{0x00, 0x00}) // fixed 16-bit zero, unrelated to the display version
	h.Write(key[:])
	h.Write(id)
	h.Write(key[:])
	h.Sum(buf[:0])
	copy(buf[sha512.Size:], key[:])
	for i := 1; i < iterations; i++ {
		h.Reset()
		h.Write(buf[:])
		h.Sum(buf[:0]) // overwrites buf[0:64] in place; the key stays
	}
	copy(out[:], buf[:sha512.Size])
}

// digits writes a party's 30 display digits: d[0:30] as six 40-bit
// big-endian integers, each mod 100000, zero-padded to 5 digits.
func digits(out *[halfDigits]byte, d *[sha512.Size]byte) {
	for j := range halfDigits / groupDigits {
		c := d[groupDigits*j : groupDigits*j+groupDigits]
		v := uint64(c[0])<<32 | uint64(c[1])<<24 | uint64(c[2])<<16 | uint64(c[3])<<8 | uint64(c[4])
		v %= 100000
		for k := groupDigits - 1; k >= 0; k-- {
			out[groupDigits*j+k] = '0' + byte(v%10)
			v /= 10
		}
	}
}

// Displayable returns the 60-digit safety number with no separators, as
// libsignal's DisplayableFingerprint does. Both parties get the same string.
func (f *Fingerprint) Displayable() string { return string(f.display[:]) }

// String returns the safety number as Signal's apps show it: 12 groups of 5
// digits, here separated by single spaces ("30035 44776 ... 79131").
func (f *Fingerprint) String() string {
	var b [DisplayDigits + DisplayDigits/groupDigits - 1]byte
	n := 0
	for i := 0; i < DisplayDigits; i += groupDigits {
		if i > 0 {
			b[n] = ' '
			n++
		}
		n += copy(b[n:], f.display[i:i+groupDigits])
	}
	return string(b[:])
}

// Scannable returns this party's scannable fingerprint, the
// CombinedFingerprints protobuf to show as a QR code. The other party passes
// it to [Fingerprint.Compare].
func (f *Fingerprint) Scannable() []byte {
	return Scannable{Version: f.version, Local: f.local, Remote: f.remote}.Bytes()
}
