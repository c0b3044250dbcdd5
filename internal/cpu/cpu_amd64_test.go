//go:build amd64 && !purego && linux

package cpu

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestAVXDetection compares the CPUID/XGETBV probe with the flags the Linux
// kernel reports ("avx" is listed only when the kernel has enabled the YMM
// state).
func TestAVXDetection(t *testing.T) {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Skip("no /proc/cpuinfo")
	}
	var want bool
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, "flags") {
			want = slices.Contains(strings.Fields(line), "avx")
			break
		}
	}
	assert.Equal(t, want, hasAVX, "CPUID/XGETBV probe disagrees with /proc/cpuinfo")
}
