package spqr

import "errors"

// Errors returned by [Send] and [Recv]. They carry no key material.
// libsignal treats every error except [ErrStateDecode] like a MAC failure
// (InvalidMessage); ErrStateDecode means the stored state is corrupt.
var (
	// ErrStateDecode reports stored state bytes that do not parse.
	ErrStateDecode = errors.New("spqr: invalid state encoding")
	// ErrMsgDecode reports an SPQR message that does not parse.
	ErrMsgDecode = errors.New("spqr: invalid message encoding")
	// ErrEpochOutOfRange reports a message or key request for an epoch the
	// state cannot serve (too new, or already dropped).
	ErrEpochOutOfRange = errors.New("spqr: epoch out of range")
	// ErrSendKeyEpochDecreased reports a send key requested for an epoch
	// older than one already used for sending.
	ErrSendKeyEpochDecreased = errors.New("spqr: send key epoch decreased")
	// ErrKeyAlreadyRequested reports a message key that was already used
	// (a replayed or duplicated message).
	ErrKeyAlreadyRequested = errors.New("spqr: key already requested")
	// ErrKeyTrimmed reports a message key older than the out-of-order window.
	ErrKeyTrimmed = errors.New("spqr: key trimmed")
	// ErrKeyJump reports a message index too far ahead of the chain.
	ErrKeyJump = errors.New("spqr: key index jump too large")
	// ErrErroneousData reports received protocol data that fails a check: a
	// header or ciphertext MAC, or an encapsulation key that does not match
	// its header.
	ErrErroneousData = errors.New("spqr: erroneous data received")
	// ErrVersionMismatch reports a message of an older SPQR version after
	// version negotiation has closed.
	ErrVersionMismatch = errors.New("spqr: version mismatch")
	// ErrMinimumVersion reports a message below the session's minimum SPQR
	// version (for libsignal ≥ 0.92 sessions: any message without SPQR data).
	ErrMinimumVersion = errors.New("spqr: message below minimum version")
	// ErrRandomness reports missing or invalid randomness injected into a
	// replayed send (a test-only entry point, internal/spqrreplay).
	ErrRandomness = errors.New("spqr: missing or invalid injected randomness")
	// ErrChainNotAvailable reports a state with neither a chain nor the
	// data to build one.
	ErrChainNotAvailable = errors.New("spqr: chain not available")
)
