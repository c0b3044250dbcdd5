package session

import "github.com/ratchetlab/signal/keys"

// SessionInfo is a read-only summary of a record's current session state:
// public facts only, never key material. Changing it changes nothing.
type SessionInfo struct {
	// Version is the session version: 3 (X3DH) or 4 (PQXDH).
	Version uint8
	// LocalIdentity and RemoteIdentity are the identity keys the session
	// was agreed with.
	LocalIdentity, RemoteIdentity keys.PublicKey
	// LocalRegistrationID and RemoteRegistrationID are the parties'
	// registration ids as the session knows them (the remote one is 0
	// until a message from the peer has named it).
	LocalRegistrationID, RemoteRegistrationID uint32
	// HasSenderChain reports whether the state can send; a state without
	// a sending chain is not a session (Encrypt returns ErrNoSession).
	HasSenderChain bool
	// SPQR reports whether the state runs the post-quantum ratchet (SPQR).
	SPQR bool
	// PendingPreKey reports whether the peer has not answered yet, so that
	// Encrypt still produces PreKey messages.
	PendingPreKey bool
}

// Info returns a summary of the current session state, and false if the
// record has none.
func (r *Record) Info() (SessionInfo, bool) {
	s := r.current
	if s == nil {
		return SessionInfo{}, false
	}
	return SessionInfo{
		Version:              s.Version(),
		LocalIdentity:        s.LocalIdentity(),
		RemoteIdentity:       s.RemoteIdentity(),
		LocalRegistrationID:  s.LocalRegistrationID(),
		RemoteRegistrationID: s.RemoteRegistrationID(),
		HasSenderChain:       s.HasSenderChain(),
		SPQR:                 s.HasPQRatchet(),
		PendingPreKey:        s.PendingPreKey() != nil,
	}, true
}
