package ratchet_test

import (
	"testing"
	"time"
)

// cpuMeter reports the process CPU time per operation as cpu-ns/op, which
// does not grow when other processes compete for the cores (the machine
// these benchmarks run on is shared). Time between stop and resume is left
// out, as the benchmark timer leaves it out.
type cpuMeter struct {
	b                       *testing.B
	start, pausedAt, paused time.Duration
}

func meter(b *testing.B) *cpuMeter {
	b.ReportAllocs()
	return &cpuMeter{b: b, start: cpuTime()}
}

// stop and resume read the CPU clock outside StopTimer and StartTimer:
// those call runtime.ReadMemStats, which stops the world, and counting it
// would charge a benchmark that pauses often (Decrypt pauses every 256
// messages) for the benchmark framework.
func (m *cpuMeter) stop() {
	m.pausedAt = cpuTime()
	m.b.StopTimer()
}

func (m *cpuMeter) resume() {
	m.b.StartTimer()
	m.paused += cpuTime() - m.pausedAt
}

func (m *cpuMeter) done() {
	if d := cpuTime() - m.start - m.paused; d > 0 && m.b.N > 0 {
		m.b.ReportMetric(float64(d.Nanoseconds())/float64(m.b.N), "cpu-ns/op")
	}
}
