//go:build !amd64 || purego

package cpu

// VZeroUpper clears the upper halves of the AVX registers on amd64. On this
// architecture (or with the purego build tag, under which circl uses no
// assembly) there is nothing to clear and it does nothing.
func VZeroUpper() {}

// UpperStateDirty reports whether the upper halves of the AVX registers are
// in use. Here that cannot be observed, so ok is false.
func UpperStateDirty() (dirty, ok bool) { return false, false }
