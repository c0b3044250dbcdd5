//go:build race

package cbc_test

// raceEnabled reports whether the race detector is on; it changes escape
// analysis, so allocation counts are only checked without it.
const raceEnabled = true
