package bench

import (
	"testing"
	"time"
)

// cpuMeter reports the process CPU time (user + system, all threads) per
// operation as cpu-ns/op. Unlike ns/op it does not grow when other
// processes compete for the CPU, and it counts work done off the
// benchmark's goroutine: helper goroutines (this library's safety number
// hashes its two halves in parallel) and the garbage collector's
// background marking, which allocation-heavy code pays for. CPU time spent
// while the timer is stopped is left out.
type cpuMeter struct {
	b                      *testing.B
	start, paused, stopped time.Duration
}

// meter turns on allocation reporting and starts a cpuMeter. Call it just
// before the benchmark loop, and done after it.
func meter(b *testing.B) *cpuMeter {
	b.ReportAllocs()
	return &cpuMeter{b: b, start: cpuTime()}
}

// stop stops the meter and the benchmark timer, and resume restarts them.
// The CPU clock is read outside StopTimer and StartTimer: those call
// runtime.ReadMemStats, which stops the world, and counting it would
// charge a benchmark that pauses often (the decrypt benchmarks) for the
// benchmark framework.
func (m *cpuMeter) stop() {
	m.stopped = cpuTime()
	m.b.StopTimer()
}

func (m *cpuMeter) resume() {
	m.b.StartTimer()
	m.paused += cpuTime() - m.stopped
}

// done reports cpu-ns/op (nothing where cpuTime is not available).
func (m *cpuMeter) done() {
	if m.b.N == 0 || m.start < 0 {
		return
	}
	if d := cpuTime() - m.start - m.paused; d > 0 {
		m.b.ReportMetric(float64(d.Nanoseconds())/float64(m.b.N), "cpu-ns/op")
	}
}
