package bench

import (
	"bytes"
	"testing"

	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
)

// batch is how many messages are prepared (outside the timer) at a time
// for the decrypt benchmarks: a multiple of the out-of-order window.
const (
	batch  = 1000
	window = 100
)

// BenchmarkCompare runs each workload on both implementations. One op is
// one message for Encrypt100, Decrypt100, PingPong and DecryptOutOfOrder,
// one session (both sides) for the setups, one record for the record
// benchmarks and one safety number for SafetyNumber. See README.md.
func BenchmarkCompare(b *testing.B) {
	b.Run("SessionSetupX3DH", func(b *testing.B) {
		b.Run("signal", func(b *testing.B) { benchSetupSignal(b, 0) })
		b.Run("mau", benchSetupMau)
	})
	b.Run("SessionSetupPQXDH", func(b *testing.B) {
		b.Run("signal", func(b *testing.B) { benchSetupSignal(b, kem.Kyber1024) })
	})
	each(b, "Encrypt100", benchEncrypt)
	each(b, "Decrypt100", benchDecrypt)
	encodedRows(b) // encoded_test.go
	each(b, "PingPong", benchPingPong)
	each(b, "DecryptOutOfOrder", benchOutOfOrder)
	spqrRows(b) // spqr_test.go
	each(b, "RecordEncode", func(b *testing.B, im impl) {
		alice, bob := conversation(b, im)
		benchRecordEncode(b, im, alice.record(b, bob))
	})
	each(b, "RecordDecode", func(b *testing.B, im impl) {
		alice, bob := conversation(b, im)
		benchRecordDecode(b, im, alice.record(b, bob))
	})
	each(b, "RecordEncodeSkipped200", func(b *testing.B, im impl) {
		benchRecordEncode(b, im, skipped(b, im, 200))
	})
	each(b, "RecordDecodeSkipped200", func(b *testing.B, im impl) {
		benchRecordDecode(b, im, skipped(b, im, 200))
	})
	groupBenchmarks(b) // group_test.go
	b.Run("SafetyNumber", func(b *testing.B) {
		localID, remoteID := []byte("alice-0000000001"), []byte("bob-000000000002")
		b.Run("signal", func(b *testing.B) {
			l, r := mustKey(b), mustKey(b)
			m := meter(b)
			defer m.done()
			for b.Loop() {
				safetyNumberSignal(b, localID, l, remoteID, r)
			}
		})
		b.Run("mau", func(b *testing.B) {
			l, r := mustMauKey(b), mustMauKey(b)
			m := meter(b)
			defer m.done()
			for b.Loop() {
				safetyNumberMau(string(localID), l, string(remoteID), r)
			}
		})
	})
}

func each(b *testing.B, op string, f func(*testing.B, impl)) {
	b.Run(op, func(b *testing.B) {
		for _, im := range impls {
			b.Run(im.name, func(b *testing.B) { f(b, im) })
		}
	})
}

// benchEncrypt: Alice encrypts 100 bytes in an established session.
func benchEncrypt(b *testing.B, im impl) {
	alice, bob := conversation(b, im)
	pt := plaintext()
	m := meter(b)
	defer m.done()
	for b.Loop() {
		alice.encrypt(b, bob, pt)
	}
}

// benchDecrypt: Bob decrypts 100-byte messages in order.
func benchDecrypt(b *testing.B, im impl) {
	alice, bob := conversation(b, im)
	pt := plaintext()
	var queue []wire
	m := meter(b)
	defer m.done()
	for b.Loop() {
		if len(queue) == 0 {
			m.stop()
			queue = make([]wire, batch)
			for i := range queue {
				queue[i] = alice.encrypt(b, bob, pt)
			}
			m.resume()
		}
		bob.decrypt(b, alice, queue[0])
		queue = queue[1:]
	}
}

// benchPingPong: the parties take turns, so every message starts a new
// chain (a DH ratchet step on each side). One op is one message, encrypted
// and decrypted.
func benchPingPong(b *testing.B, im impl) {
	x, y := conversation(b, im)
	pt := plaintext()
	m := meter(b)
	defer m.done()
	for b.Loop() {
		y.decrypt(b, x, x.encrypt(b, y, pt))
		x, y = y, x
	}
}

// benchOutOfOrder: Alice sends windows of 100 messages; Bob receives each
// window last to first, so the first decrypt of a window skips 99 keys and
// the others use stored skipped keys. One op is one message.
func benchOutOfOrder(b *testing.B, im impl) {
	alice, bob := conversation(b, im)
	pt := plaintext()
	var queue []wire
	m := meter(b)
	defer m.done()
	for b.Loop() {
		if len(queue) == 0 {
			m.stop()
			queue = make([]wire, batch)
			for i := range queue {
				queue[i] = alice.encrypt(b, bob, pt)
			}
			for w := 0; w < batch; w += window {
				s := queue[w : w+window]
				for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
					s[i], s[j] = s[j], s[i]
				}
			}
			m.resume()
		}
		bob.decrypt(b, alice, queue[0])
		queue = queue[1:]
	}
}

func benchRecordEncode(b *testing.B, im impl, enc []byte) {
	r := im.parseRecord(b, enc)
	if !bytes.Equal(im.encodeRecord(b, r), enc) {
		b.Fatal("record does not re-encode to the same bytes")
	}
	b.ReportMetric(float64(len(enc)), "B/record")
	m := meter(b)
	defer m.done()
	for b.Loop() {
		im.encodeRecord(b, r)
	}
}

func benchRecordDecode(b *testing.B, im impl, enc []byte) {
	b.ReportMetric(float64(len(enc)), "B/record")
	m := meter(b)
	defer m.done()
	for b.Loop() {
		im.parseRecord(b, enc)
	}
}

func mustKey(tb testing.TB) keys.PublicKey {
	k, err := keys.GeneratePrivateKey()
	must(tb, err)
	return k.PublicKey()
}

func mustMauKey(tb testing.TB) *identity.Key {
	kp, err := ecc.GenerateKeyPair()
	must(tb, err)
	return identity.NewKey(kp.PublicKey())
}
