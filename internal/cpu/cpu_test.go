package cpu

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestVZeroUpper checks that the call is safe on this machine: a wrong AVX
// detection would make it fault with SIGILL.
func TestVZeroUpper(t *testing.T) {
	assert.NotPanics(t, VZeroUpper)
}
