//go:build amd64 && !purego

package cpu

// hasAVX reports whether the CPU supports AVX and the operating system saves
// the YMM state (CPUID.1:ECX.OSXSAVE and .AVX set, XCR0 bits 1 and 2 set).
// VZEROUPPER raises #UD otherwise.
var hasAVX = avxUsable()

// VZeroUpper clears the upper 128 bits of every YMM (and ZMM) register with
// the VZEROUPPER instruction, ending any dirty AVX upper state left by
// assembly that did not clear it. It is a no-op when the CPU or the operating
// system does not support AVX, on other architectures, and with the purego
// build tag. It costs a few nanoseconds.
func VZeroUpper() {
	if hasAVX {
		vzeroupper()
	}
}

// UpperStateDirty reports whether the upper halves of the YMM registers are
// currently in use (not in their initial, zeroed configuration), as the
// processor's XINUSE bitmap (XGETBV with ECX = 1) says. ok is false when that
// cannot be observed (no AVX, or no XGETBV ECX = 1). It is meant for tests
// that check a function leaves the state clean.
func UpperStateDirty() (dirty, ok bool) {
	if !hasAVX {
		return false, false
	}
	inuse, ok := xinuse()
	return inuse&4 != 0, ok
}

// xinuse reads XINUSE; implemented in vzeroupper_amd64.s.
//
//go:noescape
func xinuse() (inuse uint32, ok bool)

// avxUsable runs CPUID and XGETBV; implemented in vzeroupper_amd64.s.
//
//go:noescape
func avxUsable() bool

// vzeroupper executes VZEROUPPER; implemented in vzeroupper_amd64.s. It must
// only be called when hasAVX is true.
//
//go:noescape
func vzeroupper()

// dirtyUpper leaves the upper YMM halves in use, like assembly that omits
// VZEROUPPER; tests only. Implemented in vzeroupper_amd64.s.
//
//go:noescape
func dirtyUpper()
