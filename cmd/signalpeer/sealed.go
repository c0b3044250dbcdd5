package main

// The sealed sender commands of PEER.md ("Sealed sender", feature
// sealed_sender): certificates, v1 and v2 envelopes, the server's split,
// and decryption in libsignal's order.

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"time"
	"unicode/utf8"

	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/sealed"
	"github.com/ratchetlab/signal/senderkey"
	"github.com/ratchetlab/signal/session"
)

// sealedCommands are the commands of this file, listed by info.
var sealedCommands = []string{
	"server_certificate", "sender_certificate", "sender_certificate_validate",
	"sealed_encrypt", "sealed_encrypt_multi", "sealed_multi_split", "sealed_decrypt", "sealed_unseal",
}

var sealedHandlers = map[string]handler{
	"server_certificate":          (*peer).serverCertificate,
	"sender_certificate":          (*peer).senderCertificate,
	"sender_certificate_validate": (*peer).senderCertificateValidate,
	"sealed_encrypt":              (*peer).sealedEncrypt,
	"sealed_encrypt_multi":        (*peer).sealedEncryptMulti,
	"sealed_multi_split":          (*peer).sealedMultiSplit,
	"sealed_decrypt":              (*peer).sealedDecrypt,
	"sealed_unseal":               (*peer).sealedUnseal,
}

func init() {
	commands = append(commands, sealedCommands...)
}

// sealedErrorName names the errors of sealed sender as PEER.md does, or
// returns "".
func sealedErrorName(err error) string {
	switch {
	case errors.Is(err, sealed.ErrSelfSend):
		return "self_send"
	case errors.Is(err, sealed.ErrInvalidCertificate):
		return "invalid_certificate"
	case errors.Is(err, session.ErrSealedGroupUnsupported):
		return "unsupported"
	case errors.Is(err, sealed.ErrInvalidMessage):
		return "invalid_message"
	}
	return ""
}

// uint64Param reads a non-negative integer (a time in milliseconds).
func uint64Param(req params, name string, def uint64) (uint64, error) {
	if !req.has(name) {
		return def, nil
	}
	var f float64
	if err := json.Unmarshal(req[name], &f); err != nil || f < 0 || f > 1<<53 || f != math.Trunc(f) {
		return 0, badf("%s: want a non-negative integer", name)
	}
	return uint64(f), nil
}

func pubParam(req params, name string) (keys.PublicKey, error) {
	b, err := req.requireBytes(name)
	if err != nil {
		return keys.PublicKey{}, err
	}
	k, err := keys.ParsePublicKey(b)
	if err != nil {
		return keys.PublicKey{}, badf("%s: %v", name, err)
	}
	return k, nil
}

func senderCertParam(req params) (*sealed.SenderCertificate, error) {
	b, err := req.requireBytes("sender_certificate")
	if err != nil {
		return nil, err
	}
	c, err := sealed.ParseSenderCertificate(b)
	if err != nil {
		return nil, errors.Join(sealed.ErrInvalidCertificate, err)
	}
	return c, nil
}

func (p *peer) serverCertificate(req params) (map[string]any, error) {
	root, err := privOrNew(req, "trust_root_priv")
	if err != nil {
		return nil, err
	}
	server, err := privOrNew(req, "server_priv")
	if err != nil {
		return nil, err
	}
	id, err := req.uint32("key_id", 1)
	if err != nil {
		return nil, err
	}
	c, err := sealed.NewServerCertificate(id, server.PublicKey(), root)
	if err != nil {
		return nil, err
	}
	h := hex.EncodeToString
	return map[string]any{
		"server_certificate": h(c.Bytes()), "key_id": id,
		"trust_root": h(root.PublicKey().Bytes()), "trust_root_priv": h(root.Bytes()),
		"server_key": h(server.PublicKey().Bytes()), "server_priv": h(server.Bytes()),
	}, nil
}

func certFields(c *sealed.SenderCertificate) map[string]any {
	var e164 any
	if s, ok := c.SenderE164(); ok {
		e164 = s
	}
	m := map[string]any{
		"sender_uuid": c.SenderUUID(), "sender_e164": e164, "sender_device": c.SenderDevice(),
		"sender_key": hex.EncodeToString(c.Key().Bytes()), "expiration": c.Expiration(),
		"server_key_id": nil, "server_key": nil,
	}
	if s, err := c.Signer(); err == nil {
		m["server_key_id"] = s.KeyID()
		m["server_key"] = hex.EncodeToString(s.Key().Bytes())
	}
	return m
}

func (p *peer) senderCertificate(req params) (map[string]any, error) {
	sb, err := req.requireBytes("server_certificate")
	if err != nil {
		return nil, err
	}
	server, err := sealed.ParseServerCertificate(sb)
	if err != nil {
		return nil, badf("server_certificate: %v", err)
	}
	spb, err := req.requireBytes("server_priv")
	if err != nil {
		return nil, err
	}
	serverKey, err := keys.ParsePrivateKey(spb)
	if err != nil {
		return nil, err
	}
	if !req.has("expiration") {
		return nil, badf("missing expiration")
	}
	exp, err := uint64Param(req, "expiration", 0)
	if err != nil {
		return nil, err
	}
	info := sealed.SenderInfo{Expires: exp}
	if info.UUID, err = req.str("sender_uuid", p.name); err != nil {
		return nil, err
	}
	if info.Device, err = req.uint32("sender_device", p.deviceID); err != nil {
		return nil, err
	}
	if info.E164, err = req.str("sender_e164", ""); err != nil {
		return nil, err
	}
	if req.has("sender_key") {
		if info.Key, err = pubParam(req, "sender_key"); err != nil {
			return nil, err
		}
	} else if p.identity != nil {
		info.Key = p.identity.PublicKey()
	} else {
		return nil, badf("missing sender_key (or init)")
	}
	if info.UUID == "" {
		return nil, badf("missing sender_uuid (or init)")
	}
	c, err := sealed.NewSenderCertificate(info, server, serverKey)
	if err != nil {
		if errors.Is(err, sealed.ErrInvalidArgument) {
			return nil, badf("%v", err)
		}
		return nil, err
	}
	res := certFields(c)
	res["sender_certificate"] = hex.EncodeToString(c.Bytes())
	return res, nil
}

func (p *peer) senderCertificateValidate(req params) (map[string]any, error) {
	c, err := senderCertParam(req)
	if err != nil {
		return nil, err
	}
	root, err := pubParam(req, "trust_root")
	if err != nil {
		return nil, err
	}
	if !req.has("timestamp") {
		return nil, badf("missing timestamp")
	}
	ts, err := uint64Param(req, "timestamp", 0)
	if err != nil {
		return nil, err
	}
	res := certFields(c)
	res["valid"] = c.Validate([]keys.PublicKey{root}, time.UnixMilli(int64(ts))) == nil
	return res, nil
}

// sealedInner reads the optional content_hint and group_id parameters.
func sealedInner(req params) (sealed.ContentHint, []byte, error) {
	hint, err := req.uint32("content_hint", 0)
	if err != nil {
		return 0, nil, err
	}
	gid, _, err := req.bytes("group_id")
	if err != nil {
		return 0, nil, err
	}
	return sealed.ContentHint(hint), gid, nil
}

// innerMessage encrypts the inner message: a group_encrypt when
// distribution_id is given, else a 1:1 encrypt to one.
func (p *peer) innerMessage(req params, cert *sealed.SenderCertificate, to *session.Address, pt []byte) (*sealed.Content, error) {
	hint, gid, err := sealedInner(req)
	if err != nil {
		return nil, err
	}
	if req.has("distribution_id") {
		raw, err := req.str("distribution_id", "")
		if err != nil {
			return nil, err
		}
		id, err := senderkey.ParseDistributionID(raw)
		if err != nil {
			return nil, badf("distribution_id: not a UUID")
		}
		g, err := p.mgr.Groups()
		if err != nil {
			return nil, err
		}
		ct, err := g.Encrypt(p.ctx, id, pt)
		if err != nil {
			return nil, err
		}
		return sealed.NewContent(sealed.SenderKeyType, cert, ct, hint, gid)
	}
	if to == nil {
		return nil, badf("distribution_id is needed for more than one recipient device")
	}
	ct, err := p.mgr.Encrypt(p.ctx, *to, pt)
	if err != nil {
		return nil, err
	}
	typ := sealed.WhisperType
	if ct.Type == session.PreKeyType {
		typ = sealed.PreKeyType
	}
	return sealed.NewContent(typ, cert, ct.Bytes, hint, gid)
}

func (p *peer) sealedEncrypt(req params) (map[string]any, error) {
	to, err := p.peerOf(req)
	if err != nil {
		return nil, err
	}
	cert, err := senderCertParam(req)
	if err != nil {
		return nil, badf("sender_certificate: %v", err)
	}
	pt, err := req.requireBytes("plaintext")
	if err != nil {
		return nil, err
	}
	c, err := p.innerMessage(req, cert, &to, pt)
	if err != nil {
		return nil, err
	}
	env, err := p.mgr.SealContent(p.ctx, to, c)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"sealed": hex.EncodeToString(env), "version": 1,
		"inner_type": int(c.Type()), "inner": hex.EncodeToString(c.Contents()),
	}, nil
}

func (p *peer) sealedEncryptMulti(req params) (map[string]any, error) {
	if err := p.needInit(); err != nil {
		return nil, err
	}
	var raws []json.RawMessage
	if !req.has("recipients") || json.Unmarshal(req["recipients"], &raws) != nil || len(raws) == 0 {
		return nil, badf("recipients: want a non-empty list of addresses")
	}
	to := make([]session.Address, len(raws))
	for i, r := range raws {
		a, err := params{"peer": r}.address()
		if err != nil {
			return nil, badf("recipients[%d]: %v", i, err)
		}
		to[i] = a
	}
	var excluded []string
	if req.has("excluded") && json.Unmarshal(req["excluded"], &excluded) != nil {
		return nil, badf("excluded: want a list of service ids")
	}
	cert, err := senderCertParam(req)
	if err != nil {
		return nil, badf("sender_certificate: %v", err)
	}
	pt, err := req.requireBytes("plaintext")
	if err != nil {
		return nil, err
	}
	var one *session.Address
	if len(to) == 1 {
		one = &to[0]
	}
	c, err := p.innerMessage(req, cert, one, pt)
	if err != nil {
		return nil, err
	}
	sent, err := p.mgr.SealContentMulti(p.ctx, to, c, excluded)
	if err != nil {
		if errors.Is(err, sealed.ErrInvalidArgument) {
			return nil, badf("%v", err)
		}
		return nil, err
	}
	res, err := splitReply(sent)
	if err != nil {
		return nil, err
	}
	res["sent"] = hex.EncodeToString(sent)
	res["inner_type"] = int(c.Type())
	res["inner"] = hex.EncodeToString(c.Contents())
	return res, nil
}

// splitReply is the server's split of a sent message, as
// sealed_multi_split answers it.
func splitReply(sent []byte) (map[string]any, error) {
	s, err := sealed.ParseSentMessage(sent)
	if err != nil {
		return nil, errors.Join(sealed.ErrInvalidMessage, err)
	}
	received := []map[string]any{}
	excluded := []string{}
	for i := range s.Recipients {
		r := &s.Recipients[i]
		if r.Excluded() {
			excluded = append(excluded, r.ServiceID)
			continue
		}
		devs, regs := make([]uint32, len(r.Devices)), make([]uint32, len(r.Devices))
		for j, d := range r.Devices {
			devs[j], regs[j] = d.ID, uint32(d.RegistrationID)
		}
		received = append(received, map[string]any{
			"name": r.ServiceID, "device_ids": devs, "registration_ids": regs,
			"message": hex.EncodeToString(s.ReceivedMessage(r)),
		})
	}
	return map[string]any{"received": received, "excluded": excluded}, nil
}

func (p *peer) sealedMultiSplit(req params) (map[string]any, error) {
	sent, err := req.requireBytes("sent")
	if err != nil {
		return nil, err
	}
	return splitReply(sent)
}

func textOrNil(b []byte) any {
	if utf8.Valid(b) {
		return string(b)
	}
	return nil
}

func groupIDOrNil(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return hex.EncodeToString(b)
}

func (p *peer) sealedDecrypt(req params) (map[string]any, error) {
	if err := p.needInit(); err != nil {
		return nil, err
	}
	msg, err := req.requireBytes("sealed")
	if err != nil {
		return nil, err
	}
	root, err := pubParam(req, "trust_root")
	if err != nil {
		return nil, err
	}
	opts := session.SealedDecryptOptions{TrustRoots: []keys.PublicKey{root}, Time: time.Now()}
	if req.has("timestamp") {
		ts, err := uint64Param(req, "timestamp", 0)
		if err != nil {
			return nil, err
		}
		opts.Time = time.UnixMilli(int64(ts))
	}
	if opts.Local.Name, err = req.str("local_uuid", p.name); err != nil {
		return nil, err
	}
	if opts.Local.DeviceID, err = req.uint32("local_device", p.deviceID); err != nil {
		return nil, err
	}
	m, err := p.mgr.SealedDecrypt(p.ctx, msg, opts)
	if err != nil {
		return nil, err
	}
	res := certFields(m.Certificate)
	res["plaintext"] = hex.EncodeToString(m.Plaintext)
	res["text"] = textOrNil(m.Plaintext)
	res["message_type"] = int(m.Type)
	res["content_hint"] = uint32(m.ContentHint)
	res["group_id"] = groupIDOrNil(m.GroupID)
	res["inner"] = hex.EncodeToString(m.Inner)
	res["version"] = m.Version
	if m.Type == sealed.SenderKeyType {
		res["distribution_id"] = m.DistributionID.String()
	}
	return res, nil
}

func (p *peer) sealedUnseal(req params) (map[string]any, error) {
	if err := p.needInit(); err != nil {
		return nil, err
	}
	msg, err := req.requireBytes("sealed")
	if err != nil {
		return nil, err
	}
	c, err := sealed.Open(p.identity, msg)
	if err != nil {
		return nil, err
	}
	res := certFields(c.Sender())
	res["usmc"] = hex.EncodeToString(c.Bytes())
	res["sender_certificate"] = hex.EncodeToString(c.Sender().Bytes())
	res["message_type"] = int(c.Type())
	res["content_hint"] = uint32(c.ContentHint())
	res["group_id"] = groupIDOrNil(c.GroupID())
	res["inner"] = hex.EncodeToString(c.Contents())
	res["version"] = sealed.Version(msg)
	return res, nil
}
