package spqr

import (
	"testing"
)

// lockstepStates runs n lockstep round trips and returns both states.
func lockstepStates(b *testing.B, n int) (a, bb []byte) {
	a = Init(testAuthKey, A2B, ChainParams{})
	bb = Init(testAuthKey, B2A, ChainParams{})
	r := chacha(42)
	for range n {
		st, _, msg, err := sendWithRandom(a, r)
		if err != nil {
			b.Fatal(err)
		}
		a = st
		if bb, _, err = Recv(bb, msg); err != nil {
			b.Fatal(err)
		}
		st, _, msg, err = sendWithRandom(bb, r)
		if err != nil {
			b.Fatal(err)
		}
		bb = st
		if a, _, err = Recv(a, msg); err != nil {
			b.Fatal(err)
		}
	}
	return a, bb
}

// BenchmarkSend and BenchmarkRecv measure one message in a state holding
// the largest ML-KEM data (a fixture's send_ct state, 6 KB).
func BenchmarkSend(b *testing.B) {
	_, fb := fixtures(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := Send(fb); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRecv(b *testing.B) {
	fa, fb := fixtures(b)
	_, _, msg, err := Send(fa)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Recv(fb, msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEpoch measures one full epoch in lockstep traffic: 45 round
// trips, which complete at least one ML-KEM exchange (key generation,
// encaps1, encaps2, decapsulation, the erasure coding of 3.2 KB and 90
// state round trips through the protobuf encoding).
func BenchmarkEpoch(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		lockstepStates(b, 45)
	}
}
