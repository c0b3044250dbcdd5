package session

import "time"

// Option configures a Manager.
type Option func(*Manager)

// WithX3DH enables X3DH (version 3) sessions: processing bundles without a
// Kyber pre-key and accepting version 3 PreKey messages. Off by default,
// as in current libsignal.
func WithX3DH(enabled bool) Option { return func(m *Manager) { m.allowX3DH = enabled } }

// WithLegacyVersion3Byte makes version 3 (X3DH) messages start with 0x33,
// as libsignal-protocol-java and WhatsApp-style stacks write them, rather
// than libsignal's 0x34. go.mau.fi/libsignal v0.2.1 verifies MACs only over
// 0x33; libsignal and this package accept both.
func WithLegacyVersion3Byte(enabled bool) Option {
	return func(m *Manager) { m.legacyV3Byte = enabled }
}

// WithSPQR sets whether the Manager runs the post-quantum triple ratchet
// (SPQR v1). On (the default, as current Signal clients and libsignal ≥
// 0.92 run it): the PQXDH sessions the Manager starts run SPQR, and it
// requires SPQR of every PQXDH session a peer starts. Such sessions need
// SPQR data on every message. WithSPQR(false) is for older peers
// (libsignal < 0.74, such as 0.72): the Manager starts classical PQXDH
// sessions and, as responder, follows the initiator: a first message that
// carries SPQR data starts an SPQR session, one without starts a classical
// one. X3DH (version 3) sessions, which WhatsApp-style stacks use, are
// always classical.
func WithSPQR(enabled bool) Option { return func(m *Manager) { m.spqr = enabled } }

// WithLocalAddress tells the Manager its own address. When both it and a
// peer's address are Signal service ids (a UUID, or "PNI:" and a UUID),
// PreKey messages carry both addresses (SignalMessage field 6, covered by
// the MAC) as libsignal ≥ 0.91 writes them, and received messages that
// carry addresses must name this pair. Without a local address, a
// received message that carries addresses is rejected, as libsignal does
// when its own address is not a service id.
func WithLocalAddress(addr Address) Option {
	return func(m *Manager) { m.local, m.hasLocal = addr, true }
}

// WithClock sets the clock used for session timestamps and the
// unacknowledged-session limit.
func WithClock(now func() time.Time) Option { return func(m *Manager) { m.now = now } }
