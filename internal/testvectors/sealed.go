package testvectors

import "encoding/json"

// AEADCase is one case of a Wycheproof AEAD file (aead_test_schema_v1):
// Seal(Key, IV, Msg, AAD) gives CT || Tag for valid cases; invalid cases
// must not open.
type AEADCase struct {
	WycheproofCase
	Key, IV, AAD, Msg, CT, Tag []byte
}

// AESGCMSIV returns every case of Wycheproof's aes_gcm_siv_test.json
// (C2SP/wycheproof testvectors_v1, AES-128 and AES-256; the cases whose
// comment is "RFC 8452" are the test vectors of RFC 8452 Appendix C).
func AESGCMSIV() ([]AEADCase, error) {
	var f struct {
		TestGroups []struct {
			Tests []struct {
				wcase
				Key Hex `json:"key"`
				IV  Hex `json:"iv"`
				AAD Hex `json:"aad"`
				Msg Hex `json:"msg"`
				CT  Hex `json:"ct"`
				Tag Hex `json:"tag"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	if err := loadJSON("wycheproof/aes_gcm_siv_test.json", &f); err != nil {
		return nil, err
	}
	var out []AEADCase
	for _, g := range f.TestGroups {
		for _, t := range g.Tests {
			out = append(out, AEADCase{t.common(), t.Key, t.IV, t.AAD, t.Msg, t.CT, t.Tag})
		}
	}
	return out, nil
}

// SealedSenderParty is a party of libsignal_sealed_sender.json with its
// fixed keys.
type SealedSenderParty struct {
	Name           string `json:"name"`
	DeviceID       uint32 `json:"device_id"`
	RegistrationID uint32 `json:"registration_id"`
	IdentityPriv   Hex    `json:"identity_priv"`
	IdentityKey    Hex    `json:"identity_key"`
	E164           string `json:"e164"`
	// PreKeys is the recipient's published bundle and private keys, as
	// the peer protocol's prekeys command takes them (raw JSON).
	PreKeys json.RawMessage `json:"prekeys"`
}

// SealedSenderServer is a trust root's server certificate.
type SealedSenderServer struct {
	Priv        Hex    `json:"priv"`
	Key         Hex    `json:"key"`
	KeyID       uint32 `json:"key_id"`
	TrustRoot   Hex    `json:"trust_root"`
	Certificate Hex    `json:"certificate"`
}

// SealedSenderCertificate is a sender certificate issued by libsignal.
type SealedSenderCertificate struct {
	Certificate       Hex     `json:"certificate"`
	ServerCertificate Hex     `json:"server_certificate"`
	SenderUUID        string  `json:"sender_uuid"`
	SenderE164        *string `json:"sender_e164"`
	SenderDevice      uint32  `json:"sender_device"`
	SenderKey         Hex     `json:"sender_key"`
	Expiration        uint64  `json:"expiration"`
}

// SealedSenderExpected is what decrypting a sealed message must give.
type SealedSenderExpected struct {
	SenderUUID        string  `json:"sender_uuid"`
	SenderDevice      uint32  `json:"sender_device"`
	SenderE164        *string `json:"sender_e164"`
	USMC              Hex     `json:"usmc"`
	SenderCertificate Hex     `json:"sender_certificate"`
	MessageType       int     `json:"message_type"`
	ContentHint       uint32  `json:"content_hint"`
	GroupID           Hex     `json:"group_id"`
	Inner             Hex     `json:"inner"`
	Plaintext         Hex     `json:"plaintext"`
	PlaintextText     *string `json:"plaintext_text"`
}

// SealedSenderV1 is one v1 message of the file.
type SealedSenderV1 struct {
	Name      string               `json:"name"`
	Sealed    Hex                  `json:"sealed"`
	InnerType int                  `json:"inner_type"`
	Inner     Hex                  `json:"inner"`
	Plaintext Hex                  `json:"plaintext"`
	Receiver  string               `json:"receiver"`
	Expected  SealedSenderExpected `json:"expected"`
}

// SealedSenderReceived is one recipient's part of the server's split.
type SealedSenderReceived struct {
	Name            string   `json:"name"`
	DeviceIDs       []uint32 `json:"device_ids"`
	RegistrationIDs []uint32 `json:"registration_ids"`
	Message         Hex      `json:"message"`
}

// SealedSenderV2 is one multi-recipient message: the sent form, the
// server's split and what the recipients decrypt.
type SealedSenderV2 struct {
	Sent     Hex                    `json:"sent"`
	Excluded []string               `json:"excluded"`
	Received []SealedSenderReceived `json:"received"`
	Expected SealedSenderExpected   `json:"expected"`
}

// SealedSenderNegative is a message that must be rejected with the named
// peer-protocol error.
type SealedSenderNegative struct {
	Name      string `json:"name"`
	Sealed    Hex    `json:"sealed"`
	Timestamp uint64 `json:"timestamp"`
	TrustRoot Hex    `json:"trust_root"`
	Expect    string `json:"expect"`
	// ThenWithTrustRoot2 is set when the message decrypts with trust
	// root 2 afterwards.
	ThenWithTrustRoot2 *struct {
		Plaintext   Hex    `json:"plaintext"`
		ContentHint uint32 `json:"content_hint"`
		GroupID     Hex    `json:"group_id"`
		MessageType int    `json:"message_type"`
	} `json:"then_with_trust_root_2"`
}

// SealedSenderVectors is libsignal_sealed_sender.json: sealed sender v1 and
// v2 messages recorded with libsignal 0.103.0 (checked with 0.72.1) under
// fixed keys, with certificates, the server's split and negative cases.
type SealedSenderVectors struct {
	Timestamp             uint64                             `json:"timestamp"`
	TrustRoot             struct{ Priv, Pub Hex }            `json:"trust_root"`
	TrustRoot2            struct{ Priv, Pub Hex }            `json:"trust_root_2"`
	Server                SealedSenderServer                 `json:"server"`
	ServerUnderTrustRoot2 SealedSenderServer                 `json:"server_under_trust_root_2"`
	Certificates          map[string]SealedSenderCertificate `json:"certificates"`
	Sender                SealedSenderParty                  `json:"sender"`
	Recipients            map[string]SealedSenderParty       `json:"recipients"`
	Group                 struct {
		DistributionID string `json:"distribution_id"`
		SKDM           Hex    `json:"skdm"`
		GroupID        Hex    `json:"group_id"`
	} `json:"group"`
	V1 []SealedSenderV1 `json:"v1"`
	V2 struct {
		Group                   SealedSenderV2 `json:"group"`
		SingleRecipientOneToOne SealedSenderV2 `json:"single_recipient_one_to_one"`
	} `json:"v2"`
	Negative []SealedSenderNegative `json:"negative"`
}

// SealedSender returns libsignal_sealed_sender.json.
func SealedSender() (*SealedSenderVectors, error) {
	var v SealedSenderVectors
	if err := loadJSON("libsignal/libsignal_sealed_sender.json", &v); err != nil {
		return nil, err
	}
	return &v, nil
}
