package attachment

import (
	"math/big"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exactBuckets returns floor(1.05^k) = floor(21^k / 20^k) for k = 0, 1, ...
// while it is at most limit, computed in exact integer arithmetic: an
// independent derivation of Signal's buckets, free of the float rounding of
// log and pow.
func exactBuckets(limit int64) []int64 {
	var out []int64
	num, den := big.NewInt(1), big.NewInt(1)
	q := new(big.Int)
	for {
		q.Quo(num, den)
		if !q.IsInt64() || q.Int64() > limit {
			return out
		}
		out = append(out, q.Int64())
		num.Mul(num, big.NewInt(21))
		den.Mul(den, big.NewInt(20))
	}
}

// exactPadded is max(541, floor(1.05^k)) for the smallest k with 1.05^k >= n.
// Since 1.05^k is not an integer for k > 0, 1.05^k >= n holds exactly when
// floor(1.05^k) >= n, so this is the smallest bucket not below n.
func exactPadded(buckets []int64, n int64) int64 {
	i := sort.Search(len(buckets), func(i int) bool { return buckets[i] >= n })
	return max(541, buckets[i])
}

func TestPaddedSize(t *testing.T) {
	const limit = 1 << 40
	buckets := exactBuckets(2 * limit)
	require.Equal(t, []int64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2}, buckets[:16])

	// Hand-checked values: 1.05^129 = 541.2..., 1.05^130 = 568.3...
	for n, want := range map[int64]int64{0: 541, 1: 541, 541: 541, 542: 568, 568: 568, 569: 596} {
		assert.Equal(t, want, PaddedSize(n), "n=%d", n)
	}

	for n := int64(0); n <= 300_000; n++ {
		if got, want := PaddedSize(n), exactPadded(buckets, n); got != want {
			t.Fatalf("PaddedSize(%d) = %d, want %d", n, got, want)
		}
	}
	// Every bucket boundary up to 1 TiB, and the sizes around it.
	for _, b := range buckets {
		if b > limit {
			break
		}
		for _, n := range []int64{b - 1, b, b + 1} {
			if got, want := PaddedSize(n), exactPadded(buckets, n); got != want {
				t.Fatalf("PaddedSize(%d) = %d, want %d", n, got, want)
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100_000 {
		n := rng.Int64N(limit)
		if got, want := PaddedSize(n), exactPadded(buckets, n); got != want {
			t.Fatalf("PaddedSize(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestUploadSize(t *testing.T) {
	// Signal-Android AttachmentCipherStreamUtil.getCiphertextLength:
	// 16 + (n/16 + 1)*16 + 32.
	for n, want := range map[int64]int64{0: 64, 15: 64, 16: 80, 541: 16 + 544 + 32} {
		assert.Equal(t, want, UploadSize(n), "n=%d", n)
	}
}
