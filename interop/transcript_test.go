package interop

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// transcript072 is the recorded libsignal 0.72.1 conversation (the same file
// as internal/testvectors/data/libsignal/libsignal_v0.72_transcript.json): classical sessions,
// sessions "pqxdh" and "x3dh".
var transcript072 = filepath.Join("..", "internal", "testvectors", "data", "libsignal", "libsignal_v0.72_transcript.json")

// transcript0103 is the recorded libsignal 0.103.0 conversation (the same
// file as internal/testvectors/data/libsignal/libsignal_v0.103_transcript.json): SPQR sessions
// "pqxdh_otpk" and "pqxdh_no_otpk", between service-id addresses, so its
// PreKey messages carry addresses.
var transcript0103 = filepath.Join("..", "internal", "testvectors", "data", "libsignal", "libsignal_v0.103_transcript.json")

type transcriptSession struct {
	Name           string `json:"name"`
	MessageVersion int64  `json:"message_version"`
	Bob            struct {
		Address struct {
			Name     string `json:"name"`
			DeviceID int    `json:"device_id"`
		} `json:"address"`
		RegistrationID   int64  `json:"registration_id"`
		IdentityPriv     string `json:"identity_priv"`
		IdentityPub      string `json:"identity_pub"`
		SignedPrekeyID   int    `json:"signed_prekey_id"`
		SignedPrekeyPriv string `json:"signed_prekey_priv"`
		PrekeyID         *int   `json:"prekey_id"`
		PrekeyPriv       string `json:"prekey_priv"`
		KyberPrekeyID    *int   `json:"kyber_prekey_id"`
		KyberPrekeyPriv  string `json:"kyber_prekey_priv"`
	} `json:"bob"`
	Alice struct {
		Address struct {
			Name     string `json:"name"`
			DeviceID int    `json:"device_id"`
		} `json:"address"`
		RegistrationID int64  `json:"registration_id"`
		IdentityPub    string `json:"identity_pub"`
	} `json:"alice"`
	Bundle   map[string]any `json:"bundle"`
	Messages []struct {
		Seq        int    `json:"seq"`
		From       string `json:"from"`
		Type       int64  `json:"type"`
		Ciphertext string `json:"ciphertext"`
		Plaintext  string `json:"plaintext"`
	} `json:"messages"`
}

var transcripts sync.Map // path → func() (map[string]*transcriptSession, error)

// loadTranscript reads the transcript file at path once.
func loadTranscript(path string) (map[string]*transcriptSession, error) {
	f, _ := transcripts.LoadOrStore(path, sync.OnceValues(func() (map[string]*transcriptSession, error) {
		return readTranscript(path)
	}))
	return f.(func() (map[string]*transcriptSession, error))()
}

func readTranscript(path string) (map[string]*transcriptSession, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Sessions []*transcriptSession `json:"sessions"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	out := map[string]*transcriptSession{}
	for _, s := range f.Sessions {
		out[s.Name] = s
	}
	return out, nil
}

// runTranscript: the peer, given Bob's recorded private keys, publishes
// exactly the recorded bundle and decrypts Alice's recorded PreKey messages
// (the first one first, the others in random order), then rejects a replay.
// Alice's later messages (seq 7-11) need Bob's recorded ratchet key, which
// PEER.md cannot inject, so they are not used.
//
// The same runs against the libsignal 0.103.0 recording (SPQR sessions, the
// peer initialized with "spqr": true): Alice's first run is all PreKey
// messages, which the peer must decrypt from Bob's keys alone; her later
// runs need Bob's recorded ratchet keys and SPQR randomness.
func runTranscript(r *run, path, session string, spqr bool) error {
	all, err := loadTranscript(path)
	if err != nil {
		return err
	}
	ts := all[session]
	if ts == nil {
		return fmt.Errorf("%s has no %s session", filepath.Base(path), session)
	}
	p, err := StartPeer(r.a)
	if err != nil {
		return err
	}
	r.t.Cleanup(func() {
		if err := p.Close(); err != nil {
			r.st.fail("%s: %v", r.a.Name, err)
		}
	})
	bob := ts.Bob
	initParams := map[string]any{
		"name": bob.Address.Name, "device_id": bob.Address.DeviceID,
		"identity_priv": bob.IdentityPriv, "registration_id": bob.RegistrationID,
	}
	if spqr {
		initParams["spqr"] = true
	}
	init, err := p.MustOK("init", initParams)
	if err != nil {
		return err
	}
	r.check(init.Str("identity_key") == bob.IdentityPub, "%s init: identity_key %s, recorded %s", r.a.Name, init.Str("identity_key"), bob.IdentityPub)
	params := map[string]any{
		"signed_prekey_id": bob.SignedPrekeyID, "signed_prekey_priv": bob.SignedPrekeyPriv,
		"signed_prekey_signature": ts.Bundle["signed_prekey_signature"],
		"prekey_id":               bob.PrekeyID, // nil: no one-time pre-key
		"kyber":                   bob.KyberPrekeyID != nil,
	}
	if bob.PrekeyID != nil {
		params["prekey_priv"] = bob.PrekeyPriv
	}
	if bob.KyberPrekeyID != nil {
		params["kyber_prekey_id"] = *bob.KyberPrekeyID
		params["kyber_priv"] = bob.KyberPrekeyPriv
		params["kyber_prekey_signature"] = ts.Bundle["kyber_prekey_signature"]
	}
	pk, err := p.MustOK("prekeys", params)
	if err != nil {
		return err
	}
	got, _ := pk["bundle"].(map[string]any)
	for k, want := range ts.Bundle {
		r.check(fmt.Sprint(got[k]) == fmt.Sprint(want), "%s prekeys: bundle.%s = %v, recorded %v", r.a.Name, k, got[k], want)
	}

	var first []int
	var rest []int
	for i, m := range ts.Messages {
		if m.From != "alice" || m.Type != 3 {
			continue
		}
		if m.Seq == 0 {
			first = append(first, i)
		} else {
			rest = append(rest, i)
		}
	}
	r.rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	order := append(first, rest...)
	order = append(order, first...) // a replay of the first message at the end
	for n, i := range order {
		m := ts.Messages[i]
		ct, _ := hex.DecodeString(m.Ciphertext)
		rep, err := p.Call("decrypt", map[string]any{"peer": ts.Alice.Address.Name, "peer_device": ts.Alice.Address.DeviceID, "ciphertext": m.Ciphertext})
		if err != nil {
			return err
		}
		r.st.Sent++
		var issue *KnownIssue
		for k := range r.a.KnownIssues {
			if r.a.KnownIssues[k].Applies(ct) {
				issue = &r.a.KnownIssues[k]
			}
		}
		switch {
		case issue != nil:
			if !rep.OK() && rep.Name() == issue.Want {
				r.st.Known++
				r.st.note("%s", issue.ID)
			} else {
				r.st.fail("%s decrypt seq %d: known issue %s did not reproduce: %v", r.a.Name, m.Seq, issue.ID, rep)
			}
		case n == len(order)-1:
			if !rep.OK() && rep.Name() == "duplicate_message" {
				r.st.Dups++
			} else {
				r.st.fail("%s replay of seq %d: %v, want duplicate_message", r.a.Name, m.Seq, rep)
			}
		case !rep.OK():
			r.st.fail("%s decrypt seq %d: %s (%s)", r.a.Name, m.Seq, rep.Err(), rep.Name())
		default:
			pt, _ := rep.Bytes("plaintext")
			want, _ := hex.DecodeString(m.Plaintext)
			if bytes.Equal(pt, want) && rep.Int("version") == ts.MessageVersion {
				r.st.OK++
			} else {
				r.st.fail("%s decrypt seq %d: plaintext %x version %d, recorded %x version %d", r.a.Name, m.Seq, pt, rep.Int("version"), want, ts.MessageVersion)
			}
		}
	}
	rep, err := p.MustOK("identity", map[string]any{"peer": ts.Alice.Address.Name})
	if err != nil {
		return err
	}
	r.check(rep.Str("identity_key") == ts.Alice.IdentityPub, "%s identity(alice) = %s, recorded %s", r.a.Name, rep.Str("identity_key"), ts.Alice.IdentityPub)
	return nil
}
