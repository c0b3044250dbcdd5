//go:build race

package spqr

// raceEnabled scales down the longest tests under the race detector.
const raceEnabled = true
