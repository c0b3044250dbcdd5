package session_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ratchetlab/signal/session"
)

// cpuMeter reports the process CPU time per operation as cpu-ns/op, which,
// unlike ns/op, does not grow when other processes compete for the CPU. CPU
// time spent while the timer is stopped is left out.
type cpuMeter struct {
	b             *testing.B
	start, paused time.Duration
	pausedAt      time.Duration
}

// meter turns on allocation reporting and starts a cpuMeter; call it just
// before the benchmark loop and done after it.
func meter(b *testing.B) *cpuMeter {
	b.ReportAllocs()
	return &cpuMeter{b: b, start: cpuTime()}
}

// stop stops the meter and the benchmark timer.
func (m *cpuMeter) stop() {
	m.pausedAt = cpuTime() // before StopTimer, which stops the world (ReadMemStats)
	m.b.StopTimer()
}

// resume restarts the benchmark timer and the meter.
func (m *cpuMeter) resume() {
	m.b.StartTimer()
	m.paused += cpuTime() - m.pausedAt
}

func (m *cpuMeter) done() {
	if d := cpuTime() - m.start - m.paused; d > 0 && m.b.N > 0 {
		m.b.ReportMetric(float64(d.Nanoseconds())/float64(m.b.N), "cpu-ns/op")
	}
}

// BenchmarkSessionSetup measures what it costs to start a session: Alice
// processes Bob's bundle and encrypts her first message, and Bob decrypts
// it (his side of the key agreement, the one-time pre-key used up). The
// bundle has a one-time pre-key; between iterations, outside the timer,
// both sessions are deleted and the one-time pre-key is stored again.
func BenchmarkSessionSetup(b *testing.B) {
	for _, c := range []struct {
		name   string
		bundle bundleKind
	}{{"X3DH", x3dh}, {"PQXDH", pqxdh}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			alice, bob := newPair(b, withTrust(session.TrustAll), withOptions(session.WithX3DH(true)))
			bundle := bob.bundle(b, c.bundle)
			opkID, _, ok := bundle.PreKey()
			require.True(b, ok)
			opk, err := bob.store.LoadPreKey(ctx, opkID)
			require.NoError(b, err)
			msg := []byte("hello")
			cpu := meter(b)
			for b.Loop() {
				if err := alice.m.ProcessBundle(ctx, bob.addr, bundle); err != nil {
					b.Fatal(err)
				}
				ct, err := alice.m.Encrypt(ctx, bob.addr, msg)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := bob.m.Decrypt(ctx, alice.addr, ct); err != nil {
					b.Fatal(err)
				}

				cpu.stop()
				alice.store.DeleteSession(bob.addr)
				bob.store.DeleteSession(alice.addr)
				if err := bob.store.StorePreKey(ctx, opk); err != nil {
					b.Fatal(err)
				}
				cpu.resume()
			}
			cpu.done()
		})
	}
}

// BenchmarkSessionEncrypt measures Encrypt on an established session,
// through a MemoryStore: the record is decoded, used and encoded again.
func BenchmarkSessionEncrypt(b *testing.B) {
	b.Run("100B", func(b *testing.B) {
		ctx := context.Background()
		alice, bob := newEstablishedPair(b, pqxdh)
		msg := make([]byte, 100)
		b.SetBytes(int64(len(msg)))
		cpu := meter(b)
		for b.Loop() {
			if _, err := alice.m.Encrypt(ctx, bob.addr, msg); err != nil {
				b.Fatal(err)
			}
		}
		cpu.done()
	})
}

// BenchmarkSessionDecrypt measures Decrypt of in-order messages on an
// established session, through a MemoryStore. Messages are encrypted in
// batches outside the timer.
func BenchmarkSessionDecrypt(b *testing.B) {
	b.Run("100B", func(b *testing.B) {
		ctx := context.Background()
		alice, bob := newEstablishedPair(b, pqxdh)
		msg := make([]byte, 100)
		var queue []session.Ciphertext
		b.SetBytes(int64(len(msg)))
		cpu := meter(b)
		for b.Loop() {
			if len(queue) == 0 {
				cpu.stop()
				for range 512 {
					ct, err := alice.m.Encrypt(ctx, bob.addr, msg)
					if err != nil {
						b.Fatal(err)
					}
					queue = append(queue, ct)
				}
				cpu.resume()
			}
			if _, err := bob.m.Decrypt(ctx, alice.addr, queue[0]); err != nil {
				b.Fatal(err)
			}
			queue = queue[1:]
		}
		cpu.done()
	})
}

// benchRecords returns Bob's encoded record after 10 round trips, and after
// 200 further messages were lost before one was delivered (so the record
// holds 200 skipped message keys).
func benchRecords(tb testing.TB) (typical, skipped200 []byte) {
	tb.Helper()
	alice, bob := newEstablishedPair(tb, pqxdh)
	roundTrips(tb, alice, bob, 10)
	typical = loadRecordBytes(tb, bob.store, alice.addr)
	require.NotNil(tb, typical)
	alice.skipAhead(tb, bob, 200)
	bob.recv(tb, alice, alice.send(tb, bob, "delivered"))
	skipped200 = loadRecordBytes(tb, bob.store, alice.addr)
	require.Greater(tb, len(skipped200), len(typical)+200*32, "the skipped keys are in the record")
	return typical, skipped200
}

// BenchmarkRecord measures encoding and decoding of session records.
func BenchmarkRecord(b *testing.B) {
	typical, skipped := benchRecords(b)
	for _, c := range []struct {
		name string
		rec  []byte
	}{{"typical", typical}, {"skipped200", skipped}} {
		b.Run("Encode/"+c.name, func(b *testing.B) {
			rec, err := session.ParseRecord(c.rec)
			require.NoError(b, err)
			cpu := meter(b)
			for b.Loop() {
				if _, err := rec.MarshalBinary(); err != nil {
					b.Fatal(err)
				}
			}
			cpu.done()
			b.ReportMetric(float64(len(c.rec)), "record-bytes")
		})
		b.Run("Decode/"+c.name, func(b *testing.B) {
			cpu := meter(b)
			for b.Loop() {
				if _, err := session.ParseRecord(c.rec); err != nil {
					b.Fatal(err)
				}
			}
			cpu.done()
			b.ReportMetric(float64(len(c.rec)), "record-bytes")
		})
	}
}
