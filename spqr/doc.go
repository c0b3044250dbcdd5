// Package spqr implements SPQR v1, Signal's Sparse Post-Quantum Ratchet, as
// Signal's spqr crate 1.5.3 does: the ML-KEM Braid over ML-KEM-768 (an SCKA
// whose public key and ciphertext travel in erasure-coded 32-byte chunks),
// a symmetric chain that turns its epoch secrets into one 32-byte key per
// message, and the protobuf state encoding libsignal stores in
// SessionStructure field 15.
//
// The protocol is described in [The ML-KEM Braid Protocol] and
// [Signal Protocol and Post-Quantum Ratchets]; the byte-level details follow
// Signal's implementation, the [spqr crate]: comments in this package name
// the file of that repository each part corresponds to.
//
// The state is a [State], decoded once ([ParseState], or [New] from the
// 32-byte PQXDH-derived key) and kept decoded between messages:
// [State.Send] and [State.Recv] advance it in place and give an optional
// 32-byte message key and, for Send, the SPQR message for
// SignalMessage.pq_ratchet; [State.AppendBinary] encodes it when the session
// record is written. A step can be undone with [State.Rollback] until
// [State.Commit] (or the next step), which is what a receiver needs when the
// message then fails to authenticate. [Init], [Send] and [Recv] are the same
// operations on encoded states (parse, step, encode), as libsignal's API has
// them.
//
// # Integration with the Double Ratchet
//
// libsignal (the "Triple Ratchet") runs Send exactly once per encrypted
// message and Recv once per decrypted message, before checking its MAC;
// the key, when present, is the salt of the HKDF that derives the message
// keys from the chain-key seed. The new SPQR state is committed together
// with the Double Ratchet state, only when decryption succeeds. A session
// whose state is empty (created without SPQR: a nil State) stays classical:
// Send gives no message and no key, and Recv ignores SPQR data. A session
// created with [New] requires SPQR data on every message: Recv of an empty
// message fails with [ErrMinimumVersion] (before the first message was
// received) or [ErrVersionMismatch] (after).
//
// # State compatibility
//
// States written by Signal's implementation parse and re-encode byte for
// byte, and states written here use the same encoding. The one
// implementation-specific part is the 2080-byte encapsulation state "es" of
// the send_ct side, which libcrux stores as its r_hat and e2 polynomials
// (256 × i16 each) followed by the 32-byte message m. This package writes
// the same bytes (checked against the states libsignal 0.103.0 wrote in a
// recorded conversation) and reads both this layout and the byte-swapped
// one of old libcrux versions (libcrux issue 1275).
//
// [The ML-KEM Braid Protocol]: https://signal.org/docs/specifications/mlkembraid/
// [Signal Protocol and Post-Quantum Ratchets]: https://signal.org/blog/spqr/
// [spqr crate]: https://github.com/signalapp/SparsePostQuantumRatchet
package spqr
