package prekey

import (
	"errors"
	"fmt"
	"time"

	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
)

var (
	// errCount is returned by GeneratePreKeys for a negative count.
	errCount = errors.New("prekey: negative pre-key count")
	// errNoIdentity is returned for a nil identity key.
	errNoIdentity = errors.New("prekey: nil identity key")
)

// GeneratePreKeys returns count new one-time pre-keys with the ids startID,
// startID+1, ..., wrapping around modulo 2^32. Keys come from crypto/rand.
// Choosing ids that are not in use (Signal clients keep a running counter
// below 2^24) is the caller's job.
func GeneratePreKeys(startID uint32, count int) ([]*PreKeyRecord, error) {
	if count < 0 {
		return nil, errCount
	}
	out := make([]*PreKeyRecord, count)
	for i := range out {
		priv, err := keys.GeneratePrivateKey()
		if err != nil {
			return nil, err
		}
		out[i] = NewPreKeyRecord(startID+uint32(i), priv)
	}
	return out, nil
}

// GenerateSignedPreKey returns a new signed pre-key with the given id: a
// fresh Curve25519 key pair and identity's XEdDSA signature over its 33-byte
// serialized public key, stamped with timestamp (stored in milliseconds).
func GenerateSignedPreKey(identity *keys.PrivateKey, id uint32, timestamp time.Time) (*SignedPreKeyRecord, error) {
	if identity == nil {
		return nil, errNoIdentity
	}
	priv, err := keys.GeneratePrivateKey()
	if err != nil {
		return nil, err
	}
	sig, err := identity.Sign(priv.PublicKey().Bytes())
	if err != nil {
		return nil, err
	}
	return NewSignedPreKeyRecord(id, priv, sig, timestamp), nil
}

// GenerateKyberPreKey returns a new Kyber pre-key of KEM type t
// (kem.Kyber1024 for Signal) with the given id: a fresh KEM key pair and
// identity's XEdDSA signature over its 1569-byte serialized public key,
// stamped with timestamp (stored in milliseconds).
func GenerateKyberPreKey(identity *keys.PrivateKey, id uint32, t kem.Type, timestamp time.Time) (*KyberPreKeyRecord, error) {
	if identity == nil {
		return nil, errNoIdentity
	}
	sk, err := kem.GenerateKey(t)
	if err != nil {
		return nil, fmt.Errorf("prekey: %w", err)
	}
	sig, err := identity.Sign(sk.PublicKey().Bytes())
	if err != nil {
		return nil, err
	}
	return NewKyberPreKeyRecord(id, sk, sig, timestamp), nil
}
