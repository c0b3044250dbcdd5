package main

import "slices"

// The SPQR rows (bench/spqr_test.go): the classical workloads with the
// post-quantum ratchet on. Their floors are the classical ones, so that
// signal/floor shows what SPQR costs on top; SPQR's own primitives (the
// chain's HKDF, the erasure-code chunk, the ML-KEM work once per epoch)
// are what the goal "SPQR ≤ 1.5 × classical" budgets.
func init() {
	rows := []string{"Encrypt100SPQR", "Decrypt100SPQR", "PingPongSPQR"}
	at := len(order)
	if i := slices.Index(order, "PingPong"); i >= 0 {
		at = i + 1
	}
	order = slices.Insert(order, at, rows...)
	for _, r := range rows {
		floors[r] = floors[r[:len(r)-len("SPQR")]]
	}
}
