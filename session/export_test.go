package session

import "github.com/ratchetlab/signal/ratchet"

// LockedAddresses returns how many addresses have an entry in m's lock map.
func LockedAddresses(m *Manager) int { return m.locks.len() }

// TxLockedAddresses returns how many addresses have an entry in s's
// transaction lock map.
func TxLockedAddresses(s *MemoryStore) int { return s.txLocks.len() }

// CurrentStateForTest gives the external tests the record's mutable current
// state (nil if none), which the public API offers only as Record.Info.
func CurrentStateForTest(r *Record) *ratchet.State { return r.currentState() }
