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

// BenchmarkStateParse and BenchmarkStateEncode measure decoding and
// encoding a fixture's send_ct state (6 KB), what a store that keeps
// records encoded pays per message.
func BenchmarkStateParse(b *testing.B) {
	_, fb := fixtures(b)
	b.SetBytes(int64(len(fb)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseState(fb); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStateEncode(b *testing.B) {
	_, fb := fixtures(b)
	st, err := ParseState(fb)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, st.SizeHint())
	b.SetBytes(int64(len(fb)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = st.AppendBinary(buf[:0])
	}
}

// BenchmarkStateSend and BenchmarkStateRecv are BenchmarkSend and
// BenchmarkRecv on a State kept decoded, as the Double Ratchet keeps it:
// one step and its commit (Recv: the same message, rolled back each time).
func BenchmarkStateSend(b *testing.B) {
	a, _ := lockstepStates(b, 20) // a mid-epoch state sending parity chunks
	st, err := ParseState(a)
	if err != nil {
		b.Fatal(err)
	}
	var buf [maxMessageSize]byte
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := st.Send(buf[:0]); err != nil {
			b.Fatal(err)
		}
		st.Commit()
	}
}

func BenchmarkStateRecv(b *testing.B) {
	fa, fb := fixtures(b)
	_, _, msg, err := Send(fa)
	if err != nil {
		b.Fatal(err)
	}
	st, err := ParseState(fb)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := st.Recv(msg); err != nil {
			b.Fatal(err)
		}
		st.Rollback()
	}
}

// BenchmarkParityChunk measures one parity chunk of the largest message
// (the 1152-byte encapsulation key, 16 polynomials of degree 35), as the
// encoder evaluates it (tables for x, 16 interleaved Horner chains), against
// evaluating each polynomial in turn with the log/exp-table multiplication.
func BenchmarkParityChunk(b *testing.B) {
	msg := make([]byte, ekSize)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	e := newEncoder(msg)
	e.chunk(ekSize / chunkSize) // switch to the polynomial form
	b.Run("tables", func(b *testing.B) {
		var ys [numPolys]uint16
		for i := 0; b.Loop(); i++ {
			evalPolys(&ys, &e.polys, uint16(40+i%1000))
		}
	})
	b.Run("logtable", func(b *testing.B) {
		var ys [numPolys]uint16
		for i := 0; b.Loop(); i++ {
			for p := range numPolys {
				ys[p] = evalPoly(e.polys[p], uint16(40+i%1000))
			}
		}
	})
}
