//go:build race

package ratchet_test

// raceEnabled scales down the longest tests under the race detector, which
// slows them about tenfold.
const raceEnabled = true
