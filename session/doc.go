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
// Every store write of an operation (for a received message: the session,
// the pre-key removal, the Kyber pre-key mark and the peer's identity)
// happens at one commit point, inside one transaction when the stores
// offer [Atomic] ([MemoryStore] does). [Manager.Receive] runs the
// application's handler inside that transaction, so that the message is
// saved if and only if the session advances. Stores without Atomic get an
// order of writes under which a failure of any write loses nothing: the
// retry decrypts the message.
//
// Errors say what went wrong precisely enough to drive a retry:
// [ErrDecryption] (bad MAC; a retry request is useful), [ErrDuplicateMessage],
// [ErrTooFarInFuture], [ErrModeMismatch], [ErrCorruptState] (our own state
// does not parse), [ErrNoSession], [*UntrustedIdentityError] (with the
// refused key), [*PreKeyIDError] (which pre-key is gone),
// [ErrReusedBaseKey], [ErrKeyAgreement], [ErrMalformedMessage],
// [ErrMessageTooShort], [ErrInvalidVersion] (the message does not parse);
// a store's own error leaves everything as it was. The ratchet's errors
// are re-exported here, so callers need not import package ratchet; a
// record's current state is summed up, read-only, by [Record.Info]. Records, stores and Managers print no key material
// with any fmt verb.
//
// # Bounds
//
// The current state follows libsignal's limits. Archived states are tried
// within a work budget and keep few skipped keys (see [MaxArchivedJump],
// [MaxArchivedTrialSteps], [MaxArchivedSkippedKeys]): one forged message
// costs at most about one current-state trial, and one peer can make a
// record hold well under 1 MiB.
//
// # Concurrency
//
// A Manager is safe for concurrent use. Operations on one peer address are
// serialized; different peers proceed in parallel. Several Managers (or
// processes) may share stores that offer Atomic, which serializes the
// operations on one address across them.
//
// [Sesame]: https://signal.org/docs/specifications/sesame/
package session
