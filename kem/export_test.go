package kem

// Test-only access to the deterministic variants (see STYLE.md §2: KATs reach
// the seeded forms, the public API reads crypto/rand).
var (
	NewKeyFromSeed           = newKeyFromSeed
	EncapsulateDeterministic = encapsulateDeterministic
	ErrSeedLength            = errSeedLength
	Canonical                = canonical
)
