package main

// Sender key commands (PEER.md "Sender keys") on go.mau.fi/libsignal's
// groups package, which speaks only WhatsApp's legacy format: SKM {1 id,
// 2 iteration, 3 ciphertext}, SKDM {1 id, 2 iteration, 3 chainKey,
// 4 signingKey}, no distribution id. Every request must say
// "format": "whatsapp" (anything else is `unsupported`), and
// "distribution_id" names the group (go.mau.fi/libsignal's group id) in
// every command. Records are go.mau.fi/libsignal's own JSON, so
// sender_key_export/import are not offered. The feature is
// sender_keys_whatsapp.

import (
	"context"
	"encoding/hex"
	"errors"
	"unicode/utf8"

	"go.mau.fi/libsignal/groups"
	"go.mau.fi/libsignal/groups/state/record"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/signalerror"
)

var senderKeyCommands = []string{"sender_key_create", "sender_key_process", "group_encrypt", "group_decrypt"}

func init() { commands = append(commands, senderKeyCommands...) }

func (p *peer) senderKeyHandlers() map[string]func(request) (result, error) {
	return map[string]func(request) (result, error){
		"sender_key_create": p.senderKeyCreate, "sender_key_process": p.senderKeyProcess,
		"group_encrypt": p.groupEncrypt, "group_decrypt": p.groupDecrypt,
	}
}

// classifySenderKey names go.mau.fi/libsignal's sender key errors.
func classifySenderKey(err error) (string, bool) {
	switch {
	case errors.Is(err, signalerror.ErrNoSenderKeyStateForID), errors.Is(err, signalerror.ErrNoSenderKeyForUser),
		errors.Is(err, signalerror.ErrNoSenderKeyStatesInRecord):
		return "no_sender_key", true
	}
	return "", false
}

// StoreSenderKey implements go.mau.fi/libsignal's store.SenderKey; records
// are kept serialized, since the library changes a loaded record before it
// knows whether a message decrypts.
func (s *stores) StoreSenderKey(_ context.Context, n *protocol.SenderKeyName, r *record.SenderKey) error {
	if s.senderKeys == nil {
		s.senderKeys = make(map[senderKeyKey][]byte)
	}
	s.senderKeys[skKey(n)] = r.Serialize()
	return nil
}

// LoadSenderKey implements store.SenderKey: an empty record when there is
// none, as the library expects.
func (s *stores) LoadSenderKey(_ context.Context, n *protocol.SenderKeyName) (*record.SenderKey, error) {
	b, ok := s.senderKeys[skKey(n)]
	if !ok {
		return record.NewSenderKey(s.ser.SenderKeyRecord, s.ser.SenderKeyState), nil
	}
	return record.NewSenderKeyFromBytes(b, s.ser.SenderKeyRecord, s.ser.SenderKeyState)
}

type senderKeyKey struct {
	group string
	addr  addrKey
}

func skKey(n *protocol.SenderKeyName) senderKeyKey {
	return senderKeyKey{n.GroupID(), key(n.Sender())}
}

// senderKeyName reads the group ("distribution_id") and checks the format.
func (p *peer) group(r request) (string, error) {
	if err := p.requireInit(); err != nil {
		return "", err
	}
	f, err := r.str("format", "libsignal")
	if err != nil {
		return "", err
	}
	if f != "whatsapp" {
		return "", errf("unsupported", "go.mau.fi/libsignal has only the whatsapp sender key format, not %q", f)
	}
	g, err := r.str("distribution_id", "")
	if err != nil {
		return "", err
	}
	if g == "" {
		return "", badRequest("missing distribution_id")
	}
	return g, nil
}

func (p *peer) senderOf(r request) (*protocol.SignalAddress, error) {
	if r.has("sender") && r.has("sender_device") && !r.has("peer_device") {
		r["peer_device"] = r["sender_device"]
	}
	return r.peer()
}

func (p *peer) senderKeyCreate(r request) (result, error) {
	g, err := p.group(r)
	if err != nil {
		return nil, err
	}
	fresh, err := r.boolean("fresh", false)
	if err != nil {
		return nil, err
	}
	name := protocol.NewSenderKeyName(g, protocol.NewSignalAddress(p.name, p.deviceID))
	if fresh {
		delete(p.st.senderKeys, skKey(name))
	}
	d, err := groups.NewGroupSessionBuilder(p.st, p.st.ser).Create(context.Background(), name)
	if err != nil {
		return nil, err
	}
	return result{
		"skdm": hex.EncodeToString(d.Serialize()), "distribution_id": g,
		"chain_id": d.ID(), "iteration": d.Iteration(),
	}, nil
}

func (p *peer) senderKeyProcess(r request) (result, error) {
	g, err := p.group(r)
	if err != nil {
		return nil, err
	}
	a, err := p.senderOf(r)
	if err != nil {
		return nil, err
	}
	b, err := r.mustBytes("skdm", false)
	if err != nil {
		return nil, err
	}
	d, err := protocol.NewSenderKeyDistributionMessageFromBytes(b, p.st.ser.SenderKeyDistributionMessage)
	if err != nil {
		return nil, err
	}
	if err := groups.NewGroupSessionBuilder(p.st, p.st.ser).Process(context.Background(), protocol.NewSenderKeyName(g, a), d); err != nil {
		return nil, err
	}
	return result{"distribution_id": g, "chain_id": d.ID(), "iteration": d.Iteration()}, nil
}

func (p *peer) groupEncrypt(r request) (result, error) {
	g, err := p.group(r)
	if err != nil {
		return nil, err
	}
	pt, err := r.mustBytes("plaintext", true)
	if err != nil {
		return nil, err
	}
	name := protocol.NewSenderKeyName(g, protocol.NewSignalAddress(p.name, p.deviceID))
	c := groups.NewGroupCipher(groups.NewGroupSessionBuilder(p.st, p.st.ser), name, p.st)
	m, err := c.Encrypt(context.Background(), pt)
	if err != nil {
		return nil, err
	}
	skm, ok := m.(*protocol.SenderKeyMessage)
	if !ok {
		return nil, errf("internal", "unexpected message type %T", m)
	}
	ct := skm.SignedSerialize()
	return result{"type": 7, "ciphertext": hex.EncodeToString(ct), "version": int(ct[0] >> 4)}, nil
}

func (p *peer) groupDecrypt(r request) (result, error) {
	g, err := p.group(r)
	if err != nil {
		return nil, err
	}
	a, err := p.senderOf(r)
	if err != nil {
		return nil, err
	}
	ct, err := r.mustBytes("ciphertext", false)
	if err != nil {
		return nil, err
	}
	if len(ct) < 1+64 {
		return nil, errf("invalid_message", "sender key message too short")
	}
	m, err := protocol.NewSenderKeyMessageFromBytes(ct, p.st.ser.SenderKeyMessage)
	if err != nil {
		return nil, err
	}
	c := groups.NewGroupCipher(groups.NewGroupSessionBuilder(p.st, p.st.ser), protocol.NewSenderKeyName(g, a), p.st)
	pt, err := c.Decrypt(context.Background(), m)
	if err != nil {
		return nil, err
	}
	var text any
	if utf8.Valid(pt) {
		text = string(pt)
	}
	return result{"plaintext": hex.EncodeToString(pt), "text": text, "distribution_id": g}, nil
}
