package testvectors

// Address is a protocol address: a name (a service id for Signal) and a
// device id.
type Address struct {
	Name     string `json:"name"`
	DeviceID uint32 `json:"device_id"`
}

// Bundle is a pre-key bundle as published by Bob, in the JSON shape of the
// interop peer protocol. Absent optional keys are nil.
type Bundle struct {
	RegistrationID        uint32  `json:"registration_id"`
	DeviceID              uint32  `json:"device_id"`
	IdentityKey           Hex     `json:"identity_key"`
	SignedPreKeyID        uint32  `json:"signed_prekey_id"`
	SignedPreKey          Hex     `json:"signed_prekey"`
	SignedPreKeySignature Hex     `json:"signed_prekey_signature"`
	PreKeyID              *uint32 `json:"prekey_id"`
	PreKey                Hex     `json:"prekey"`
	KyberPreKeyID         *uint32 `json:"kyber_prekey_id"`
	KyberPreKey           Hex     `json:"kyber_prekey"`
	KyberPreKeySignature  Hex     `json:"kyber_prekey_signature"`
}

// Party holds one side's keys in a recorded transcript. Private keys are
// libsignal's serializations (32-byte clamped scalars; 0x08||3168-byte Kyber
// secret keys). Pre-key fields are set only for Bob.
type Party struct {
	Address              Address `json:"address"`
	RegistrationID       uint32  `json:"registration_id"`
	IdentityPriv         Hex     `json:"identity_priv"`
	IdentityPub          Hex     `json:"identity_pub"`
	SignedPreKeyID       uint32  `json:"signed_prekey_id"`
	SignedPreKeyPriv     Hex     `json:"signed_prekey_priv"`
	SignedPreKeyPub      Hex     `json:"signed_prekey_pub"`
	SignedPreKeyTimestam uint64  `json:"signed_prekey_timestamp"`
	PreKeyID             *uint32 `json:"prekey_id"`
	PreKeyPriv           Hex     `json:"prekey_priv"`
	PreKeyPub            Hex     `json:"prekey_pub"`
	KyberPreKeyID        *uint32 `json:"kyber_prekey_id"`
	KyberPreKeyPriv      Hex     `json:"kyber_prekey_priv"`
	KyberPreKeyPub       Hex     `json:"kyber_prekey_pub"`
}

// RatchetKey is a ratchet key pair that libsignal's Bob drew at a known
// moment; a replaying implementation injects it in place of its RNG.
type RatchetKey struct {
	Priv     Hex    `json:"priv"`
	Pub      Hex    `json:"pub"`
	MadeWhen string `json:"made_when"`
	UsedBy   []int  `json:"used_by_seq"`
}

// ChainState is a chain of libsignal's session state, recorded for debugging.
type ChainState struct {
	RatchetKey    Hex    `json:"ratchet_key"`
	RatchetPriv   Hex    `json:"ratchet_priv"`
	ChainKeyIndex uint32 `json:"chain_key_index"`
	ChainKey      Hex    `json:"chain_key"`
}

// StateAfterFirst is libsignal Bob's state right after the first message.
type StateAfterFirst struct {
	RootKey       Hex        `json:"root_key"`
	SenderChain   ChainState `json:"sender_chain"`
	ReceiverChain ChainState `json:"receiver_chain"`
}

// TranscriptMessage is one recorded message. Type is 3 for a
// PreKeySignalMessage and 2 for a SignalMessage.
type TranscriptMessage struct {
	Seq        int    `json:"seq"`
	From       string `json:"from"`
	Type       int    `json:"type"`
	Ciphertext Hex    `json:"ciphertext"`
	Plaintext  Hex    `json:"plaintext"`
	Note       string `json:"note"`
}

// TranscriptSession is one recorded session between Alice and Bob.
type TranscriptSession struct {
	Name              string              `json:"name"`
	Handshake         string              `json:"handshake"`
	MessageVersion    int                 `json:"message_version"`
	RootKDFLabel      string              `json:"root_kdf_label"`
	Alice             Party               `json:"alice"`
	Bob               Party               `json:"bob"`
	Bundle            Bundle              `json:"bundle"`
	BobRatchetKeys    []RatchetKey        `json:"bob_ratchet_keys"`
	BobStateAfterSeq0 StateAfterFirst     `json:"bob_state_after_seq0"`
	Messages          []TranscriptMessage `json:"messages"`
}

// Transcript is a recorded libsignal conversation.
type Transcript struct {
	Description string              `json:"description"`
	Libsignal   string              `json:"libsignal"`
	Sessions    []TranscriptSession `json:"sessions"`
}

// Session returns the recorded session with the given name ("pqxdh" or
// "x3dh"), or nil.
func (t *Transcript) Session(name string) *TranscriptSession {
	for i := range t.Sessions {
		if t.Sessions[i].Name == name {
			return &t.Sessions[i]
		}
	}
	return nil
}

// LibsignalV072Transcript returns the conversations recorded from
// @signalapp/libsignal-client 0.72.1: one PQXDH (version 4, Kyber1024) and one
// X3DH (version 3) session, both with a one-time pre-key, Alice to Bob with
// two replies from Bob.
func LibsignalV072Transcript() (*Transcript, error) {
	t := new(Transcript)
	if err := loadJSON("libsignal/libsignal_v0.72_transcript.json", t); err != nil {
		return nil, err
	}
	return t, nil
}
