//go:build unix

package x3dh_test

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user + system) the test process has used.
// Benchmarks report it per operation as cpu-ns/op, which, unlike ns/op, does
// not grow when other processes compete for the CPU.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
