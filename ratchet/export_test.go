package ratchet

import "github.com/ratchetlab/signal/keys"

// SetKeyGenerator replaces the ratchet key generator of s, so that a test
// can replay a recorded conversation with the keys the peer drew.
func SetKeyGenerator(s *State, f func() (*keys.PrivateKey, error)) { s.newKey = f }

// SetPQSend replaces the SPQR send step of s, so that a test can inject
// the SPQR randomness a recorded peer drew.
func SetPQSend(s *State, f func(state []byte) ([]byte, *[32]byte, []byte, error)) { s.pqSend = f }
