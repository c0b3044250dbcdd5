package session

import "sync"

// addrLocks is a set of per-address mutexes. An entry exists only while a
// goroutine holds or waits for it: the map does not grow with every peer
// ever seen.
type addrLocks struct {
	mu sync.Mutex
	m  map[Address]*addrLock
}

type addrLock struct {
	mu   sync.Mutex
	refs int // holders and waiters, guarded by addrLocks.mu
}

// lock locks addr; unlock it with unlock(addr, e).
func (l *addrLocks) lock(addr Address) (e *addrLock) {
	l.mu.Lock()
	if l.m == nil {
		l.m = make(map[Address]*addrLock)
	}
	e = l.m[addr]
	if e == nil {
		e = lockPool.Get().(*addrLock)
		l.m[addr] = e
	}
	e.refs++
	l.mu.Unlock()
	e.mu.Lock()
	return e
}

// unlock unlocks addr, locked as e, and forgets it if nobody else holds or
// waits for it.
func (l *addrLocks) unlock(addr Address, e *addrLock) {
	e.mu.Unlock()
	l.mu.Lock()
	free := false
	if e.refs--; e.refs == 0 {
		delete(l.m, addr)
		free = true
	}
	l.mu.Unlock()
	if free {
		// Nobody can reach e any more: it is out of the map and unlocked.
		lockPool.Put(e)
	}
}

// lockPool recycles the entries of addrLocks, which come and go with
// every operation.
var lockPool = sync.Pool{New: func() any { return new(addrLock) }}

// len returns how many addresses have an entry.
func (l *addrLocks) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
