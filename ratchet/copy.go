package ratchet

// CopyFrom makes s a deep copy of src. (Temporary: replaced by the copy branch.)
func (s *State) CopyFrom(src *State) { *s = *src.Clone() }

// Reset empties s. (Temporary: replaced by the copy branch.)
func (s *State) Reset() { *s = State{} }
