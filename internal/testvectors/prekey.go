package testvectors

import "fmt"

// KeyPair is a recorded Curve25519 key pair (33-byte public key, 32-byte
// private scalar).
type KeyPair struct {
	Pub  Hex `json:"pub"`
	Priv Hex `json:"priv"`
}

// AliceRatchetKeys are the sending ratchet key pairs libsignal's Alice drew
// in a recorded session: Chain1 for her first sending chain (the ratchet key
// of her first PreKeySignalMessage), Chain2 for the chain after Bob's reply.
// The transcript records them for debugging; Alice's base key and KEM
// randomness were not recorded, so her side cannot be replayed.
type AliceRatchetKeys struct {
	Chain1 KeyPair `json:"chain_1"`
	Chain2 KeyPair `json:"chain_2"`
	Note   string  `json:"note"`
}

// LibsignalV072AliceRatchetKeys returns Alice's ratchet key pairs of the
// named session ("pqxdh" or "x3dh") of the libsignal 0.72.1 transcript
// (field alice_ratchet_keys_info, which the Transcript type does not load).
func LibsignalV072AliceRatchetKeys(session string) (*AliceRatchetKeys, error) {
	var t struct {
		Sessions []struct {
			Name string           `json:"name"`
			Info AliceRatchetKeys `json:"alice_ratchet_keys_info"`
		} `json:"sessions"`
	}
	if err := loadJSON("libsignal/libsignal_v0.72_transcript.json", &t); err != nil {
		return nil, err
	}
	for i := range t.Sessions {
		if t.Sessions[i].Name == session {
			return &t.Sessions[i].Info, nil
		}
	}
	return nil, fmt.Errorf("testvectors: no session %q in the libsignal 0.72 transcript", session)
}
