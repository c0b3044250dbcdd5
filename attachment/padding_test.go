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

// signalDesktopBuckets is the bucket table of Signal-Desktop's
// ts/test-node/util/logPadding_test.node.ts ("properly calculates entire
// table"): the padded sizes from 541 up to about 100 MB.
var signalDesktopBuckets = []int64{
	541, 568, 596, 626, 657, 690, 725, 761, 799, 839, 881, 925, 972, 1020, 1071,
	1125, 1181, 1240, 1302, 1367, 1436, 1507, 1583, 1662, 1745, 1832, 1924, 2020,
	2121, 2227, 2339, 2456, 2579, 2708, 2843, 2985, 3134, 3291, 3456, 3629, 3810,
	4001, 4201, 4411, 4631, 4863, 5106, 5361, 5629, 5911, 6207, 6517, 6843, 7185,
	7544, 7921, 8318, 8733, 9170, 9629, 10110, 10616, 11146, 11704, 12289, 12903,
	13549, 14226, 14937, 15684, 16469, 17292, 18157, 19065, 20018, 21019, 22070,
	23173, 24332, 25549, 26826, 28167, 29576, 31054, 32607, 34238, 35950, 37747,
	39634, 41616, 43697, 45882, 48176, 50585, 53114, 55770, 58558, 61486, 64561,
	67789, 71178, 74737, 78474, 82398, 86518, 90843, 95386, 100155, 105163,
	110421, 115942, 121739, 127826, 134217, 140928, 147975, 155373, 163142,
	171299, 179864, 188858, 198300, 208215, 218626, 229558, 241036, 253087,
	265742, 279029, 292980, 307629, 323011, 339161, 356119, 373925, 392622,
	412253, 432866, 454509, 477234, 501096, 526151, 552458, 580081, 609086,
	639540, 671517, 705093, 740347, 777365, 816233, 857045, 899897, 944892,
	992136, 1041743, 1093831, 1148522, 1205948, 1266246, 1329558, 1396036,
	1465838, 1539130, 1616086, 1696890, 1781735, 1870822, 1964363, 2062581,
	2165710, 2273996, 2387695, 2507080, 2632434, 2764056, 2902259, 3047372,
	3199740, 3359727, 3527714, 3704100, 3889305, 4083770, 4287958, 4502356,
	4727474, 4963848, 5212040, 5472642, 5746274, 6033588, 6335268, 6652031,
	6984633, 7333864, 7700558, 8085585, 8489865, 8914358, 9360076, 9828080,
	10319484, 10835458, 11377231, 11946092, 12543397, 13170567, 13829095,
	14520550, 15246578, 16008907, 16809352, 17649820, 18532311, 19458926,
	20431872, 21453466, 22526139, 23652446, 24835069, 26076822, 27380663,
	28749697, 30187181, 31696540, 33281368, 34945436, 36692708, 38527343,
	40453710, 42476396, 44600216, 46830227, 49171738, 51630325, 54211841,
	56922433, 59768555, 62756983, 65894832, 69189573, 72649052, 76281505,
	80095580, 84100359, 88305377, 92720646, 97356678, 102224512, 107335738,
}

// TestPaddedSizeSignalDesktop replays Signal-Desktop's padding test: every
// size below the first bucket pads to it; each bucket, the size just under
// it and the size just over it pad to that bucket, that bucket and the next.
func TestPaddedSizeSignalDesktop(t *testing.T) {
	b := signalDesktopBuckets
	for n := int64(0); n < b[0]; n++ {
		require.Equal(t, b[0], PaddedSize(n), "n=%d", n)
	}
	for i, size := range b[:len(b)-1] {
		assert.Equal(t, size, PaddedSize(size), "bucket %d", size)
		assert.Equal(t, size, PaddedSize(size-1), "under %d", size)
		assert.Equal(t, b[i+1], PaddedSize(size+1), "over %d", size)
	}
	// And the table is exactly our independent exact derivation from 541 on.
	var exact []int64
	for _, v := range exactBuckets(b[len(b)-1]) {
		if v >= 541 && (len(exact) == 0 || exact[len(exact)-1] != v) {
			exact = append(exact, v)
		}
	}
	assert.Equal(t, b, exact)
}
