package fingerprint

import (
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/internal/testvectors"
	"github.com/ratchetlab/signal/keys"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}

func parseKey(t testing.TB, b []byte) keys.PublicKey {
	t.Helper()
	k, err := keys.ParsePublicKey(b)
	require.NoError(t, err)
	return k
}

// group inserts a space after every 5 digits, the display form of String.
func group(digits string) string {
	var parts []string
	for i := 0; i < len(digits); i += 5 {
		parts = append(parts, digits[i:min(i+5, len(digits))])
	}
	return strings.Join(parts, " ")
}

// TestLibsignalFingerprints checks every case computed by libsignal-client:
// both parties' views, the shared digits and each party's scannable bytes,
// and Compare across the two views and against libsignal's own bytes.
func TestLibsignalFingerprints(t *testing.T) {
	cases, err := testvectors.Fingerprints()
	require.NoError(t, err)
	require.Len(t, cases, 11)
	n := 0
	for _, c := range cases {
		lk, rk := parseKey(t, c.LocalKey), parseKey(t, c.RemoteKey)
		for _, r := range c.Results {
			n++
			t.Run(fmt.Sprintf("case%d/v%d/%d", c.Case, r.Version, r.Iterations), func(t *testing.T) {
				local, err := New(r.Iterations, r.Version, c.LocalIdentifier, lk, c.RemoteIdentifier, rk)
				require.NoError(t, err)
				remote, err := New(r.Iterations, r.Version, c.RemoteIdentifier, rk, c.LocalIdentifier, lk)
				require.NoError(t, err)

				assert.Equal(t, r.Displayable, local.Displayable())
				assert.Equal(t, r.Displayable, remote.Displayable())
				assert.Equal(t, group(r.Displayable), local.String())
				assert.Equal(t, []byte(r.Scannable), local.Scannable())
				assert.Equal(t, []byte(r.ScannableFromRemoteSide), remote.Scannable())

				for _, tc := range []struct {
					name   string
					f      *Fingerprint
					theirs []byte
				}{
					{"local reads libsignal remote", local, r.ScannableFromRemoteSide},
					{"remote reads libsignal local", remote, r.Scannable},
					{"local reads ours", local, remote.Scannable()},
					{"remote reads ours", remote, local.Scannable()},
				} {
					ok, err := tc.f.Compare(tc.theirs)
					assert.NoError(t, err, tc.name)
					assert.True(t, ok, tc.name)
				}
				// A party's own QR code is not the other's.
				ok, err := local.Compare(r.Scannable)
				assert.NoError(t, err)
				assert.False(t, ok, "own scannable fingerprint must not match")
			})
		}
	}
	assert.Equal(t, 42, n, "number of results in libsignal_fingerprints.json")
}

type katInputs struct {
	Version          int    `json:"version"`
	Iterations       int    `json:"iterations"`
	AliceIdentityKey string `json:"alice_identity_key"`
	AliceStableID    string `json:"alice_stable_id"`
	AliceStableIDHex string `json:"alice_stable_id_hex"`
	BobIdentityKey   string `json:"bob_identity_key"`
	BobStableID      string `json:"bob_stable_id"`
	BobStableIDHex   string `json:"bob_stable_id_hex"`
}

// TestLibsignalKAT checks libsignal's own fingerprint_test_v1 and _v2.
func TestLibsignalKAT(t *testing.T) {
	for _, id := range []string{"fingerprint_v1", "fingerprint_v2"} {
		t.Run(id, func(t *testing.T) {
			v, err := testvectors.Libsignal(id)
			require.NoError(t, err)
			var in katInputs
			var exp struct {
				Display        string `json:"display"`
				AliceScannable string `json:"alice_scannable"`
				BobScannable   string `json:"bob_scannable"`
			}
			require.NoError(t, v.Decode(&in, &exp))
			aliceID, bobID := unhex(t, in.AliceStableIDHex), unhex(t, in.BobStableIDHex)
			require.Equal(t, in.AliceStableID, string(aliceID))
			require.Equal(t, in.BobStableID, string(bobID))
			require.Equal(t, DefaultIterations, in.Iterations)
			ak := parseKey(t, unhex(t, in.AliceIdentityKey))
			bk := parseKey(t, unhex(t, in.BobIdentityKey))

			alice, err := New(in.Iterations, in.Version, aliceID, ak, bobID, bk)
			require.NoError(t, err)
			bob, err := New(in.Iterations, in.Version, bobID, bk, aliceID, ak)
			require.NoError(t, err)

			assert.Equal(t, exp.Display, alice.Displayable())
			assert.Equal(t, exp.Display, bob.Displayable())
			assert.Equal(t, unhex(t, exp.AliceScannable), alice.Scannable())
			assert.Equal(t, unhex(t, exp.BobScannable), bob.Scannable())

			ok, err := alice.Compare(unhex(t, exp.BobScannable))
			assert.NoError(t, err)
			assert.True(t, ok)
			ok, err = bob.Compare(unhex(t, exp.AliceScannable))
			assert.NoError(t, err)
			assert.True(t, ok)
		})
	}
}

// TestDigestIntermediate checks the per-party digest and digits against the
// intermediate values recorded with libsignal's KAT (consistent with the
// asserted outputs, recomputed by the vector file's author).
func TestDigestIntermediate(t *testing.T) {
	raw, err := testvectors.ReadFile("libsignal/libsignal_vectors.json")
	require.NoError(t, err)
	var f struct {
		Vectors []struct {
			ID      string    `json:"id"`
			Inputs  katInputs `json:"inputs"`
			Derived struct {
				AliceDigest string `json:"alice_digest_sha512_after_5200"`
				BobDigest   string `json:"bob_digest_sha512_after_5200"`
				Alice30     string `json:"alice_30_digits"`
				Bob30       string `json:"bob_30_digits"`
			} `json:"derived_not_asserted_by_libsignal"`
		} `json:"vectors"`
	}
	require.NoError(t, json.Unmarshal(raw, &f))
	found := false
	for _, v := range f.Vectors {
		if v.ID != "fingerprint_v1" {
			continue
		}
		found = true
		for _, p := range []struct{ key, id, digest, digits string }{
			{v.Inputs.AliceIdentityKey, v.Inputs.AliceStableIDHex, v.Derived.AliceDigest, v.Derived.Alice30},
			{v.Inputs.BobIdentityKey, v.Inputs.BobStableIDHex, v.Derived.BobDigest, v.Derived.Bob30},
		} {
			key := [keys.PublicKeySize]byte(unhex(t, p.key))
			var d [sha512.Size]byte
			digest(&d, v.Inputs.Iterations, unhex(t, p.id), &key)
			assert.Equal(t, p.digest, hex.EncodeToString(d[:]))
			var out [halfDigits]byte
			digits(&out, &d)
			assert.Equal(t, p.digits, string(out[:]))
		}
	}
	require.True(t, found)
}

// TestDigitsPadding checks the reduction and zero padding on hand-made
// digests: 0 → 00000, 0x186A0 (100000) → 00000, 0x186A1 → 00001,
// 0xFF_FFFF_FFFF (1099511627775) → 27775, 0x2A → 00042, 0x1869F → 99999.
func TestDigitsPadding(t *testing.T) {
	var d [sha512.Size]byte
	copy(d[5:], []byte{0x00, 0x00, 0x01, 0x86, 0xa0})
	copy(d[10:], []byte{0x00, 0x00, 0x01, 0x86, 0xa1})
	copy(d[15:], []byte{0xff, 0xff, 0xff, 0xff, 0xff})
	copy(d[20:], []byte{0x00, 0x00, 0x00, 0x00, 0x2a})
	copy(d[25:], []byte{0x00, 0x00, 0x01, 0x86, 0x9f})
	d[30] = 0xff // beyond the 30 bytes used
	var out [halfDigits]byte
	digits(&out, &d)
	assert.Equal(t, "000000000000001277750004299999", string(out[:]))
}

func katKeys(t testing.TB) (aliceID []byte, ak keys.PublicKey, bobID []byte, bk keys.PublicKey) {
	t.Helper()
	v, err := testvectors.Libsignal("fingerprint_v2")
	require.NoError(t, err)
	var in katInputs
	require.NoError(t, v.Decode(&in, nil))
	return unhex(t, in.AliceStableIDHex), parseKey(t, unhex(t, in.AliceIdentityKey)),
		unhex(t, in.BobStableIDHex), parseKey(t, unhex(t, in.BobIdentityKey))
}

func TestNewArguments(t *testing.T) {
	aliceID, ak, bobID, bk := katKeys(t)
	for _, it := range []int{-1, 0, 1, MaxIterations + 1, 1 << 40} {
		f, err := New(it, Version2, aliceID, ak, bobID, bk)
		require.ErrorIs(t, err, ErrIterations, "iterations %d", it)
		assert.Nil(t, f)
	}
	for _, v := range []int{-1, 0, 3, 1 << 32} {
		f, err := New(DefaultIterations, v, aliceID, ak, bobID, bk)
		require.ErrorIs(t, err, ErrVersion, "version %d", v)
		assert.Nil(t, f)
	}
	f, err := New(2, Version1, aliceID, ak, bobID, bk)
	require.NoError(t, err)
	assert.Len(t, f.Displayable(), DisplayDigits)
	if !testing.Short() {
		_, err = New(MaxIterations, Version1, aliceID, ak, bobID, bk)
		require.NoError(t, err)
	}
}

// TestEmptyIdentifiers checks that empty and nil stable identifiers are the
// same empty byte string (libsignal accepts any identifier).
func TestEmptyIdentifiers(t *testing.T) {
	_, ak, _, bk := katKeys(t)
	a, err := New(10, Version1, nil, ak, nil, bk)
	require.NoError(t, err)
	b, err := New(10, Version1, []byte{}, ak, []byte{}, bk)
	require.NoError(t, err)
	assert.Equal(t, a.Displayable(), b.Displayable())
	assert.Equal(t, a.Scannable(), b.Scannable())
}

// TestSequential runs New with GOMAXPROCS=1, which takes the sequential
// path, and checks it against libsignal's KAT.
func TestSequential(t *testing.T) {
	aliceID, ak, bobID, bk := katKeys(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f, err := New(DefaultIterations, Version1, aliceID, ak, bobID, bk)
	require.NoError(t, err)
	assert.Equal(t, "300354477692869396892869876765458257569162576843440918079131", f.Displayable())
}

func TestString(t *testing.T) {
	aliceID, ak, bobID, bk := katKeys(t)
	f, err := New(100, Version2, aliceID, ak, bobID, bk)
	require.NoError(t, err)
	s := f.String()
	assert.Regexp(t, regexp.MustCompile(`^([0-9]{5} ){11}[0-9]{5}$`), s)
	assert.Equal(t, f.Displayable(), strings.ReplaceAll(s, " ", ""))
	assert.Equal(t, s, fmt.Sprint(f))
}

func TestDigestAllocations(t *testing.T) {
	key := [keys.PublicKeySize]byte{keys.TypeDJB, 1, 2, 3}
	id := []byte("+14152222222")
	var d [sha512.Size]byte
	allocs := testing.AllocsPerRun(10, func() { digest(&d, 100, id, &key) })
	assert.Zero(t, allocs)
}

// BenchmarkFingerprint is a whole safety number at the default iteration
// count: both halves, in parallel when GOMAXPROCS > 1.
func BenchmarkFingerprint(b *testing.B) {
	aliceID, ak, bobID, bk := katKeys(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(DefaultIterations, Version2, aliceID, ak, bobID, bk); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSHA512Iterated is one half: one party's iterated SHA-512 at the
// default iteration count.
func BenchmarkSHA512Iterated(b *testing.B) {
	aliceID, ak, _, _ := katKeys(b)
	key := ak.Array()
	var d [sha512.Size]byte
	b.ReportAllocs()
	for b.Loop() {
		digest(&d, DefaultIterations, aliceID, &key)
	}
}
