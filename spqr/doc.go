// Package spqr implements SPQR v1, Signal's Sparse Post-Quantum Ratchet, as
// Signal's spqr crate 1.5.3 does: the ML-KEM Braid over ML-KEM-768 (an SCKA
// whose public key and ciphertext travel in erasure-coded 32-byte chunks),
// a symmetric chain that turns its epoch secrets into one 32-byte key per
// message, and the protobuf state encoding libsignal stores in
// SessionStructure field 15.
//
// The protocol is described in [The ML-KEM Braid Protocol] and
// [Signal Protocol and Post-Quantum Ratchets]; this package is written from
// the project's notes (SPQR.md), section numbers below refer to them.
//
// The API works on opaque state bytes, like libsignal: [Init] creates the
// state from the 32-byte PQXDH-derived key, [Send] and [Recv] are pure
// functions from the state (and a message) to a new state, an optional
// 32-byte message key and, for Send, the SPQR message for
// SignalMessage.pq_ratchet. On error the returned state is nil and the
// caller keeps its old one.
//
// [The ML-KEM Braid Protocol]: https://signal.org/docs/specifications/mlkembraid/
// [Signal Protocol and Post-Quantum Ratchets]: https://signal.org/blog/spqr/
package spqr
