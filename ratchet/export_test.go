package ratchet

import "github.com/ratchetlab/signal/keys"

// SetKeyGenerator replaces the ratchet key generator of s, so that a test
// can replay a recorded conversation with the keys the peer drew.
func SetKeyGenerator(s *State, f func() (*keys.PrivateKey, error)) { s.newKey = f }
