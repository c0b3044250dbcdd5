package ratchet

// SecretsWiped captures the memory that holds s's secrets now (the root,
// chain and private key bytes, every skipped-key buffer up to its capacity)
// and returns a function reporting whether all of it is zero, and whether
// the SPQR state s holds now (if any) encodes as empty.
func SecretsWiped(s *State) func() bool {
	var bufs [][]skippedKey
	recv := s.receivers[:cap(s.receivers)]
	for _, r := range recv {
		bufs = append(bufs, r.skipped[:cap(r.skipped)])
	}
	pq := s.pq
	return func() bool {
		for _, sk := range bufs {
			for _, k := range sk {
				if k != (skippedKey{}) {
					return false
				}
			}
		}
		for _, r := range recv {
			if r.chainKey != [32]byte{} {
				return false
			}
		}
		if s.rootKey != [32]byte{} || s.sender.privRaw != [32]byte{} || s.sender.chainKey != [32]byte{} {
			return false
		}
		if pq != nil {
			if b, _ := pq.MarshalBinary(); len(b) != 0 {
				return false
			}
		}
		return true
	}
}

// SkippedSeeds returns every skipped-key seed in s's receiving chains'
// buffers, up to their capacity (past the slices' ends too).
func SkippedSeeds(s *State) [][32]byte {
	var out [][32]byte
	for _, r := range s.receivers {
		for _, k := range r.skipped[:cap(r.skipped)] {
			out = append(out, k.seed)
		}
	}
	return out
}
