package main

// The sender key commands of PEER.md ("Sender keys", feature sender_keys),
// with an optional "format": "whatsapp" parameter on every command for
// WhatsApp's legacy encoding (then "distribution_id" names the group in
// every command, as the group id, since the messages carry none).

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"unicode/utf8"

	"github.com/ratchetlab/signal/senderkey"
	"github.com/ratchetlab/signal/session"
)

// senderKeyCommands are the commands of this file, listed by info.
var senderKeyCommands = []string{
	"sender_key_create", "sender_key_process", "group_encrypt", "group_decrypt",
	"sender_key_export", "sender_key_import",
}

func init() {
	commands = append(commands, senderKeyCommands...)
}

// senderKeyErrorName names the errors of package senderkey as PEER.md does,
// or returns "".
func senderKeyErrorName(err error) string {
	switch {
	case errors.Is(err, senderkey.ErrNoSenderKeyState):
		return "no_sender_key"
	case errors.Is(err, senderkey.ErrDuplicateMessage):
		return "duplicate_message"
	case errors.Is(err, senderkey.ErrInvalidRecord):
		return "invalid_record"
	}
	return ""
}

// groupReq is a sender key request's group: its distribution id (or, in the
// WhatsApp format, its group id) and format.
type groupReq struct {
	c      *session.GroupCipher
	format senderkey.Format
	raw    string                   // the distribution_id parameter as given
	id     senderkey.DistributionID // the id records are stored under
	has    bool                     // distribution_id was given
}

func (p *peer) groupOf(req params, needID bool) (*groupReq, error) {
	if err := p.needInit(); err != nil {
		return nil, err
	}
	c, err := p.mgr.Groups()
	if err != nil {
		return nil, err
	}
	g := &groupReq{c: c}
	f, err := req.str("format", "libsignal")
	if err != nil {
		return nil, err
	}
	switch f {
	case "libsignal":
		g.format = senderkey.Libsignal
	case "whatsapp", "legacy":
		g.format = senderkey.WhatsApp
		needID = true
	default:
		return nil, badf("format: want \"libsignal\" or \"whatsapp\"")
	}
	g.raw, err = req.str("distribution_id", "")
	if err != nil {
		return nil, err
	}
	g.has = g.raw != ""
	switch {
	case !g.has && needID:
		return nil, badf("missing distribution_id")
	case !g.has:
	case g.format == senderkey.WhatsApp:
		g.id = senderkey.LegacyGroupID(g.raw)
	default:
		if g.id, err = senderkey.ParseDistributionID(g.raw); err != nil {
			return nil, badf("distribution_id: not a UUID")
		}
	}
	return g, nil
}

// senderOf reads "sender" (a name with "sender_device", or an object), or
// this party's own address when optional and absent.
func (p *peer) senderOf(req params, optional bool) (session.Address, error) {
	if !req.has("sender") {
		if optional {
			return session.Address{Name: p.name, DeviceID: p.deviceID}, nil
		}
		return session.Address{}, badf("missing sender")
	}
	var name string
	if json.Unmarshal(req["sender"], &name) == nil {
		dev, err := req.uint32("sender_device", 0)
		if err != nil {
			return session.Address{}, err
		}
		if dev == 0 {
			if dev, err = req.uint32("peer_device", 1); err != nil {
				return session.Address{}, err
			}
		}
		return session.Address{Name: name, DeviceID: dev}, nil
	}
	return params{"sender": req["sender"]}.address()
}

func (g *groupReq) idString() string {
	if g.format == senderkey.WhatsApp {
		return g.raw
	}
	return g.id.String()
}

func (p *peer) senderKeyCreate(req params) (map[string]any, error) {
	g, err := p.groupOf(req, true)
	if err != nil {
		return nil, err
	}
	fresh, err := req.boolean("fresh", false)
	if err != nil {
		return nil, err
	}
	var d *senderkey.DistributionMessage
	switch {
	case g.format == senderkey.WhatsApp && fresh:
		d, err = g.c.Legacy(g.raw).ResetSenderKey(p.ctx)
	case g.format == senderkey.WhatsApp:
		d, err = g.c.Legacy(g.raw).CreateDistributionMessage(p.ctx)
	case fresh:
		d, err = g.c.ResetSenderKey(p.ctx, g.id)
	default:
		d, err = g.c.CreateDistributionMessage(p.ctx, g.id)
	}
	if err != nil {
		return nil, err
	}
	b, err := d.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"skdm": hex.EncodeToString(b), "distribution_id": g.idString(),
		"chain_id": d.ChainID, "iteration": d.Iteration,
	}, nil
}

func (p *peer) senderKeyProcess(req params) (map[string]any, error) {
	g, err := p.groupOf(req, false)
	if err != nil {
		return nil, err
	}
	sender, err := p.senderOf(req, false)
	if err != nil {
		return nil, err
	}
	skdm, err := req.requireBytes("skdm")
	if err != nil {
		return nil, err
	}
	var d *senderkey.DistributionMessage
	if g.format == senderkey.WhatsApp {
		d, err = g.c.Legacy(g.raw).ProcessDistributionMessage(p.ctx, sender, skdm)
	} else {
		d, err = g.c.ProcessDistributionMessage(p.ctx, sender, skdm)
	}
	if err != nil {
		return nil, err
	}
	id := d.DistributionID.String()
	if g.format == senderkey.WhatsApp {
		id = g.raw
	}
	return map[string]any{"distribution_id": id, "chain_id": d.ChainID, "iteration": d.Iteration}, nil
}

func (p *peer) groupEncrypt(req params) (map[string]any, error) {
	g, err := p.groupOf(req, true)
	if err != nil {
		return nil, err
	}
	pt, err := req.requireBytes("plaintext")
	if err != nil {
		return nil, err
	}
	var ct []byte
	if g.format == senderkey.WhatsApp {
		ct, err = g.c.Legacy(g.raw).Encrypt(p.ctx, pt)
	} else {
		ct, err = g.c.Encrypt(p.ctx, g.id, pt)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"type": 7, "ciphertext": hex.EncodeToString(ct), "version": int(ct[0] >> 4)}, nil
}

func (p *peer) groupDecrypt(req params) (map[string]any, error) {
	g, err := p.groupOf(req, false)
	if err != nil {
		return nil, err
	}
	sender, err := p.senderOf(req, false)
	if err != nil {
		return nil, err
	}
	ct, err := req.requireBytes("ciphertext")
	if err != nil {
		return nil, err
	}
	var pt []byte
	id := g.raw
	if g.format == senderkey.WhatsApp {
		pt, err = g.c.Legacy(g.raw).Decrypt(p.ctx, sender, ct)
	} else {
		var did senderkey.DistributionID
		pt, did, err = g.c.Decrypt(p.ctx, sender, ct)
		id = did.String()
	}
	if err != nil {
		return nil, err
	}
	var text any
	if utf8.Valid(pt) {
		text = string(pt)
	}
	return map[string]any{"plaintext": hex.EncodeToString(pt), "text": text, "distribution_id": id}, nil
}

func (p *peer) senderKeyExport(req params) (map[string]any, error) {
	g, err := p.groupOf(req, true)
	if err != nil {
		return nil, err
	}
	sender, err := p.senderOf(req, true)
	if err != nil {
		return nil, err
	}
	rec, err := p.store.LoadSenderKey(p.ctx, sender, g.id)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return map[string]any{"record": nil}, nil
	}
	b, err := rec.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return map[string]any{"record": hex.EncodeToString(b)}, nil
}

func (p *peer) senderKeyImport(req params) (map[string]any, error) {
	g, err := p.groupOf(req, true)
	if err != nil {
		return nil, err
	}
	sender, err := p.senderOf(req, true)
	if err != nil {
		return nil, err
	}
	b, err := req.requireBytes("record")
	if err != nil {
		return nil, err
	}
	rec, err := senderkey.ParseRecord(b)
	if err != nil {
		return nil, err
	}
	return nil, p.store.StoreSenderKey(p.ctx, sender, g.id, rec)
}
