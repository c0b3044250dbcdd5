package keys

// LoadPrivateKey returns the private key with the 32-byte scalar b (clamped
// as ParsePrivateKey clamps it) and the public key pub stored beside it, for
// a key pair read back from storage such as a session record's ratchet key.
//
// ParsePrivateKey computes the public key, a scalar multiplication of the
// base point; a stored pair already has it, and loading a session record
// happens for every message. LoadPrivateKey trusts pub instead and does not
// check it: a pair that does not match (a corrupted record) gives agreements
// that do not match the peer's, so messages fail to decrypt, as with any
// other corrupted key. Use ParsePrivateKey for a key whose public half is
// not known.
func LoadPrivateKey(b []byte, pub PublicKey) (*PrivateKey, error) {
	if len(b) != PrivateKeySize {
		return nil, ErrKeyLength
	}
	p := &PrivateKey{pub: pub}
	copy(p.s[:], b)
	clamp(&p.s)
	return p, nil
}
