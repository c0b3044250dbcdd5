// Package kem implements the key-encapsulation keys of libsignal: the
// post-quantum half of PQXDH, as specified in [PQXDH] §2.2 and serialized as
// libsignal's rust/protocol/src/kem.rs does.
//
// Two algorithms are supported, told apart by a leading type byte:
//
//   - [Kyber1024], type byte 0x08: CRYSTALS-Kyber round 3 (Kyber1024.CCAKEM
//     of the [Kyber round-3 specification]). This is what libsignal generates
//     and what every Signal client publishes as its "Kyber pre-key".
//   - [MLKEM1024], type byte 0x0A: ML-KEM-1024 as specified in [NIST FIPS 203].
//     libsignal compiles it only behind a non-default feature.
//
// Both have the same sizes and byte layouts; they differ in how keys, shared
// secrets and the implicit-rejection value are hashed, so the same seed gives
// unrelated keys and secrets in the two.
//
// # Encodings
//
// A serialized public key is the type byte followed by the 1568-byte
// encapsulation key ([PublicKeySize] = 1569 bytes). A serialized secret key is
// the type byte followed by the 3168-byte expanded decapsulation key
// dk_pke || ek || H(ek) || z ([SecretKeySize] = 3169 bytes), not a 64-byte
// seed. A serialized ciphertext is the type byte followed by 1568 bytes
// ([CiphertextSize] = 1569). The shared secret has 32 bytes and no type byte.
// Parsing requires the exact length and a known type byte, and decapsulation
// requires the ciphertext's type byte to equal the key's.
//
// # Validation
//
// [ParsePublicKey] performs the FIPS 203 §7.2 modulus check: every 12-bit
// coefficient of the encoded vector t must be below q = 3329. It applies the
// check to Kyber keys as well; the round-3 reference code instead reduces
// such coefficients silently, but honest key generation never produces them.
// [ParseSecretKey] checks the embedded public key in the same way, the FIPS
// 203 §7.3 hash check (the stored H(ek) must equal SHA3-256(ek); Kyber round
// 3 uses the same layout), and that every coefficient of dk_pke is below q,
// the latter in constant time. [SecretKey.Decapsulate] checks the
// ciphertext's length and type byte; any ciphertext that passes those checks
// decapsulates, to a pseudorandom secret if it was not made for this key
// (implicit rejection).
//
// Every failure is reported with one of the sentinel errors below, usable
// with [errors.Is]. Error texts carry only lengths and type bytes, never key
// material.
//
// # Security
//
// Shared secrets and secret keys must be kept secret. [SecretKey] prints only
// its type with the fmt package. Keys are immutable after parsing and safe
// for concurrent use.
//
// [PQXDH]: https://signal.org/docs/specifications/pqxdh/
// [Kyber round-3 specification]: https://pq-crystals.org/kyber/data/kyber-specification-round3-20210804.pdf
// [NIST FIPS 203]: https://doi.org/10.6028/NIST.FIPS.203
package kem

import (
	"crypto/rand"
	"crypto/sha3"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/cloudflare/circl/kem/kyber/kyber1024"
	"github.com/cloudflare/circl/kem/mlkem/mlkem1024"

	"github.com/ratchetlab/signal/internal/cpu"
)

// Type is a KEM key type, the first byte of every serialized key and
// ciphertext.
type Type byte

// The KEM key types libsignal defines with a 1024-bit-security parameter set.
// libsignal's Kyber768 (0x07) is not supported.
const (
	// Kyber1024 is CRYSTALS-Kyber round 3, Kyber1024.CCAKEM, the KEM
	// libsignal uses for PQXDH.
	Kyber1024 Type = 0x08
	// MLKEM1024 is ML-KEM-1024 from NIST FIPS 203.
	MLKEM1024 Type = 0x0A
)

// String returns the algorithm name, or "Type(0xNN)" for an unknown type.
func (t Type) String() string {
	switch t {
	case Kyber1024:
		return "Kyber1024"
	case MLKEM1024:
		return "ML-KEM-1024"
	}
	return fmt.Sprintf("Type(%#02x)", byte(t))
}

func (t Type) known() bool { return t == Kyber1024 || t == MLKEM1024 }

// Serialized sizes in bytes, type byte included (the shared secret has none).
const (
	// PublicKeySize is the size of a serialized public key: 1 + 1568.
	PublicKeySize = 1 + mlkem1024.PublicKeySize
	// SecretKeySize is the size of a serialized secret key: 1 + 3168.
	SecretKeySize = 1 + mlkem1024.PrivateKeySize
	// CiphertextSize is the size of a serialized ciphertext: 1 + 1568.
	CiphertextSize = 1 + mlkem1024.CiphertextSize
	// SharedSecretSize is the size of a shared secret.
	SharedSecretSize = mlkem1024.SharedKeySize
)

// Sizes of the pieces of the raw (unprefixed) secret key.
const (
	dkPKESize = mlkem1024.PrivateKeySize - mlkem1024.PublicKeySize - 64 // 1536
	ekSize    = mlkem1024.PublicKeySize                                 // 1568
	tSize     = 1536                                                    // encoded t̂ inside ek; the rest is ρ
	q         = 3329
	seedSize  = mlkem1024.KeySeedSize           // d || z
	mSize     = mlkem1024.EncapsulationSeedSize // encapsulation randomness
)

// Errors returned by this package. Each failure has its own sentinel; errors
// may wrap them with public details (lengths, type bytes).
var (
	// ErrUnknownKeyType means the type byte of a key or ciphertext is not
	// Kyber1024 or MLKEM1024 (or the key is an uninitialized zero value).
	ErrUnknownKeyType = errors.New("kem: unknown key type")
	// ErrKeyLength means a serialized key does not have the exact length
	// its type requires (this includes empty input and trailing bytes).
	ErrKeyLength = errors.New("kem: invalid key length")
	// ErrInvalidPublicKey means an encapsulation key failed the modulus
	// check (a coefficient not below q).
	ErrInvalidPublicKey = errors.New("kem: invalid public key")
	// ErrInvalidSecretKey means a decapsulation key failed the hash check
	// or the modulus check.
	ErrInvalidSecretKey = errors.New("kem: invalid secret key")
	// ErrWrongKEMType means a ciphertext's type byte names another KEM
	// than the secret key's.
	ErrWrongKEMType = errors.New("kem: ciphertext type does not match key type")
	// ErrCiphertextLength means a serialized ciphertext is not
	// CiphertextSize bytes long.
	ErrCiphertextLength = errors.New("kem: invalid ciphertext length")
)

// errSeedLength is returned by the test-only seeded constructors.
var errSeedLength = errors.New("kem: invalid seed length")

// encapsulator and decapsulator are satisfied by the circl key types of both
// algorithms (*kyber1024.PublicKey and *mlkem1024.PublicKey, and the
// PrivateKey types). Their methods panic on wrong lengths; callers check
// first.
type encapsulator interface {
	EncapsulateTo(ct, ss, seed []byte)
}

type decapsulator interface {
	DecapsulateTo(ss, ct []byte)
}

// PublicKey is a parsed KEM public (encapsulation) key. Its zero value is not
// usable; get one from [ParsePublicKey] or [SecretKey.PublicKey].
type PublicKey struct {
	b   [PublicKeySize]byte // serialized, type byte first
	enc encapsulator
}

// ParsePublicKey parses a serialized public key: a type byte followed by
// exactly 1568 bytes that pass the FIPS 203 modulus check. On error it
// returns nil.
func ParsePublicKey(b []byte) (*PublicKey, error) {
	defer cpu.VZeroUpper()
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrKeyLength)
	}
	t := Type(b[0])
	if !t.known() {
		return nil, fmt.Errorf("%w: %#02x", ErrUnknownKeyType, b[0])
	}
	if len(b) != PublicKeySize {
		return nil, fmt.Errorf("%w: %s public key has %d bytes, want %d", ErrKeyLength, t, len(b), PublicKeySize)
	}
	raw := b[1:]
	if !canonical(raw[:tSize]) {
		return nil, fmt.Errorf("%w: %s coefficient not reduced modulo q", ErrInvalidPublicKey, t)
	}
	pk := new(PublicKey)
	copy(pk.b[:], b)
	switch t {
	case Kyber1024:
		k := new(kyber1024.PublicKey)
		k.Unpack(raw)
		pk.enc = k
	case MLKEM1024:
		k := new(mlkem1024.PublicKey)
		if err := k.Unpack(raw); err != nil { // unreachable after canonical
			return nil, fmt.Errorf("%w: %s", ErrInvalidPublicKey, t)
		}
		pk.enc = k
	}
	return pk, nil
}

// Type returns the key's KEM type.
func (pk *PublicKey) Type() Type {
	if pk == nil || pk.enc == nil {
		return 0
	}
	return Type(pk.b[0])
}

// Bytes returns a copy of the serialized key (type byte first, 1569 bytes),
// or nil for a nil or zero key.
func (pk *PublicKey) Bytes() []byte {
	if pk == nil || pk.enc == nil {
		return nil
	}
	out := pk.b
	return out[:]
}

// Equal reports whether pk and other are the same key of the same type.
func (pk *PublicKey) Equal(other *PublicKey) bool {
	if pk == nil || other == nil || pk.enc == nil || other.enc == nil {
		return false
	}
	return subtle.ConstantTimeCompare(pk.b[:], other.b[:]) == 1
}

// Encapsulate draws fresh randomness from crypto/rand and returns a
// serialized ciphertext (type byte first, [CiphertextSize] bytes) for pk
// together with the shared secret it encapsulates. The shared secret must be
// kept secret. The error is non-nil only for a zero PublicKey.
func (pk *PublicKey) Encapsulate() (ciphertext []byte, sharedSecret [SharedSecretSize]byte, err error) {
	var m [mSize]byte
	_, _ = rand.Read(m[:]) // never fails (Go ≥ 1.24 aborts the program instead)
	ciphertext, sharedSecret, err = pk.encapsulate(&m)
	clear(m[:])
	return ciphertext, sharedSecret, err
}

// encapsulateDeterministic is Encapsulate with the caller's 32-byte
// randomness m (the "m" of FIPS 203 Algorithm 17 and of Kyber.CCAKEM.Enc,
// which hashes it first). Test-only: it is reachable from tests through
// export_test.go.
func encapsulateDeterministic(pk *PublicKey, m []byte) ([]byte, [SharedSecretSize]byte, error) {
	if len(m) != mSize {
		return nil, [SharedSecretSize]byte{}, fmt.Errorf("%w: m has %d bytes, want %d", errSeedLength, len(m), mSize)
	}
	return pk.encapsulate((*[mSize]byte)(m))
}

func (pk *PublicKey) encapsulate(m *[mSize]byte) ([]byte, [SharedSecretSize]byte, error) {
	var ss [SharedSecretSize]byte
	if pk == nil || pk.enc == nil {
		return nil, ss, fmt.Errorf("%w: uninitialized public key", ErrUnknownKeyType)
	}
	defer cpu.VZeroUpper()
	ct := make([]byte, CiphertextSize)
	ct[0] = pk.b[0]
	// Concrete calls, so that ss and m do not escape to the heap.
	switch k := pk.enc.(type) {
	case *kyber1024.PublicKey:
		k.EncapsulateTo(ct[1:], ss[:], m[:])
	case *mlkem1024.PublicKey:
		k.EncapsulateTo(ct[1:], ss[:], m[:])
	}
	return ct, ss, nil
}

// SecretKey is a parsed KEM secret (decapsulation) key with its public key.
// Its zero value is not usable; get one from [GenerateKey] or
// [ParseSecretKey]. It prints only its type with the fmt package.
type SecretKey struct {
	// The secret material sits behind pointers so that even fmt's
	// reflection on a struct embedding a SecretKey value prints addresses,
	// not key bytes.
	b   *[SecretKeySize]byte // serialized, type byte first
	dec decapsulator
	pub *PublicKey
}

// GenerateKey returns a new key pair of type t, drawing the 64-byte seed
// d || z from crypto/rand. It fails only for an unknown type.
func GenerateKey(t Type) (*SecretKey, error) {
	if !t.known() {
		return nil, fmt.Errorf("%w: %#02x", ErrUnknownKeyType, byte(t))
	}
	var seed [seedSize]byte
	_, _ = rand.Read(seed[:]) // never fails (Go ≥ 1.24 aborts the program instead)
	sk, err := newKeyFromSeed(t, seed[:])
	clear(seed[:])
	return sk, err
}

// newKeyFromSeed derives the key pair of type t from the 64-byte seed d || z
// (ML-KEM.KeyGen_internal of FIPS 203 Algorithm 16 for MLKEM1024; for
// Kyber1024 the round-3 key generation with the same d and z). Test-only
// outside GenerateKey.
func newKeyFromSeed(t Type, seed []byte) (*SecretKey, error) {
	if !t.known() {
		return nil, fmt.Errorf("%w: %#02x", ErrUnknownKeyType, byte(t))
	}
	if len(seed) != seedSize {
		return nil, fmt.Errorf("%w: seed has %d bytes, want %d", errSeedLength, len(seed), seedSize)
	}
	defer cpu.VZeroUpper()
	sk := &SecretKey{b: new([SecretKeySize]byte), pub: new(PublicKey)}
	sk.b[0], sk.pub.b[0] = byte(t), byte(t)
	switch t {
	case Kyber1024:
		p, s := kyber1024.NewKeyFromSeed(seed)
		p.Pack(sk.pub.b[1:])
		s.Pack(sk.b[1:])
		sk.pub.enc, sk.dec = p, s
	case MLKEM1024:
		p, s := mlkem1024.NewKeyFromSeed(seed)
		p.Pack(sk.pub.b[1:])
		s.Pack(sk.b[1:])
		sk.pub.enc, sk.dec = p, s
	}
	return sk, nil
}

// ParseSecretKey parses a serialized secret key: a type byte followed by
// exactly 3168 bytes dk_pke || ek || H(ek) || z that pass the checks listed
// in the package documentation. On error it returns nil; the error never
// contains key material.
func ParseSecretKey(b []byte) (*SecretKey, error) {
	defer cpu.VZeroUpper()
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrKeyLength)
	}
	t := Type(b[0])
	if !t.known() {
		return nil, fmt.Errorf("%w: %#02x", ErrUnknownKeyType, b[0])
	}
	if len(b) != SecretKeySize {
		return nil, fmt.Errorf("%w: %s secret key has %d bytes, want %d", ErrKeyLength, t, len(b), SecretKeySize)
	}
	raw := b[1:]
	dk, ek, h := raw[:dkPKESize], raw[dkPKESize:dkPKESize+ekSize], raw[dkPKESize+ekSize:dkPKESize+ekSize+32]
	if !canonical(ek[:tSize]) {
		return nil, fmt.Errorf("%w: %s embedded public key not reduced modulo q", ErrInvalidSecretKey, t)
	}
	if hek := sha3.Sum256(ek); subtle.ConstantTimeCompare(hek[:], h) != 1 {
		return nil, fmt.Errorf("%w: %s hash check failed", ErrInvalidSecretKey, t)
	}
	if !canonical(dk) {
		return nil, fmt.Errorf("%w: %s coefficient not reduced modulo q", ErrInvalidSecretKey, t)
	}
	sk := &SecretKey{b: new([SecretKeySize]byte), pub: new(PublicKey)}
	copy(sk.b[:], b)
	sk.pub.b[0] = byte(t)
	copy(sk.pub.b[1:], ek)
	switch t {
	case Kyber1024:
		s := new(kyber1024.PrivateKey)
		s.Unpack(raw)
		p, ok := s.Public().(*kyber1024.PublicKey)
		if !ok { // unreachable
			return nil, fmt.Errorf("%w: %s", ErrInvalidSecretKey, t)
		}
		sk.dec, sk.pub.enc = s, p
	case MLKEM1024:
		s := new(mlkem1024.PrivateKey)
		if err := s.Unpack(raw); err != nil { // unreachable after the hash check
			return nil, fmt.Errorf("%w: %s", ErrInvalidSecretKey, t)
		}
		p, ok := s.Public().(*mlkem1024.PublicKey)
		if !ok { // unreachable
			return nil, fmt.Errorf("%w: %s", ErrInvalidSecretKey, t)
		}
		sk.dec, sk.pub.enc = s, p
	}
	return sk, nil
}

// Type returns the key's KEM type.
func (sk *SecretKey) Type() Type {
	if sk == nil || sk.dec == nil {
		return 0
	}
	return Type(sk.b[0])
}

// Bytes returns a copy of the serialized secret key (type byte first, 3169
// bytes), or nil for a nil or zero key. The result must be kept secret.
func (sk *SecretKey) Bytes() []byte {
	if sk == nil || sk.dec == nil {
		return nil
	}
	out := *sk.b
	return out[:]
}

// PublicKey returns the public key embedded in sk (nil for a nil or zero
// key). It shares no mutable state with sk.
func (sk *SecretKey) PublicKey() *PublicKey {
	if sk == nil || sk.dec == nil {
		return nil
	}
	return sk.pub
}

// Decapsulate returns the shared secret encapsulated in a serialized
// ciphertext (type byte first). The ciphertext must be exactly
// [CiphertextSize] bytes and carry sk's type byte; otherwise Decapsulate
// returns a zero secret and ErrCiphertextLength, ErrUnknownKeyType or
// ErrWrongKEMType. A well-formed ciphertext that was not made for sk yields
// a pseudorandom secret, not an error (implicit rejection). The shared secret
// must be kept secret.
func (sk *SecretKey) Decapsulate(ciphertext []byte) ([SharedSecretSize]byte, error) {
	var ss [SharedSecretSize]byte
	if sk == nil || sk.dec == nil {
		return ss, fmt.Errorf("%w: uninitialized secret key", ErrUnknownKeyType)
	}
	if len(ciphertext) == 0 {
		return ss, fmt.Errorf("%w: empty", ErrCiphertextLength)
	}
	ct := Type(ciphertext[0])
	if !ct.known() {
		return ss, fmt.Errorf("%w: ciphertext type %#02x", ErrUnknownKeyType, ciphertext[0])
	}
	if kt := Type(sk.b[0]); ct != kt {
		return ss, fmt.Errorf("%w: %s ciphertext for %s key", ErrWrongKEMType, ct, kt)
	}
	if len(ciphertext) != CiphertextSize {
		return ss, fmt.Errorf("%w: %d bytes, want %d", ErrCiphertextLength, len(ciphertext), CiphertextSize)
	}
	defer cpu.VZeroUpper()
	// Concrete calls, so that ss does not escape to the heap.
	switch k := sk.dec.(type) {
	case *kyber1024.PrivateKey:
		k.DecapsulateTo(ss[:], ciphertext[1:])
	case *mlkem1024.PrivateKey:
		k.DecapsulateTo(ss[:], ciphertext[1:])
	}
	return ss, nil
}

// String returns a description of sk that contains no secret.
func (sk *SecretKey) String() string {
	if sk == nil {
		return "kem.SecretKey(nil)"
	}
	if sk.dec == nil {
		return "kem.SecretKey(zero)"
	}
	return "kem.SecretKey(" + Type(sk.b[0]).String() + ")"
}

// Format implements fmt.Formatter so that every verb (%v, %+v, %#v, %x, %s,
// ...) prints only String, never key material.
func (sk *SecretKey) Format(f fmt.State, verb rune) {
	_, _ = f.Write([]byte(sk.String()))
}

// canonical reports, in constant time, whether every 12-bit coefficient
// packed in b (ByteEncode_12 of FIPS 203 Algorithm 5, three bytes per two
// coefficients) is below q. len(b) must be a multiple of 3.
func canonical(b []byte) bool {
	var bad uint32
	for i := 0; i+3 <= len(b); i += 3 {
		c0 := uint32(b[i]) | uint32(b[i+1]&0x0f)<<8
		c1 := uint32(b[i+1]>>4) | uint32(b[i+2])<<4
		// q-1-c wraps around (sets bit 31) exactly when c >= q.
		bad |= (q - 1 - c0) | (q - 1 - c1)
	}
	return bad>>31 == 0
}
