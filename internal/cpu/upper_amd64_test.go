//go:build amd64 && !purego

package cpu

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestUpperStateDirty(t *testing.T) {
	if _, ok := UpperStateDirty(); !ok {
		t.Skip("XINUSE not observable on this CPU")
	}
	dirtyUpper()
	dirty, _ := UpperStateDirty()
	assert.True(t, dirty, "after an AVX2 instruction on YMM registers")
	VZeroUpper()
	dirty, _ = UpperStateDirty()
	assert.False(t, dirty, "after VZeroUpper")
}
