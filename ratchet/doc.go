// Package ratchet implements the Double Ratchet of the Signal protocol as
// libsignal runs it: the root, chain and message-key derivations, the
// Diffie-Hellman ratchet step, skipped message keys, and the wire format of
// SignalMessage and PreKeySignalMessage.
//
// It follows [The Double Ratchet Algorithm] (KDF_RK, KDF_CK, RatchetEncrypt,
// RatchetDecrypt) with libsignal's concrete choices: HKDF-SHA256 with the info
// strings "WhisperRatchet" and "WhisperMessageKeys", AES-256-CBC with PKCS#7
// padding, and an HMAC-SHA256 truncated to 8 bytes over both identity keys,
// the version byte and the protobuf body.
//
// # State
//
// A [State] is one session state: what libsignal stores as a
// SessionStructure. Its binary form ([State.MarshalBinary],
// [ParseState]) is byte-compatible with libsignal's, so records move between
// the two implementations. A State is not safe for concurrent use; the
// session package serializes access per peer.
//
// # Limits
//
// Receivers keep at most [MaxReceiverChains] chains, at most [MaxMessageKeys]
// skipped message keys per chain (as 32-byte seeds, newest kept) and accept a
// message at most [MaxForwardJumps] ahead of its chain.
//
// # Failure
//
// [State.Decrypt] is transactional: every change is planned on local
// variables and applied only after the MAC and the padding checked out. A
// message that fails for any reason (bad MAC, bad padding, duplicate, too far
// in the future, wrong version) leaves the state exactly as it was.
//
// [The Double Ratchet Algorithm]: https://signal.org/docs/specifications/doubleratchet/
package ratchet
