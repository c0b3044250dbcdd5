// Package senderkey implements Signal's sender keys, the group-messaging
// scheme of libsignal (rust/protocol/src/sender_keys.rs, group_cipher.rs),
// in libsignal's wire format and in the legacy format that WhatsApp and
// go.mau.fi/libsignal use.
//
// Each group member owns a sender key per group: a chain of 32-byte chain
// keys with a 31-bit chain id, and a Curve25519 signing key pair. The member
// hands the current chain key and the public signing key to every other
// member in a [DistributionMessage] (SKDM), which must travel inside an
// authenticated 1:1 message since it is not authenticated itself. A group
// message ([Message], SKM) is then encrypted once for all:
//
//	seed      = HMAC-SHA256(chain_key[i], 0x01)
//	iv || key = HKDF-SHA256(salt = none, IKM = seed, info = "WhisperGroup", L = 48)  (16 || 32 bytes)
//	body      = AES-256-CBC(key, iv, PKCS#7(plaintext))
//	chain_key[i+1] = HMAC-SHA256(chain_key[i], 0x02)
//
// and signed with XEdDSA by the signing key over the version byte and the
// protobuf body.
//
// # Formats
//
// [Libsignal] (the default): the version byte is 0x33 and the messages name
// the group by a 16-byte distribution id (a UUID):
//
//	SKM  = 0x33 || protobuf {1 distribution_uuid, 2 chain_id, 3 iteration, 4 ciphertext} || signature (64)
//	SKDM = 0x33 || protobuf {1 distribution_uuid, 2 chain_id, 3 iteration, 4 chain_key (32), 5 signing_key (33)}
//
// [WhatsApp]: the same version byte and cryptography without the
// distribution id (the application's group id names the chain), and a
// forward-jump limit of 2000 instead of 25000:
//
//	SKM  = 0x33 || protobuf {1 id, 2 iteration, 3 ciphertext} || signature (64)
//	SKDM = 0x33 || protobuf {1 id, 2 iteration, 3 chainKey (32), 4 signingKey (33)}
//
// # Records
//
// A [Record] holds up to [MaxStates] states (chains) of one sender for one
// group, newest first, and encodes as libsignal's SenderKeyRecordStructure
// (proto/storage.proto), byte for byte. A receiver's state keeps at most
// [MaxMessageKeys] skipped message keys, dropping the oldest. The record's
// methods follow libsignal's rules: a failed [Record.Decrypt] or
// [Record.Encrypt] leaves the record exactly as it was, and the signature
// of a message is checked before the chain moves.
//
// # Secrets
//
// Chain keys, message keys and the private signing key must be kept secret.
// No error, and no fmt output of the types here, contains key material or
// plaintext.
package senderkey
