//go:build !race

package spqr

const raceEnabled = false
