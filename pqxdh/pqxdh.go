// Package pqxdh implements the PQXDH key agreement of session version 4 as
// libsignal computes it, as specified in [The PQXDH Key Agreement Protocol]
// (Kret and Schmidt), §3.3 "Sending the initial message" and
// §3.4 "Receiving the initial message".
//
// The package is a pure function from keys to secrets: [Initiate] is Alice's
// side, run against Bob's published keys; [Respond] is Bob's side, run with his
// private keys against the fields of Alice's initial message. It knows nothing
// of pre-key ids, stores, or ratchets; package prekey verifies bundles and
// holds the key records, and the Double Ratchet takes the derived keys.
//
// With IK identity keys, EK_A Alice's ephemeral ("base") key, SPKB Bob's
// signed pre-key, OPKB his optional one-time pre-key and PQPKB his signed KEM
// ("Kyber") pre-key, which the specification calls PQSPKB or PQOPKB depending
// on whether it is a last-resort or a one-time key:
//
//	DH1 = DH(IK_A, SPKB)
//	DH2 = DH(EK_A, IK_B)
//	DH3 = DH(EK_A, SPKB)
//	DH4 = DH(EK_A, OPKB)      only if Bob's bundle has a one-time pre-key
//	(CT, SS) = PQKEM-ENC(PQPKB)
//	RK || CK || PQR = HKDF(salt = none, 0xFF×32 || DH1 || DH2 || DH3 [|| DH4] || SS,
//	                       "WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024", 96)
//
// RK and CK are the Double Ratchet's initial root key and chain key; PQR is
// the key the sparse post-quantum ratchet (SPQR) starts from.
//
// # Differences from the PQXDH specification
//
// The DH order, the 32 0xFF bytes that open the HKDF input and the KEM secret
// last are the specification's. libsignal fixes the open parameters: curve
// X25519, hash SHA-256, info "WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024"
// (the same whatever the KEM), salt none (32 zero bytes). Where the
// specification derives a single 32-byte SK, libsignal derives 96 bytes and
// splits them into RK, CK and the SPQR start key. The KEM is CRYSTALS-Kyber
// round 3 (kem.Kyber1024, type byte 0x08), which Signal ships, or, behind a
// non-default libsignal feature, FIPS 203 ML-KEM-1024 (kem.MLKEM1024, 0x0A);
// keys and the ciphertext CT carry that type byte, so CT is 1569 bytes, and
// decapsulation requires the ciphertext's type to match the key's. Bob first
// rejects a base key EK_A that is not canonical ([keys.PublicKey.IsCanonical]:
// u fully reduced and in the prime-order subgroup), as libsignal does, and an
// all-zero DH output (a low-order key) is rejected on either side.
//
// Signatures over the pre-keys are checked where bundles are parsed (package
// prekey), not here: [Initiate] trusts the keys it is given.
//
// [The PQXDH Key Agreement Protocol]: https://signal.org/docs/specifications/pqxdh/
package pqxdh

import (
	"errors"
	"fmt"

	"github.com/ratchetlab/signal/kdf"
	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
)

// Version is the session and message version of a PQXDH session.
const Version = 4

// Errors returned by Initiate and Respond, in addition to the key errors of
// packages keys (keys.ErrInvalidKeyAgreement) and kem (kem.ErrWrongKEMType,
// kem.ErrCiphertextLength, kem.ErrUnknownKeyType), which are wrapped.
var (
	// ErrMissingKey is returned when a required key (an identity key,
	// Bob's signed pre-key, or either side's Kyber pre-key) is nil.
	ErrMissingKey = errors.New("pqxdh: missing key")
	// ErrInvalidBaseKey is returned by Respond for a base key EK_A that is
	// not canonical (libsignal: "incoming base key is invalid").
	ErrInvalidBaseKey = errors.New("pqxdh: incoming base key is invalid")
)

// Secrets are the keys derived by the key agreement. They must be kept
// secret; Secrets never prints them.
type Secrets struct {
	root, chain, pqr [32]byte
}

// RootKey returns the initial root key RK (OKM[0:32]).
func (s Secrets) RootKey() [32]byte { return s.root }

// ChainKey returns the initial chain key CK (OKM[32:64]), chain index 0.
// Alice's session uses it for her receiving chain on SPKB, Bob's for his
// sending chain.
func (s Secrets) ChainKey() [32]byte { return s.chain }

// SPQRKey returns the start (authentication) key of the sparse post-quantum
// ratchet (OKM[64:96]).
func (s Secrets) SPQRKey() [32]byte { return s.pqr }

// Clear overwrites the secrets with zeros.
func (s *Secrets) Clear() {
	clear(s.root[:])
	clear(s.chain[:])
	clear(s.pqr[:])
}

// Format implements fmt.Formatter; it prints no key material.
func (s Secrets) Format(f fmt.State, _ rune) { fmt.Fprint(f, "pqxdh.Secrets{…}") }

// BobKeys are the public keys Alice takes from Bob's pre-key bundle, which
// the caller has already verified (package prekey checks the signatures on
// SPKB and PQPKB).
type BobKeys struct {
	// IdentityKey is IK_B.
	IdentityKey keys.PublicKey
	// SignedPreKey is SPKB.
	SignedPreKey keys.PublicKey
	// OneTimePreKey is OPKB; the zero value means the bundle has none.
	OneTimePreKey keys.PublicKey
	// KyberPreKey is PQPKB (libsignal's "Kyber pre-key"); required.
	KyberPreKey *kem.PublicKey
}

// Message holds the fields of Alice's initial message (a
// PreKeySignalMessage) that the key agreement determines. Pre-key ids,
// registration id and the inner SignalMessage are the caller's.
type Message struct {
	// IdentityKey is Alice's identity key IK_A (field identity_key).
	IdentityKey keys.PublicKey
	// BaseKey is Alice's ephemeral key EK_A (field base_key).
	BaseKey keys.PublicKey
	// KyberCiphertext is the KEM ciphertext CT, serialized with its type
	// byte (field kyber_ciphertext, 1569 bytes).
	KyberCiphertext []byte
}

// Initiate runs Alice's side of PQXDH (specification §3.3) with her identity
// key, her ephemeral ("base") key EK_A and Bob's public keys. If base is nil a
// fresh one is drawn from crypto/rand. The KEM encapsulation always draws
// fresh randomness. A base key must never be used for more than one session.
//
// It returns the derived secrets and the fields of the initial message. An
// error (for a low-order key of Bob's, [keys.ErrInvalidKeyAgreement]) leaves
// nothing derived.
func Initiate(identity, base *keys.PrivateKey, bob BobKeys) (Secrets, Message, error) {
	if identity == nil || bob.KyberPreKey == nil {
		return Secrets{}, Message{}, ErrMissingKey
	}
	if base == nil {
		var err error
		if base, err = keys.GeneratePrivateKey(); err != nil {
			return Secrets{}, Message{}, err
		}
	}
	var dh [5][32]byte // DH1..DH4, then SS
	defer clear(dh[:])
	n, err := aliceDH(&dh, identity, base, bob.IdentityKey, bob.SignedPreKey, bob.OneTimePreKey)
	if err != nil {
		return Secrets{}, Message{}, err
	}
	ct, ss, err := bob.KyberPreKey.Encapsulate()
	if err != nil {
		return Secrets{}, Message{}, fmt.Errorf("pqxdh: %w", err)
	}
	dh[n] = ss
	clear(ss[:])
	s := derive(&dh, n+1)
	return s, Message{IdentityKey: identity.PublicKey(), BaseKey: base.PublicKey(), KyberCiphertext: ct}, nil
}

// Respond runs Bob's side of PQXDH (specification §3.4) with his identity
// key, the private keys of the signed pre-key SPKB, the one-time pre-key OPKB
// (nil if Alice's message names none) and the Kyber pre-key PQPKB that Alice
// used, and the fields of her initial message. It returns the same secrets as
// Alice's [Initiate].
//
// It first rejects a non-canonical base key with ErrInvalidBaseKey; a
// ciphertext of the wrong length or of another KEM type than the key's fails
// with the kem error, wrapped.
func Respond(identity, signedPreKey, oneTimePreKey *keys.PrivateKey, kyberPreKey *kem.SecretKey, msg Message) (Secrets, error) {
	if identity == nil || signedPreKey == nil || kyberPreKey == nil {
		return Secrets{}, ErrMissingKey
	}
	if !msg.BaseKey.IsCanonical() {
		return Secrets{}, ErrInvalidBaseKey
	}
	var dh [5][32]byte
	defer clear(dh[:])
	n, err := bobDH(&dh, identity, signedPreKey, oneTimePreKey, msg.IdentityKey, msg.BaseKey)
	if err != nil {
		return Secrets{}, err
	}
	ss, err := kyberPreKey.Decapsulate(msg.KyberCiphertext)
	if err != nil {
		return Secrets{}, fmt.Errorf("pqxdh: %w", err)
	}
	dh[n] = ss
	clear(ss[:])
	return derive(&dh, n+1), nil
}

// aliceDH computes DH1..DH4 on Alice's side into dh and returns how many it
// computed (3 without OPKB, else 4).
func aliceDH(dh *[5][32]byte, ikA, ekA *keys.PrivateKey, ikB, spkB, opkB keys.PublicKey) (int, error) {
	var err error
	if dh[0], err = ikA.Agree(spkB); err != nil { // DH1 = DH(IK_A, SPKB)
		return 0, fmt.Errorf("pqxdh: DH1: %w", err)
	}
	if dh[1], err = ekA.Agree(ikB); err != nil { // DH2 = DH(EK_A, IK_B)
		return 0, fmt.Errorf("pqxdh: DH2: %w", err)
	}
	if dh[2], err = ekA.Agree(spkB); err != nil { // DH3 = DH(EK_A, SPKB)
		return 0, fmt.Errorf("pqxdh: DH3: %w", err)
	}
	if opkB.IsZero() {
		return 3, nil
	}
	if dh[3], err = ekA.Agree(opkB); err != nil { // DH4 = DH(EK_A, OPKB)
		return 0, fmt.Errorf("pqxdh: DH4: %w", err)
	}
	return 4, nil
}

// bobDH computes the same DH1..DH4 on Bob's side.
func bobDH(dh *[5][32]byte, ikB, spkB, opkB *keys.PrivateKey, ikA, ekA keys.PublicKey) (int, error) {
	var err error
	if dh[0], err = spkB.Agree(ikA); err != nil { // DH1 = DH(SPKB, IK_A)
		return 0, fmt.Errorf("pqxdh: DH1: %w", err)
	}
	if dh[1], err = ikB.Agree(ekA); err != nil { // DH2 = DH(IK_B, EK_A)
		return 0, fmt.Errorf("pqxdh: DH2: %w", err)
	}
	if dh[2], err = spkB.Agree(ekA); err != nil { // DH3 = DH(SPKB, EK_A)
		return 0, fmt.Errorf("pqxdh: DH3: %w", err)
	}
	if opkB == nil {
		return 3, nil
	}
	if dh[3], err = opkB.Agree(ekA); err != nil { // DH4 = DH(OPKB, EK_A)
		return 0, fmt.Errorf("pqxdh: DH4: %w", err)
	}
	return 4, nil
}

// derive runs libsignal's PQXDH KDF over the first n secrets (the DH outputs
// followed by the KEM shared secret SS).
func derive(in *[5][32]byte, n int) Secrets {
	var s Secrets
	if n == 5 {
		s.root, s.chain, s.pqr = kdf.PQXDH(in[0][:], in[1][:], in[2][:], in[3][:], in[4][:])
	} else {
		s.root, s.chain, s.pqr = kdf.PQXDH(in[0][:], in[1][:], in[2][:], in[3][:])
	}
	return s
}
