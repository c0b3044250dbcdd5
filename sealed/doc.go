// Package sealed implements Signal's sealed sender as libsignal does
// (rust/protocol/src/sealed_sender.rs and proto/sealed_sender.proto at
// libsignal b056faa6d): server and sender certificates, the inner message
// (UnidentifiedSenderMessageContent), the single-recipient envelope v1 and
// the multi-recipient envelope v2 with its sent form and the server's split
// into received forms. The design is described in [Technology preview:
// Sealed sender for Signal] and, for v2, in Barbosa's [Randomness Reuse:
// Extensions and Improvements] (the generic construction of §4.1 with
// ElGamal).
//
// # Certificates
//
// A trust root (a Curve25519 key pair built into clients) signs a
// [ServerCertificate] naming a server key by id; the server key signs a
// [SenderCertificate] naming the sender (uuid, optional e164, device,
// identity key) until an expiry time in milliseconds. Validation checks the
// server certificate against every given trust root (without revealing
// which one matched), that its key id is not revoked (0xDEADC357, as in
// libsignal), the sender certificate's signature, and the expiry.
//
// # Envelopes
//
// v1 (first byte 0x11) encrypts to one recipient's identity key with an
// ephemeral X25519 key: HKDF-SHA256 with salt "UnidentifiedDelivery" ||
// recipient key || ephemeral key gives a chain key and the AES-256-CTR and
// HMAC-SHA256 keys (MAC truncated to 10 bytes) that encrypt the sender's
// identity key; a second HKDF over the static-static agreement, salted with
// the chain key and that ciphertext, gives the keys of the body.
//
// v2 (0x22 received, 0x23 sent) draws a random M, derives the ephemeral key
// E and the body key K from it, and per recipient hides M under DH(E, R) and
// authenticates it under DH(S, R); the body is AES-256-GCM-SIV with a zero
// nonce. [SealMulti] writes the sent form, [ParseSentMessage] reads it and
// gives each recipient's received form, which [Open] opens like a v1
// message.
//
// [Open] only opens the envelope: the caller validates the certificate and
// decrypts the inner message (package session does both, all or nothing).
//
// [Technology preview: Sealed sender for Signal]: https://signal.org/blog/sealed-sender/
// [Randomness Reuse: Extensions and Improvements]: https://haslab.uminho.pt/mbb/files/reuse.pdf
package sealed
