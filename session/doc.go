// Package session runs Signal sessions with peers as libsignal does: it
// processes pre-key bundles (X3DH or PQXDH), encrypts with PreKey messages
// until the peer answers, decrypts both message types with libsignal's
// session-selection rules, and keeps session records in libsignal's
// RecordStructure encoding.
//
// It follows the session-management part of the Signal protocol
// ([Sesame]): a record holds the current session state and up to 40
// archived ones; a message that fails on the current state is tried on the
// archived ones, and the one that decrypts it becomes current.
//
// # Policy on X3DH
//
// Current libsignal refuses to start new version 3 (X3DH) sessions; only
// PQXDH (version 4) is used. A [Manager] does the same by default. The
// option [WithX3DH] enables X3DH both for outgoing bundles without a Kyber
// pre-key and for incoming version 3 PreKey messages, which WhatsApp-style
// deployments need. Existing version 3 sessions keep working either way.
//
// # Failure
//
// Nothing is stored when a decryption fails: records are loaded, changed in
// memory and written back only after success, and one-time pre-keys are
// removed only after the message that used them decrypted.
//
// # Concurrency
//
// A Manager is safe for concurrent use. Operations on one peer address are
// serialized; different peers proceed in parallel.
//
// [Sesame]: https://signal.org/docs/specifications/sesame/
package session
