//go:build !race

package ratchet_test

const raceEnabled = false
