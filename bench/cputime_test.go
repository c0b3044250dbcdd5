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

// stop stops the benchmark timer and the meter.
func (m *cpuMeter) stop() {
	m.b.StopTimer()
	m.stopped = cpuTime()
}

// resume restarts the meter and the benchmark timer.
func (m *cpuMeter) resume() {
	m.paused += cpuTime() - m.stopped
	m.b.StartTimer()
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
