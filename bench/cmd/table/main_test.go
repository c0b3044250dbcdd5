package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sample = `goos: linux
BenchmarkCompare/Encrypt100/signal-2   	  100	  3000 ns/op	  6000 cpu-ns/op	  128 B/op	  1 allocs/op
BenchmarkCompare/Encrypt100/signal-2   	  100	  1000 ns/op	  2000 cpu-ns/op	  128 B/op	  1 allocs/op
BenchmarkCompare/Encrypt100/signal-2   	  100	  2000 ns/op	  4000 cpu-ns/op	  128 B/op	  3 allocs/op
BenchmarkCompare/Encrypt100/mau-2      	  100	 30000 ns/op	 40000 cpu-ns/op	  999 B/op	 81 allocs/op
BenchmarkCompare/Encrypt100/mau-2      	  100	 10000 ns/op	 20000 cpu-ns/op	  999 B/op	 81 allocs/op
BenchmarkCompare/RecordDecode/signal-2 	  100	   500 ns/op	 1234 B/record	  64 B/op	  2 allocs/op
BenchmarkFloor/SHA256Block-2           	 1000	    50 ns/op	     0 B/op	  0 allocs/op
BenchmarkFloor/AES256Block-2           	 1000	    10 ns/op	     0 B/op	  0 allocs/op
PASS
`

func TestParseMedian(t *testing.T) {
	r, err := parse(strings.NewReader(sample))
	require.NoError(t, err)
	v, ok := r.med("Compare/Encrypt100/signal", "ns/op")
	require.True(t, ok)
	assert.Equal(t, 2000.0, v)
	v, ok = r.med("Compare/Encrypt100/mau", "ns/op")
	require.True(t, ok)
	assert.Equal(t, 20000.0, v, "even count: mean of the middle two")
	v, ok = r.med("Compare/RecordDecode/signal", "B/record")
	require.True(t, ok)
	assert.Equal(t, 1234.0, v)
	_, ok = r.med("Compare/Decrypt100/signal", "ns/op")
	assert.False(t, ok)

	f, formula, ok := r.floor("Encrypt100", "ns/op")
	require.True(t, ok)
	assert.Equal(t, 22*50.0+7*10.0, f)
	assert.Equal(t, "22×SHA256Block + 7×AES256Block", formula)
	_, _, ok = r.floor("PingPong", "ns/op")
	assert.False(t, ok, "no X25519 floors in the input")
}

func TestWrite(t *testing.T) {
	r, err := parse(strings.NewReader(sample))
	require.NoError(t, err)
	var b strings.Builder
	write(&b, r)
	out := b.String()
	cpu, wall, ok := strings.Cut(out, "Wall time")
	require.True(t, ok, "a wall-time table follows the CPU-time table")
	assert.Contains(t, cpu, "CPU time per op")
	// CPU: signal median 4000, mau 30000; no cpu floors in the input.
	assert.Regexp(t, `Encrypt100\s+4\.00 µs\s+30\.00 µs\s+7\.50×\s+1\s+81\s+-\s+-`, cpu)
	assert.Regexp(t, `Encrypt100\s+2\.00 µs\s+20\.00 µs\s+10\.00×\s+1\s+81\s+1\.17 µs\s+1\.71×`, wall)
	assert.Regexp(t, `RecordDecode\s+500\.0 ns\s+-\s+-\s+2\s+-`, wall)
	assert.Contains(t, out, "Medians of 3 run(s)")
	assert.Contains(t, out, "RecordDecode signal: 1234 B/record")
}
