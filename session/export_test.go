package session

// LockedAddresses returns how many addresses have an entry in m's lock map.
func LockedAddresses(m *Manager) int { return m.locks.len() }

// TxLockedAddresses returns how many addresses have an entry in s's
// transaction lock map.
func TxLockedAddresses(s *MemoryStore) int { return s.txLocks.len() }
