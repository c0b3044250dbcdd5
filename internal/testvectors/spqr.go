package testvectors

// SPQRFixtures returns the two SPQR states written by Signal's spqr crate
// (its regression fixtures src/issue1275_{a,b}_state.in): after 30 lockstep
// steps with auth_key = 0x29×32, party A (Direction A2B) is in HeaderSent at
// epoch 1 and party B (B2A) in Ct1Sampled, with its chain at epoch 1.
func SPQRFixtures() (a, b []byte, err error) {
	if a, err = ReadFile("spqr/issue1275_a_state.in"); err != nil {
		return nil, nil, err
	}
	if b, err = ReadFile("spqr/issue1275_b_state.in"); err != nil {
		return nil, nil, err
	}
	return a, b, nil
}

// SPQRTranscript is the SPQR part of the libsignal 0.103.0 transcript
// (libsignal/libsignal_v0.103_transcript.json): per session, the SPQR
// message of every SignalMessage, the randomness each party's SPQR drew, and
// the SPQR states (SessionStructure field 15) of the recorded session
// records.
type SPQRTranscript struct {
	Sessions []SPQRTranscriptSession `json:"sessions"`
}

// SPQRTranscriptSession is one recorded session.
type SPQRTranscriptSession struct {
	Name     string                  `json:"name"`
	Messages []SPQRTranscriptMessage `json:"messages"`
	Bob      struct {
		SPQR []SPQRRandomness `json:"spqr"`
	} `json:"bob_generated_secrets"`
	Alice struct {
		SPQR []SPQRRandomness `json:"spqr"`
	} `json:"alice_generated_secrets_debug"`
	Records []SPQRSessionRecord `json:"session_records"`
}

// SPQRTranscriptMessage is one message: its sender ("alice" or "bob") and the
// SPQR message it carried (SignalMessage field 5, of the inner SignalMessage
// for PreKey messages).
type SPQRTranscriptMessage struct {
	Seq  int    `json:"seq"`
	From string `json:"from"`
	Type int    `json:"type"`
	// SenderAfter and ReceiverAfter summarize the sender's SPQR state after
	// encrypting and the receiver's after decrypting, for example
	// "HeaderSent epoch 1 (send_ek 1/30 chunks); chain epoch 0 send_epoch 0".
	SenderAfter   string `json:"spqr_sender_after_encrypt"`
	ReceiverAfter string `json:"spqr_receiver_after_decrypt"`
	Wire          struct {
		PQRatchet Hex `json:"pq_ratchet"`
		Inner     *struct {
			PQRatchet Hex `json:"pq_ratchet"`
		} `json:"inner"`
	} `json:"wire"`
}

// PQRatchet returns the SPQR message of m.
func (m *SPQRTranscriptMessage) PQRatchet() []byte {
	if m.Wire.Inner != nil {
		return m.Wire.Inner.PQRatchet
	}
	return m.Wire.PQRatchet
}

// SPQRRandomness is one random draw of a party's SPQR: a key generation
// (Event "keygen", DK the expanded 2400-byte decapsulation key) or an
// encapsulation (Event "encaps1", M the 32-byte message, with the ES, Hdr
// and Ct1 libcrux produced), made while encrypting message AtSeq. StateAfter
// is the party's SPQR state right after it, when recorded.
type SPQRRandomness struct {
	Event      string `json:"event"`
	Epoch      int    `json:"epoch"`
	AtSeq      int    `json:"at_seq"`
	DK         Hex    `json:"dk"`
	M          Hex    `json:"m"`
	ES         Hex    `json:"es"`
	Hdr        Hex    `json:"hdr"`
	Ct1        Hex    `json:"ct1"`
	Injections struct {
		StateAfter Hex `json:"pq_ratchet_state_after"`
	} `json:"libsignal_injection"`
}

// SPQRSessionRecord is a libsignal SessionRecord of Party ("alice" or
// "bob") after message AfterSeq (nil: before any message).
type SPQRSessionRecord struct {
	Party    string `json:"party"`
	AfterSeq *int   `json:"after_seq"`
	Why      string `json:"why"`
	Record   Hex    `json:"record"`
}

// LibsignalV0103SPQR returns the SPQR part of the libsignal 0.103.0
// transcript.
func LibsignalV0103SPQR() (*SPQRTranscript, error) {
	t := new(SPQRTranscript)
	if err := loadJSON("libsignal/libsignal_v0.103_transcript.json", t); err != nil {
		return nil, err
	}
	return t, nil
}
