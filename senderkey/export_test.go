package senderkey

// SetChainForTest moves the newest state of r to the given iteration and
// chain key, as many encryptions would, without signing each message.
func SetChainForTest(r *Record, iteration uint32, chainKey [32]byte) {
	r.states[0].iteration = iteration
	r.states[0].chainKey = chainKey
}
