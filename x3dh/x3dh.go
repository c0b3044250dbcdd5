// Package x3dh implements the X3DH key agreement of session version 3 as
// libsignal computes it, as specified in [The X3DH Key Agreement Protocol]
// (Marlinspike and Perrin, 2016), §3.3 "Sending the initial message" and
// §3.4 "Receiving the initial message".
//
// The package is a pure function from keys to secrets: [Initiate] is Alice's
// side, run against Bob's published keys; [Respond] is Bob's side, run with his
// private keys against the fields of Alice's initial message. It knows nothing
// of pre-key ids, stores, or ratchets; package prekey verifies bundles and
// holds the key records, and the Double Ratchet takes the derived keys.
//
// With IK identity keys, EK_A Alice's ephemeral ("base") key, SPKB Bob's
// signed pre-key and OPKB his optional one-time pre-key:
//
//	DH1 = DH(IK_A, SPKB)
//	DH2 = DH(EK_A, IK_B)
//	DH3 = DH(EK_A, SPKB)
//	DH4 = DH(EK_A, OPKB)      only if Bob's bundle has a one-time pre-key
//	RK || CK = HKDF(salt = none, 0xFF×32 || DH1 || DH2 || DH3 [|| DH4], "WhisperText", 64)
//
// # Differences from the X3DH specification
//
// The DH order and the 32 0xFF bytes that open the HKDF input (the
// specification's F, which separates X3DH from XEdDSA's use of the same keys)
// are the specification's. libsignal fixes its open parameters: curve X25519,
// hash SHA-256, info "WhisperText", and the HKDF salt is none (32 zero bytes,
// as the specification says). Where the specification derives a single 32-byte
// SK, libsignal derives 64 bytes and splits them into the Double Ratchet's
// initial root key and the initial chain key (RK and CK above), so the first
// chain needs no separate derivation. Keys are libsignal's 33-byte encodings
// (0x05 || u), and an all-zero DH output (a low-order peer key) is rejected.
// Unlike PQXDH, libsignal never checked that a version-3 base key is
// canonical, and neither does [Respond].
//
// Version 3 is historical: libsignal stopped accepting new X3DH sessions in
// v0.75.0 and creates only PQXDH (version 4, package pqxdh) sessions. X3DH is
// kept so that version-3 sessions recorded by older libsignal releases can be
// reproduced and tested.
//
// [The X3DH Key Agreement Protocol]: https://signal.org/docs/specifications/x3dh/
package x3dh

import (
	"errors"
	"fmt"

	"github.com/ratchetlab/signal/kdf"
	"github.com/ratchetlab/signal/keys"
)

// Version is the session and message version of an X3DH session.
const Version = 3

// ErrMissingKey is returned when a required private key (an identity key or
// Bob's signed pre-key) is nil.
var ErrMissingKey = errors.New("x3dh: missing private key")

// Secrets are the keys derived by the key agreement: the Double Ratchet's
// initial root key and the initial chain key (index 0). They must be kept
// secret; Secrets never prints them.
type Secrets struct {
	root, chain [32]byte
}

// RootKey returns the initial root key RK (OKM[0:32]).
func (s Secrets) RootKey() [32]byte { return s.root }

// ChainKey returns the initial chain key CK (OKM[32:64]), chain index 0.
// Alice's session uses it for her receiving chain on SPKB, Bob's for his
// sending chain.
func (s Secrets) ChainKey() [32]byte { return s.chain }

// Clear overwrites the secrets with zeros.
func (s *Secrets) Clear() {
	clear(s.root[:])
	clear(s.chain[:])
}

// Format implements fmt.Formatter; it prints no key material.
func (s Secrets) Format(f fmt.State, _ rune) { fmt.Fprint(f, "x3dh.Secrets{…}") }

// BobKeys are the public keys Alice takes from Bob's pre-key bundle, which
// the caller has already verified (package prekey checks the signature on
// SPKB).
type BobKeys struct {
	// IdentityKey is IK_B.
	IdentityKey keys.PublicKey
	// SignedPreKey is SPKB.
	SignedPreKey keys.PublicKey
	// OneTimePreKey is OPKB; the zero value means the bundle has none.
	OneTimePreKey keys.PublicKey
}

// Message holds the fields of Alice's initial message (a
// PreKeySignalMessage) that the key agreement determines. Pre-key ids,
// registration id and the inner SignalMessage are the caller's.
type Message struct {
	// IdentityKey is Alice's identity key IK_A (field identity_key).
	IdentityKey keys.PublicKey
	// BaseKey is Alice's ephemeral key EK_A (field base_key).
	BaseKey keys.PublicKey
}

// Initiate runs Alice's side of X3DH (specification §3.3) with her identity
// key, her ephemeral ("base") key EK_A and Bob's public keys. If base is nil a
// fresh one is drawn from crypto/rand; passing it in makes the function
// deterministic. A base key must never be used for more than one session.
//
// It returns the derived secrets and the fields of the initial message. An
// error (for a low-order key of Bob's, [keys.ErrInvalidKeyAgreement]) leaves
// nothing derived.
func Initiate(identity, base *keys.PrivateKey, bob BobKeys) (Secrets, Message, error) {
	if identity == nil {
		return Secrets{}, Message{}, ErrMissingKey
	}
	if base == nil {
		var err error
		if base, err = keys.GeneratePrivateKey(); err != nil {
			return Secrets{}, Message{}, err
		}
	}
	var dh [4][32]byte
	defer clear(dh[:])
	n, err := aliceDH(&dh, identity, base, bob.IdentityKey, bob.SignedPreKey, bob.OneTimePreKey)
	if err != nil {
		return Secrets{}, Message{}, err
	}
	s := derive(&dh, n)
	return s, Message{IdentityKey: identity.PublicKey(), BaseKey: base.PublicKey()}, nil
}

// Respond runs Bob's side of X3DH (specification §3.4) with his identity key,
// the private key of the signed pre-key SPKB that Alice used, the private key
// of the one-time pre-key OPKB she used (nil if her message names none), and
// the fields of her initial message. It returns the same secrets as Alice's
// [Initiate].
func Respond(identity, signedPreKey, oneTimePreKey *keys.PrivateKey, msg Message) (Secrets, error) {
	if identity == nil || signedPreKey == nil {
		return Secrets{}, ErrMissingKey
	}
	var dh [4][32]byte
	defer clear(dh[:])
	n, err := bobDH(&dh, identity, signedPreKey, oneTimePreKey, msg.IdentityKey, msg.BaseKey)
	if err != nil {
		return Secrets{}, err
	}
	return derive(&dh, n), nil
}

// aliceDH computes DH1..DH4 on Alice's side into dh and returns how many it
// computed (3 without OPKB, else 4).
func aliceDH(dh *[4][32]byte, ikA, ekA *keys.PrivateKey, ikB, spkB, opkB keys.PublicKey) (int, error) {
	var err error
	if dh[0], err = ikA.Agree(spkB); err != nil { // DH1 = DH(IK_A, SPKB)
		return 0, fmt.Errorf("x3dh: DH1: %w", err)
	}
	if dh[1], err = ekA.Agree(ikB); err != nil { // DH2 = DH(EK_A, IK_B)
		return 0, fmt.Errorf("x3dh: DH2: %w", err)
	}
	if dh[2], err = ekA.Agree(spkB); err != nil { // DH3 = DH(EK_A, SPKB)
		return 0, fmt.Errorf("x3dh: DH3: %w", err)
	}
	if opkB.IsZero() {
		return 3, nil
	}
	if dh[3], err = ekA.Agree(opkB); err != nil { // DH4 = DH(EK_A, OPKB)
		return 0, fmt.Errorf("x3dh: DH4: %w", err)
	}
	return 4, nil
}

// bobDH computes the same DH1..DH4 on Bob's side.
func bobDH(dh *[4][32]byte, ikB, spkB, opkB *keys.PrivateKey, ikA, ekA keys.PublicKey) (int, error) {
	var err error
	if dh[0], err = spkB.Agree(ikA); err != nil { // DH1 = DH(SPKB, IK_A)
		return 0, fmt.Errorf("x3dh: DH1: %w", err)
	}
	if dh[1], err = ikB.Agree(ekA); err != nil { // DH2 = DH(IK_B, EK_A)
		return 0, fmt.Errorf("x3dh: DH2: %w", err)
	}
	if dh[2], err = spkB.Agree(ekA); err != nil { // DH3 = DH(SPKB, EK_A)
		return 0, fmt.Errorf("x3dh: DH3: %w", err)
	}
	if opkB == nil {
		return 3, nil
	}
	if dh[3], err = opkB.Agree(ekA); err != nil { // DH4 = DH(OPKB, EK_A)
		return 0, fmt.Errorf("x3dh: DH4: %w", err)
	}
	return 4, nil
}

// derive runs libsignal's X3DH KDF over the first n DH outputs.
func derive(dh *[4][32]byte, n int) Secrets {
	var s Secrets
	if n == 4 {
		s.root, s.chain = kdf.X3DH(dh[0][:], dh[1][:], dh[2][:], dh[3][:])
	} else {
		s.root, s.chain = kdf.X3DH(dh[0][:], dh[1][:], dh[2][:])
	}
	return s
}
