package testvectors

// SenderKeyVectors is libsignal_sender_keys.json: sender keys (group
// messaging) recorded from libsignal 0.103.0 (and checked with 0.72.1),
// with the sender's records built from fixed keys so that everything but
// the XEdDSA signatures is reproducible.
type SenderKeyVectors struct {
	Description      string   `json:"description"`
	LibsignalVersion string   `json:"libsignal_version"`
	CheckedWith      []string `json:"checked_with"`
	Formats          struct {
		Limits struct {
			MaxForwardJumps    int `json:"max_forward_jumps"`
			MaxMessageKeys     int `json:"max_message_keys"`
			MaxSenderKeyStates int `json:"max_sender_key_states"`
		} `json:"limits"`
	} `json:"formats"`
	Sender    SenderKeyParty            `json:"sender"`
	Receivers map[string]SenderKeyParty `json:"receivers"`
	Groups    []SenderKeyGroup          `json:"groups"`
}

// SenderKeyParty names a party of the sender-key vectors.
type SenderKeyParty struct {
	Name         string `json:"name"`
	DeviceID     uint32 `json:"device_id"`
	IdentityPriv Hex    `json:"identity_priv"`
}

// SenderKeyChain is the sender's chain as the generator fixed it.
type SenderKeyChain struct {
	ChainID     uint32 `json:"chain_id"`
	Iteration   uint32 `json:"iteration"`
	ChainKey    Hex    `json:"chain_key"`
	SigningPub  Hex    `json:"signing_pub"`
	SigningPriv Hex    `json:"signing_priv"`
}

// SenderKeyDistributionFields are the decoded fields of an SKDM.
type SenderKeyDistributionFields struct {
	VersionByte    int    `json:"version_byte"`
	DistributionID string `json:"distribution_id"`
	ChainID        uint32 `json:"chain_id"`
	Iteration      uint32 `json:"iteration"`
	ChainKey       Hex    `json:"chain_key"`
	SigningKey     Hex    `json:"signing_key"`
}

// SenderKeyMessage is one recorded group message with its derived keys.
type SenderKeyMessage struct {
	Iteration     uint32 `json:"iteration"`
	Plaintext     Hex    `json:"plaintext"`
	PlaintextText string `json:"plaintext_text"`
	Ciphertext    Hex    `json:"ciphertext"`
	Wire          struct {
		VersionByte int    `json:"version_byte"`
		ChainID     uint32 `json:"chain_id"`
		Iteration   uint32 `json:"iteration"`
		Body        Hex    `json:"body"`
		Signature   Hex    `json:"signature"`
	} `json:"wire"`
	ChainKey       Hex `json:"chain_key"`
	MessageKeySeed Hex `json:"message_key_seed"`
	IV             Hex `json:"iv"`
	CipherKey      Hex `json:"cipher_key"`
}

// SenderKeyStep is one delivery and libsignal's answer: "ok",
// "duplicate_message", "no_sender_key" or "invalid_message". Message is
// an index into the messages (an iteration for group3_far_ahead); Chain
// (reset steps only) is 1 for the first chain's messages and 2 for the
// reset chain's.
type SenderKeyStep struct {
	Chain     int    `json:"chain"`
	Message   int    `json:"message"`
	Iteration uint32 `json:"iteration"`
	Expect    string `json:"expect"`
	When      string `json:"when"`
}

// SenderKeyStateSummary describes a state of a receiver's record.
type SenderKeyStateSummary struct {
	ChainID            uint32   `json:"chain_id"`
	MessageVersion     uint32   `json:"message_version"`
	ChainIteration     uint32   `json:"chain_iteration"`
	ChainKey           Hex      `json:"chain_key"`
	SigningPub         Hex      `json:"signing_pub"`
	HasSigningPriv     bool     `json:"has_signing_priv"`
	SkippedMessageKeys []uint32 `json:"skipped_message_keys"`
}

// SenderKeyGroup is one recorded group (distribution id) of the vectors.
type SenderKeyGroup struct {
	Name                    string                       `json:"name"`
	DistributionID          string                       `json:"distribution_id"`
	SenderChain             SenderKeyChain               `json:"sender_chain"`
	SenderRecord            Hex                          `json:"sender_record"`
	SKDM                    Hex                          `json:"skdm"`
	SKDMFields              *SenderKeyDistributionFields `json:"skdm_fields"`
	SKDMAtCreation          Hex                          `json:"skdm_at_creation"`
	SKDMAfter3Messages      Hex                          `json:"skdm_after_3_messages"`
	SKDMAfter3Fields        *SenderKeyDistributionFields `json:"skdm_after_3_messages_fields"`
	Messages                []SenderKeyMessage           `json:"messages"`
	ReceiverRecordAfterSKDM Hex                          `json:"receiver_record_after_skdm"`
	Deliveries              struct {
		Receiver string          `json:"receiver"`
		Steps    []SenderKeyStep `json:"steps"`
	} `json:"deliveries"`
	ReceiverRecordAfterDeliveries        Hex                     `json:"receiver_record_after_deliveries"`
	ReceiverRecordAfterDeliveriesSummary []SenderKeyStateSummary `json:"receiver_record_after_deliveries_summary"`
	Reset                                *struct {
		SenderChain                SenderKeyChain          `json:"sender_chain"`
		SKDM                       Hex                     `json:"skdm"`
		Messages                   []SenderKeyMessage      `json:"messages"`
		Steps                      []SenderKeyStep         `json:"steps"`
		ReceiverRecordFinal        Hex                     `json:"receiver_record_final"`
		ReceiverRecordFinalSummary []SenderKeyStateSummary `json:"receiver_record_final_summary"`
	} `json:"reset"`
}

// MessageByIteration returns the group's message with the given
// iteration, or nil.
func (g *SenderKeyGroup) MessageByIteration(it uint32) *SenderKeyMessage {
	for i := range g.Messages {
		if g.Messages[i].Iteration == it {
			return &g.Messages[i]
		}
	}
	return nil
}

// LibsignalSenderKeys returns libsignal/libsignal_sender_keys.json.
func LibsignalSenderKeys() (*SenderKeyVectors, error) {
	v := new(SenderKeyVectors)
	if err := loadJSON("libsignal/libsignal_sender_keys.json", v); err != nil {
		return nil, err
	}
	return v, nil
}

// TranscriptSenderKey is the sender-key part of a recorded transcript: an
// SKDM and group messages from one sender.
type TranscriptSenderKey struct {
	Sender         Address `json:"sender"`
	DistributionID string  `json:"distribution_id"`
	SKDM           Hex     `json:"skdm"`
	SKDMFields     struct {
		DistributionUUID Hex    `json:"distribution_uuid"`
		ChainID          uint32 `json:"chain_id"`
		Iteration        uint32 `json:"iteration"`
		ChainKey         Hex    `json:"chain_key"`
		SigningKey       Hex    `json:"signing_key"`
	} `json:"skdm_fields"`
	Messages []struct {
		Seq           int    `json:"seq"`
		Type          int    `json:"type"`
		Ciphertext    Hex    `json:"ciphertext"`
		Plaintext     Hex    `json:"plaintext"`
		PlaintextText string `json:"plaintext_text"`
		Wire          struct {
			ChainID   uint32 `json:"chain_id"`
			Iteration uint32 `json:"iteration"`
		} `json:"wire"`
	} `json:"messages"`
}

// LibsignalV072SenderKey returns the sender-key part of the 0.72.1
// transcript.
func LibsignalV072SenderKey() (*TranscriptSenderKey, error) {
	var f struct {
		SenderKey TranscriptSenderKey `json:"sender_key"`
	}
	if err := loadJSON("libsignal/libsignal_v0.72_transcript.json", &f); err != nil {
		return nil, err
	}
	return &f.SenderKey, nil
}
