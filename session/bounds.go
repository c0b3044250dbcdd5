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
// (about 39 bytes each encoded), 15 MiB per record, decoded and encoded on
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
// Measured with BenchmarkForgedWhisper: one forged Whisper message (fresh
// ratchet key, random MAC) against a record of 1 current and 40 archived
// states, CPU time per message (cpu-ns/op, median of 5; amd64, 2 cores
// shared with other jobs, so only the ratios are meaningful):
//
//	counter    before (libsignal's limits)   after
//	25,000     625 ms                        14.1 ms (the current state alone)
//	2,000      59.3 ms                       2.96 ms
//	0          7.8 ms                        2.53 ms
//
// and BenchmarkPinnedRecord: the largest record one peer can make us keep
// (each of the 41 states with MaxReceiverChains × MaxMessageKeys skipped
// keys) fell from 15.2 MiB to 0.62 MiB (at most 10,000 skipped keys in the
// current state plus 40 × MaxArchivedSkippedKeys), and an ordinary message
// while it is stored from 20.3 ms and 52 MB allocated to 7.4 ms and 3.7 MB.
//
// The price, for traffic libsignal would accept: a message more than 2,000
// ahead on an archived state is refused (ErrTooFarInFuture), as is a
// message for an old archived state once the newer ones have used up the
// budget (about 13 states with a new ratchet key, or 2 with a 2,000-message
// gap), and a straggler of a replaced session whose key is not among the
// newest 200 skipped keys is reported as a duplicate. Each of these ends
// in the usual recovery (a retry request and a new session).
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
