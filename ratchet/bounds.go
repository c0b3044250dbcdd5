package ratchet

// ForwardJump returns how many chain steps Decrypt runs for m before it can
// check m's MAC: the distance from the receiving chain of m's ratchet key
// to m's counter (from 0 for a ratchet key not seen yet), and 0 for a
// message behind its chain. It lets a caller that tries several states
// bound the work one unauthenticated message can cost.
func (s *State) ForwardJump(m *Message) uint32 {
	var index uint32
	if ci := s.findReceiver(m.RatchetKey); ci >= 0 {
		index = s.receivers[ci].index
	}
	if m.Counter < index {
		return 0
	}
	return m.Counter - index
}

// NeedsDHStep reports whether decrypting m runs a DH ratchet step (m
// carries a ratchet key the state has no receiving chain for), which costs
// three scalar multiplications before the MAC can be checked.
func (s *State) NeedsDHStep(m *Message) bool { return s.findReceiver(m.RatchetKey) < 0 }

// ReceiverChains returns how many receiving chains the state keeps. A state
// set up by a responder has none until its first message is decrypted.
func (s *State) ReceiverChains() int { return len(s.receivers) }

// SkippedKeys returns how many skipped message keys the state keeps, over
// all its receiving chains.
func (s *State) SkippedKeys() int {
	n := 0
	for i := range s.receivers {
		n += len(s.receivers[i].skipped)
	}
	return n
}

// TrimSkippedKeys drops skipped message keys until at most n remain over
// all receiving chains, oldest chain first and, within a chain, oldest key
// first. A message whose key was dropped is then reported as a duplicate.
func (s *State) TrimSkippedKeys(n int) {
	over := s.SkippedKeys() - max(n, 0)
	for i := 0; over > 0 && i < len(s.receivers); i++ {
		r := &s.receivers[i]
		d := min(over, len(r.skipped))
		clear(r.skipped[:d])
		r.skipped = append(r.skipped[:0], r.skipped[d:]...)
		over -= d
	}
}
