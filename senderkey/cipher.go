package senderkey

import (
	"crypto/rand"
	"encoding/binary"
	"math"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ratchetlab/signal/internal/cbc"
	"github.com/ratchetlab/signal/internal/protofield"
	"github.com/ratchetlab/signal/internal/xeddsa"
	"github.com/ratchetlab/signal/kdf"
	"github.com/ratchetlab/signal/keys"
)

// NewSenderKey returns a record holding a new sender key of one's own: a
// random 31-bit chain id, a random chain key at iteration 0 and a new
// signing key pair, as libsignal creates them on the first distribution
// message for a group.
func NewSenderKey() (*Record, error) {
	var b [4 + 32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	defer clear(b[:])
	sk, err := keys.GeneratePrivateKey()
	if err != nil {
		return nil, err
	}
	s := state{
		version:    Version,
		chainID:    binary.LittleEndian.Uint32(b[:4]) >> 1,
		signingPub: sk.PublicKey(),
		hasPriv:    true,
	}
	copy(s.chainKey[:], b[4:])
	priv := sk.Bytes()
	copy(s.signingPriv[:], priv)
	clear(priv)
	return &Record{states: []state{s}}, nil
}

// DistributionMessage returns the distribution message for the newest
// state of r, for the group id in the given format: its chain id, its
// current iteration and chain key, and its public signing key. It returns
// ErrNoSenderKeyState for an empty record.
func (r *Record) DistributionMessage(enc Format, id DistributionID) (*DistributionMessage, error) {
	if len(r.states) == 0 {
		return nil, ErrNoSenderKeyState
	}
	s := &r.states[0]
	return &DistributionMessage{
		Encoding:       enc,
		Version:        uint8(s.messageVersion()),
		DistributionID: id,
		ChainID:        s.chainID,
		Iteration:      s.iteration,
		ChainKey:       s.chainKey,
		SigningKey:     s.signingPub,
	}, nil
}

// Process adds the state a distribution message describes, as libsignal's
// process_sender_key_distribution_message does: a state with the same chain
// id and signing key is kept as it is (and becomes the newest); other
// states with that chain id are removed; the oldest states are dropped so
// that at most MaxStates remain.
func (r *Record) Process(d *DistributionMessage) {
	var keep *state
	for i := range r.states {
		if r.states[i].chainID == d.ChainID && r.states[i].signingPub == d.SigningKey {
			c := r.states[i]
			keep = &c
			break
		}
	}
	kept := r.states[:0]
	for _, s := range r.states {
		if s.chainID != d.ChainID {
			kept = append(kept, s)
		}
	}
	clear(r.states[len(kept):])
	r.states = kept
	if len(r.states) >= MaxStates {
		clear(r.states[MaxStates-1:])
		r.states = r.states[:MaxStates-1]
	}
	if keep == nil {
		keep = &state{
			version:    uint32(d.Version),
			chainID:    d.ChainID,
			iteration:  d.Iteration,
			chainKey:   d.ChainKey,
			signingPub: d.SigningKey,
		}
	}
	r.states = append(r.states, state{})
	copy(r.states[1:], r.states)
	r.states[0] = *keep
}

// Overhead returns how many bytes Encrypt adds to a plaintext of n bytes
// in the given format (with a chain id and iteration of at most 4 varint
// bytes each, the most either takes below 2^28).
func Overhead(enc Format, n int) int {
	return 1 + messageBodySize(enc, 1<<28-1, 1<<28-1, n+cbc.Overhead(n)) + SignatureSize - n
}

// Encrypt appends to dst a sender-key message with plaintext, encrypted
// with the newest state of r in the given format and signed with its
// private signing key, and advances the chain. id is written into
// libsignal-format messages. Encrypt returns ErrNoSenderKeyState for an
// empty record and ErrNoSigningKey for a state that is not one's own; then
// r is unchanged.
//
// dst's spare capacity must not overlap plaintext.
func (r *Record) Encrypt(dst []byte, enc Format, id DistributionID, plaintext []byte) ([]byte, error) {
	return r.EncryptCached(dst, enc, id, plaintext, nil)
}

// EncryptCached is Encrypt with a SigningCache, which saves most of the
// cost of the signature after the first message with a signing key. A nil
// cache is allowed.
func (r *Record) EncryptCached(dst []byte, enc Format, id DistributionID, plaintext []byte, c *SigningCache) ([]byte, error) {
	if len(r.states) == 0 {
		return nil, ErrNoSenderKeyState
	}
	if int(enc) >= len(messageLayout) {
		return nil, ErrMalformed
	}
	s := &r.states[0]
	if !s.hasPriv {
		return nil, ErrNoSigningKey
	}
	if s.iteration == math.MaxUint32 {
		return nil, ErrChainExhausted
	}
	seed, next := kdf.ChainStep(&s.chainKey)
	iv, key := kdf.DeriveGroupMessageKeys(&seed)
	clear(seed[:])

	ctLen := len(plaintext) + cbc.Overhead(len(plaintext))
	l := &messageLayout[enc]
	start := len(dst)
	total := 1 + messageBodySize(enc, s.chainID, s.iteration, ctLen) + SignatureSize
	if cap(dst)-len(dst) < total {
		dst = append(make([]byte, 0, len(dst)+total), dst...)
	}
	dst = append(dst, byte(s.messageVersion()&0xf)<<4|Version)
	if l[kUUID] != 0 {
		dst = protofield.AppendBytes(dst, l[kUUID], id[:])
	}
	dst = appendVarintField(dst, l[kChainID], s.chainID)
	dst = appendVarintField(dst, l[kIteration], s.iteration)
	dst = protowire.AppendTag(dst, l[kCiphertext], protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(ctLen))
	dst = cbc.Encrypt(dst, &key, &iv, plaintext)
	clear(key[:])

	var z [64]byte
	if _, err := rand.Read(z[:]); err != nil {
		clear(dst[start:cap(dst)])
		return nil, err
	}
	var sig [SignatureSize]byte
	if c != nil {
		a := c.edwards(s)
		sig = xeddsa.SignWithPublic(&s.signingPriv, &a, &z, dst[start:])
	} else {
		sig = xeddsa.Sign(&s.signingPriv, &z, dst[start:])
	}
	dst = append(dst, sig[:]...)

	s.chainKey = next
	s.iteration++
	clear(next[:])
	return dst, nil
}

// SigningCache remembers the Edwards form of signing public keys. An
// XEdDSA signature needs the signer's public key as an Edwards point with
// its sign, which the stored Montgomery key lacks, so without a cache every
// signature computes it with a fixed-base scalar multiplication, as
// libsignal does: about as much work again as the rest of the signature.
// The cache holds public data only and grows by one entry (64 bytes) per
// signing key used. Its zero value is ready to use; it is safe for
// concurrent use.
type SigningCache struct {
	mu sync.RWMutex
	m  map[keys.PublicKey][32]byte
}

// edwards returns the Edwards public key of s's signing key.
func (c *SigningCache) edwards(s *state) [32]byte {
	c.mu.RLock()
	a, ok := c.m[s.signingPub]
	c.mu.RUnlock()
	if ok {
		return a
	}
	a = xeddsa.PublicEdwards(&s.signingPriv)
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[keys.PublicKey][32]byte)
	}
	c.m[s.signingPub] = a
	c.mu.Unlock()
	return a
}

// find returns the newest state with the chain id, or nil.
func (r *Record) find(chainID uint32) *state {
	for i := range r.states {
		if r.states[i].chainID == chainID {
			return &r.states[i]
		}
	}
	return nil
}

// Decrypt checks and decrypts a sender-key message with the record of its
// sender and appends the plaintext to dst, following libsignal's
// group_decrypt: the state of the message's chain id (ErrNoSenderKeyState
// if none), the same message version (*VersionError), the signature
// (ErrBadSignature), then the message key: from the stored skipped keys
// for an earlier iteration (*DuplicateError if it is not there), or by
// moving the chain forward, at most the format's limit (ErrTooFarInFuture),
// keeping the keys skipped on the way (the newest MaxMessageKeys). A body
// that does not decrypt gives ErrDecryption.
//
// r changes only when Decrypt succeeds.
func (r *Record) Decrypt(dst []byte, m *Message) ([]byte, error) {
	s := r.find(m.ChainID)
	if s == nil {
		return nil, ErrNoSenderKeyState
	}
	if s.messageVersion() != uint32(m.Version) {
		return nil, &VersionError{Version: m.Version}
	}
	u := s.signingPub.U()
	if !xeddsa.Verify(&u, m.signature, m.signed) {
		return nil, ErrBadSignature
	}

	if m.Iteration < s.iteration {
		idx := -1
		for i := range s.skipped {
			if s.skipped[i].iteration == m.Iteration {
				idx = i
				break
			}
		}
		if idx < 0 {
			return nil, &DuplicateError{ChainIteration: s.iteration, Iteration: m.Iteration}
		}
		out, err := decryptBody(dst, &s.skipped[idx].seed, m.Ciphertext)
		if err != nil {
			return nil, err
		}
		n := len(s.skipped)
		copy(s.skipped[idx:], s.skipped[idx+1:])
		clear(s.skipped[n-1:])
		s.skipped = s.skipped[:n-1]
		return out, nil
	}

	jump := m.Iteration - s.iteration
	if jump > m.Encoding.maxJump() {
		return nil, ErrTooFarInFuture
	}
	if m.Iteration == math.MaxUint32 {
		return nil, ErrChainExhausted
	}
	if jump == 0 {
		seed, next := kdf.ChainStep(&s.chainKey)
		out, err := decryptBody(dst, &seed, m.Ciphertext)
		clear(seed[:])
		if err != nil {
			clear(next[:])
			return nil, err
		}
		s.chainKey = next
		s.iteration++
		clear(next[:])
		return out, nil
	}

	// Skip forward, keeping the seeds of the newest MaxMessageKeys skipped
	// iterations (older ones would be dropped on commit anyway).
	keep := min(int(jump), MaxMessageKeys)
	skipped := make([]messageKey, 0, keep)
	ck := s.chainKey
	for it := s.iteration; it < m.Iteration; it++ {
		seed, next := kdf.ChainStep(&ck)
		if int(m.Iteration-it) <= keep {
			skipped = append(skipped, messageKey{iteration: it, seed: seed})
		}
		ck = next
	}
	seed, next := kdf.ChainStep(&ck)
	clear(ck[:])
	out, err := decryptBody(dst, &seed, m.Ciphertext)
	clear(seed[:])
	if err != nil {
		clear(next[:])
		for i := range skipped {
			clear(skipped[i].seed[:])
		}
		return nil, err
	}
	s.chainKey = next
	s.iteration = m.Iteration + 1
	clear(next[:])
	all := append(s.skipped, skipped...)
	if drop := len(all) - MaxMessageKeys; drop > 0 {
		for i := range drop {
			clear(all[i].seed[:])
		}
		n := copy(all, all[drop:])
		clear(all[n:])
		all = all[:n]
	}
	s.skipped = all
	return out, nil
}

// decryptBody derives the keys of one message from its seed and decrypts
// the AES-256-CBC body.
func decryptBody(dst []byte, seed *[32]byte, ct []byte) ([]byte, error) {
	iv, key := kdf.DeriveGroupMessageKeys(seed)
	out, err := cbc.Decrypt(dst, &key, &iv, ct)
	clear(key[:])
	if err != nil {
		return nil, ErrDecryption
	}
	return out, nil
}
