package testvectors

// SPQRFixtures returns the two SPQR states written by Signal's spqr crate
// (its regression fixtures src/issue1275_{a,b}_state.in): after 30 lockstep
// steps with auth_key = 0x29×32, party A (Direction A2B) is in HeaderSent at
// epoch 1 and party B (B2A) in Ct1Sampled, with its chain at epoch 1.
func SPQRFixtures() (a, b []byte, err error) {
	if a, err = ReadFile("spqr/issue1275_a_state.in"); err != nil {
		return nil, nil, err
	}
	if b, err = ReadFile("spqr/issue1275_b_state.in"); err != nil {
		return nil, nil, err
	}
	return a, b, nil
}
