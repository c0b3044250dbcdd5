// Package spqrreplay gives this module's tests the one SPQR entry point that
// is not public API: a send step with injected randomness, for replaying
// conversations recorded from libsignal (the randomness libsignal stores in
// its records: the ML-KEM-768 decapsulation key and the encapsulation
// message). Package spqr sets Send when it is initialized, so importers of
// this package must also (directly or not) import spqr.
package spqrreplay

// Send advances an encoded SPQR state for one outgoing message, as
// spqr.Send does, but with the randomness given: dk (the 2400-byte FIPS 203
// decapsulation key) when the step generates the epoch's key pair, m (32
// bytes) when it encapsulates. Values the step does not need are ignored; a
// needed value that is nil or invalid gives spqr.ErrRandomness. It returns
// the new state, the message key (nil when none) and the SPQR message.
var Send func(state, dk, m []byte) (newState []byte, key *[32]byte, msg []byte, err error)
