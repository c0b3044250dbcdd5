package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"
	"unicode/utf8"

	"github.com/ratchetlab/signal/fingerprint"
	"github.com/ratchetlab/signal/kem"
	"github.com/ratchetlab/signal/keys"
	"github.com/ratchetlab/signal/prekey"
	"github.com/ratchetlab/signal/session"
)

const (
	implementation = "ratchetlab-signal"
	version        = "0.1.0"
)

var commands = []string{
	"info", "init", "prekeys", "process_bundle", "encrypt", "decrypt",
	"session_export", "session_import", "session_info", "session_delete",
	"identity", "fingerprint", "fingerprint_compare", "quit",
}

type peer struct {
	ctx      context.Context
	name     string
	deviceID uint32
	regID    uint32
	identity *keys.PrivateKey
	store    *session.MemoryStore
	mgr      *session.Manager
}

func newPeer() *peer { return &peer{ctx: context.Background()} }

type handler func(p *peer, req params) (map[string]any, error)

var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		"info":                (*peer).info,
		"init":                (*peer).init,
		"prekeys":             (*peer).prekeys,
		"process_bundle":      (*peer).processBundle,
		"encrypt":             (*peer).encrypt,
		"decrypt":             (*peer).decrypt,
		"session_export":      (*peer).sessionExport,
		"session_import":      (*peer).sessionImport,
		"session_info":        (*peer).sessionInfo,
		"session_delete":      (*peer).sessionDelete,
		"identity":            (*peer).identityOf,
		"fingerprint":         (*peer).fingerprint,
		"fingerprint_compare": (*peer).fingerprintCompare,
		"sender_key_create":   (*peer).senderKeyCreate, "sender_key_process": (*peer).senderKeyProcess,
		"group_encrypt": (*peer).groupEncrypt, "group_decrypt": (*peer).groupDecrypt,
		"sender_key_export": (*peer).senderKeyExport, "sender_key_import": (*peer).senderKeyImport,
	}
	maps.Copy(handlers, sealedHandlers)
}

// handleLine answers one request line; quit is true for "quit".
func (p *peer) handleLine(line []byte) (reply map[string]any, quit bool) {
	var req params
	if err := json.Unmarshal(line, &req); err != nil || req == nil {
		return errorReply(nil, badf("request is not a JSON object")), false
	}
	var id any
	if raw, ok := req["id"]; ok {
		_ = json.Unmarshal(raw, &id)
	}
	cmd, err := req.str("cmd", "")
	if err != nil {
		return errorReply(id, err), false
	}
	if cmd == "quit" {
		return map[string]any{"id": id, "ok": true}, true
	}
	h, ok := handlers[cmd]
	if !ok {
		return errorReply(id, badf("unknown command %q", cmd)), false
	}
	res, err := p.call(h, req)
	if err != nil {
		return errorReply(id, err), false
	}
	if res == nil {
		res = map[string]any{}
	}
	res["id"] = id
	res["ok"] = true
	return res, false
}

// call runs a handler; a panic (a bug) becomes an error reply rather than
// a crash, so a runner sees it.
func (p *peer) call(h handler, req params) (res map[string]any, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("internal error: %v", r)
		}
	}()
	return h(p, req)
}

func errorReply(id any, err error) map[string]any {
	return map[string]any{"id": id, "ok": false, "error": err.Error(), "name": errorName(err)}
}

func errorName(err error) string {
	switch {
	case isBadRequest(err):
		return "bad_request"
	case senderKeyErrorName(err) != "":
		return senderKeyErrorName(err)
	case sealedErrorName(err) != "":
		return sealedErrorName(err)
	case errors.Is(err, session.ErrUntrustedIdentity):
		return "untrusted_identity"
	case errors.Is(err, session.ErrDuplicateMessage):
		return "duplicate_message"
	case errors.Is(err, session.ErrNoSession):
		return "no_session"
	case errors.Is(err, keys.ErrBadKeyType), errors.Is(err, keys.ErrKeyLength), errors.Is(err, keys.ErrNoKeyType),
		errors.Is(err, kem.ErrUnknownKeyType), errors.Is(err, kem.ErrKeyLength),
		errors.Is(err, kem.ErrInvalidPublicKey), errors.Is(err, kem.ErrInvalidSecretKey),
		errors.Is(err, keys.ErrInvalidKeyAgreement),
		errors.Is(err, prekey.ErrInvalidSignedPreKeySignature), errors.Is(err, prekey.ErrInvalidKyberPreKeySignature),
		errors.Is(err, prekey.ErrMissingKyberSignature), errors.Is(err, prekey.ErrMissingKyberPreKey),
		errors.Is(err, prekey.ErrSignatureLength), errors.Is(err, prekey.ErrTrailingData):
		return "invalid_key"
	case errors.Is(err, session.ErrInvalidRecord), errors.Is(err, session.ErrInvalidState):
		return "invalid_record"
	case errors.Is(err, fingerprint.ErrVersionMismatch):
		return "version_mismatch"
	case errors.Is(err, fingerprint.ErrMalformed):
		return "invalid_fingerprint"
	default:
		return "invalid_message"
	}
}

// peerOf checks that init has run and reads the request's peer address.
func (p *peer) peerOf(req params) (session.Address, error) {
	if err := p.needInit(); err != nil {
		return session.Address{}, err
	}
	return req.address()
}

func (p *peer) needInit() error {
	if p.mgr == nil {
		return badf("not initialized: send init first")
	}
	return nil
}

func (p *peer) info(params) (map[string]any, error) {
	return map[string]any{
		"implementation": implementation,
		"version":        version,
		"commands":       commands,
		"features":       []string{"pqxdh", "x3dh", "spqr", "libsignal_records", "sender_keys", "sender_keys_whatsapp", "sealed_sender"},
	}, nil
}

func (p *peer) init(req params) (map[string]any, error) {
	name, err := req.str("name", "local")
	if err != nil {
		return nil, err
	}
	dev, err := req.uint32("device_id", 1)
	if err != nil {
		return nil, err
	}
	var id *keys.PrivateKey
	if b, ok, err := req.bytes("identity_priv"); err != nil {
		return nil, err
	} else if ok {
		if id, err = keys.ParsePrivateKey(b); err != nil {
			return nil, err
		}
	} else if id, err = keys.GeneratePrivateKey(); err != nil {
		return nil, err
	}
	regID, err := req.uint32("registration_id", 0)
	if err != nil {
		return nil, err
	}
	if regID == 0 {
		var b [4]byte
		_, _ = rand.Read(b[:])
		regID = 1 + binary.BigEndian.Uint32(b[:])%16380
	}
	trustName, err := req.str("trust", "all")
	if err != nil {
		return nil, err
	}
	var trust session.TrustPolicy
	switch trustName {
	case "all":
		trust = session.TrustAll
	case "tofu":
		trust = session.TrustOnFirstUse
	default:
		return nil, badf("trust: want \"all\" or \"tofu\"")
	}
	withSPQR, err := req.boolean("spqr", false)
	if err != nil {
		return nil, err
	}
	store := session.NewMemoryStore(id, regID, trust)
	// Version 3 messages start with 0x33, as WhatsApp-style stacks write
	// them, so that go.mau.fi/libsignal can verify them too.
	// With "spqr": true the sessions this party starts run SPQR and it
	// requires SPQR of PQXDH sessions others start, as libsignal ≥ 0.92;
	// without, it starts classical sessions (for libsignal 0.72) and
	// follows the initiator as responder.
	mgr, err := session.New(store.Stores(), session.WithX3DH(true), session.WithLegacyVersion3Byte(true),
		session.WithSPQR(withSPQR), session.WithLocalAddress(session.Address{Name: name, DeviceID: dev}))
	if err != nil {
		return nil, err
	}
	p.name, p.deviceID, p.regID, p.identity, p.store, p.mgr = name, dev, regID, id, store, mgr
	return map[string]any{
		"name": name, "device_id": dev, "registration_id": regID,
		"identity_key":  hex.EncodeToString(id.PublicKey().Bytes()),
		"identity_priv": hex.EncodeToString(id.Bytes()),
	}, nil
}

func (p *peer) prekeys(req params) (map[string]any, error) {
	if err := p.needInit(); err != nil {
		return nil, err
	}
	now := time.Now()
	spkID, err := req.uint32("signed_prekey_id", 1)
	if err != nil {
		return nil, err
	}
	spkPriv, err := privOrNew(req, "signed_prekey_priv")
	if err != nil {
		return nil, err
	}
	sig, ok, err := req.bytes("signed_prekey_signature")
	if err != nil {
		return nil, err
	}
	if !ok {
		if sig, err = p.identity.Sign(spkPriv.PublicKey().Bytes()); err != nil {
			return nil, err
		}
	}
	spk := prekey.NewSignedPreKeyRecord(spkID, spkPriv, sig, now)

	var opk *prekey.PreKeyRecord
	if !req.isNull("prekey_id") {
		opkID, err := req.uint32("prekey_id", 1)
		if err != nil {
			return nil, err
		}
		opkPriv, err := privOrNew(req, "prekey_priv")
		if err != nil {
			return nil, err
		}
		opk = prekey.NewPreKeyRecord(opkID, opkPriv)
	}

	withKyber, err := req.boolean("kyber", true)
	if err != nil {
		return nil, err
	}
	var kpk *prekey.KyberPreKeyRecord
	if withKyber {
		kID, err := req.uint32("kyber_prekey_id", 1)
		if err != nil {
			return nil, err
		}
		var sk *kem.SecretKey
		if b, ok, err := req.bytes("kyber_priv"); err != nil {
			return nil, err
		} else if ok {
			if sk, err = kem.ParseSecretKey(b); err != nil {
				return nil, err
			}
		} else if sk, err = kem.GenerateKey(kem.Kyber1024); err != nil {
			return nil, err
		}
		ksig, ok, err := req.bytes("kyber_prekey_signature")
		if err != nil {
			return nil, err
		}
		if !ok {
			if ksig, err = p.identity.Sign(sk.PublicKey().Bytes()); err != nil {
				return nil, err
			}
		}
		kpk = prekey.NewKyberPreKeyRecord(kID, sk, ksig, now)
	}

	b, err := prekey.NewBundle(p.regID, p.deviceID, p.identity.PublicKey(), spk, opk, kpk)
	if err != nil {
		return nil, err
	}
	if err := p.store.StoreSignedPreKey(p.ctx, spk); err != nil {
		return nil, err
	}
	if opk != nil {
		if err := p.store.StorePreKey(p.ctx, opk); err != nil {
			return nil, err
		}
	}
	if kpk != nil {
		if err := p.store.StoreKyberPreKey(p.ctx, kpk); err != nil {
			return nil, err
		}
	}
	priv := map[string]any{
		"identity_priv":      hex.EncodeToString(p.identity.Bytes()),
		"signed_prekey_priv": hex.EncodeToString(spkPriv.Bytes()),
		"prekey_priv":        nil,
		"kyber_priv":         nil,
	}
	if opk != nil {
		k, _ := opk.PrivateKey()
		priv["prekey_priv"] = hex.EncodeToString(k.Bytes())
	}
	if kpk != nil {
		k, _ := kpk.SecretKey()
		priv["kyber_priv"] = hex.EncodeToString(k.Bytes())
	}
	return map[string]any{"bundle": bundleJSON(b), "private": priv}, nil
}

func privOrNew(req params, name string) (*keys.PrivateKey, error) {
	b, ok, err := req.bytes(name)
	if err != nil {
		return nil, err
	}
	if ok {
		return keys.ParsePrivateKey(b)
	}
	return keys.GeneratePrivateKey()
}

func bundleJSON(b *prekey.Bundle) map[string]any {
	h := hex.EncodeToString
	m := map[string]any{
		"registration_id": b.RegistrationID(), "device_id": b.DeviceID(),
		"identity_key": h(b.IdentityKey().Bytes()), "signed_prekey_id": b.SignedPreKeyID(),
		"signed_prekey": h(b.SignedPreKey().Bytes()), "signed_prekey_signature": h(b.SignedPreKeySignature()),
		"prekey_id": nil, "prekey": nil,
		"kyber_prekey_id": nil, "kyber_prekey": nil, "kyber_prekey_signature": nil,
	}
	if id, k, ok := b.PreKey(); ok {
		m["prekey_id"], m["prekey"] = id, h(k.Bytes())
	}
	if id, k, ok := b.KyberPreKey(); ok {
		m["kyber_prekey_id"], m["kyber_prekey"] = id, h(k.Bytes())
		m["kyber_prekey_signature"] = h(b.KyberPreKeySignature())
	}
	return m
}

func (p *peer) processBundle(req params) (map[string]any, error) {
	addr, err := p.peerOf(req)
	if err != nil {
		return nil, err
	}
	var bp params
	if !req.has("bundle") || json.Unmarshal(req["bundle"], &bp) != nil || bp == nil {
		return nil, badf("bundle: want an object")
	}
	var raw prekey.RawBundle
	if raw.RegistrationID, err = bp.uint32("registration_id", 0); err != nil {
		return nil, err
	}
	if raw.DeviceID, err = bp.uint32("device_id", 1); err != nil {
		return nil, err
	}
	if raw.IdentityKey, err = bp.requireBytes("identity_key"); err != nil {
		return nil, err
	}
	if raw.SignedPreKeyID, err = bp.uint32("signed_prekey_id", 0); err != nil {
		return nil, err
	}
	if raw.SignedPreKey, err = bp.requireBytes("signed_prekey"); err != nil {
		return nil, err
	}
	if raw.SignedPreKeySignature, err = bp.requireBytes("signed_prekey_signature"); err != nil {
		return nil, err
	}
	if raw.PreKeyID, err = bp.uint32("prekey_id", 0); err != nil {
		return nil, err
	}
	if raw.PreKey, _, err = bp.bytes("prekey"); err != nil {
		return nil, err
	}
	if raw.KyberPreKeyID, err = bp.uint32("kyber_prekey_id", 0); err != nil {
		return nil, err
	}
	if raw.KyberPreKey, _, err = bp.bytes("kyber_prekey"); err != nil {
		return nil, err
	}
	if raw.KyberPreKeySignature, _, err = bp.bytes("kyber_prekey_signature"); err != nil {
		return nil, err
	}
	b, err := prekey.ParseBundle(raw)
	if err != nil {
		return nil, err
	}
	if err := p.mgr.ProcessBundle(p.ctx, addr, b); err != nil {
		return nil, err
	}
	return map[string]any{"peer": addr.Name}, nil
}

func (p *peer) encrypt(req params) (map[string]any, error) {
	addr, err := p.peerOf(req)
	if err != nil {
		return nil, err
	}
	pt, err := req.requireBytes("plaintext")
	if err != nil {
		return nil, err
	}
	ct, err := p.mgr.Encrypt(p.ctx, addr, pt)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"type": int(ct.Type), "ciphertext": hex.EncodeToString(ct.Bytes), "version": int(ct.Bytes[0] >> 4),
	}, nil
}

func (p *peer) decrypt(req params) (map[string]any, error) {
	addr, err := p.peerOf(req)
	if err != nil {
		return nil, err
	}
	ct, err := req.requireBytes("ciphertext")
	if err != nil {
		return nil, err
	}
	typ, err := messageType(req, ct)
	if err != nil {
		return nil, err
	}
	pt, err := p.mgr.Decrypt(p.ctx, addr, session.Ciphertext{Type: typ, Bytes: ct})
	if err != nil {
		return nil, err
	}
	var text any
	if utf8.Valid(pt) {
		text = string(pt)
	}
	return map[string]any{"plaintext": hex.EncodeToString(pt), "text": text, "version": int(ct[0] >> 4)}, nil
}

// messageType reads "type" (2, 3, "whisper", "prekey"), or infers it: a
// message that parses as a PreKeySignalMessage is one.
func messageType(req params, ct []byte) (session.MessageType, error) {
	if req.has("type") {
		raw := req["type"]
		var s string
		if json.Unmarshal(raw, &s) == nil {
			switch s {
			case "whisper", "2":
				return session.WhisperType, nil
			case "prekey", "3":
				return session.PreKeyType, nil
			}
			return 0, badf("type: unknown %q", s)
		}
		n, err := req.uint32("type", 0)
		if err != nil {
			return 0, err
		}
		switch n {
		case 2:
			return session.WhisperType, nil
		case 3:
			return session.PreKeyType, nil
		}
		return 0, badf("type: unknown %d", n)
	}
	if t, err := session.MessageTypeOf(ct); err == nil && t == session.PreKeyType {
		return session.PreKeyType, nil
	}
	return session.WhisperType, nil
}

func (p *peer) sessionExport(req params) (map[string]any, error) {
	addr, err := p.peerOf(req)
	if err != nil {
		return nil, err
	}
	rec, err := p.store.LoadSession(p.ctx, addr)
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

func (p *peer) sessionImport(req params) (map[string]any, error) {
	addr, err := p.peerOf(req)
	if err != nil {
		return nil, err
	}
	b, err := req.requireBytes("record")
	if err != nil {
		return nil, err
	}
	rec, err := session.ParseRecord(b)
	if err != nil {
		return nil, err
	}
	if s, ok := rec.Info(); ok {
		// Trust the identity the imported session was made with.
		if _, err := p.store.SaveIdentity(p.ctx, addr, s.RemoteIdentity); err != nil {
			return nil, err
		}
	}
	if err := p.store.StoreSession(p.ctx, addr, rec); err != nil {
		return nil, err
	}
	return map[string]any{"has_current_state": rec.HasCurrentState()}, nil
}

func (p *peer) sessionInfo(req params) (map[string]any, error) {
	addr, err := p.peerOf(req)
	if err != nil {
		return nil, err
	}
	rec, err := p.store.LoadSession(p.ctx, addr)
	if err != nil {
		return nil, err
	}
	res := map[string]any{"has_session": rec != nil, "has_current_state": false, "remote_registration_id": nil, "record_len": 0}
	if rec != nil {
		b, err := rec.MarshalBinary()
		if err != nil {
			return nil, err
		}
		res["record_len"] = len(b)
		if s, ok := rec.Info(); ok {
			res["has_current_state"] = true
			res["remote_registration_id"] = s.RemoteRegistrationID
		}
	}
	return res, nil
}

func (p *peer) sessionDelete(req params) (map[string]any, error) {
	addr, err := p.peerOf(req)
	if err != nil {
		return nil, err
	}
	return map[string]any{"deleted": p.store.DeleteSession(addr)}, nil
}

func (p *peer) identityOf(req params) (map[string]any, error) {
	addr, err := p.peerOf(req)
	if err != nil {
		return nil, err
	}
	k, ok, err := p.store.Identity(p.ctx, addr)
	if err != nil {
		return nil, err
	}
	if !ok {
		return map[string]any{"identity_key": nil}, nil
	}
	return map[string]any{"identity_key": hex.EncodeToString(k.Bytes())}, nil
}

func (p *peer) fingerprint(req params) (map[string]any, error) {
	iterations, err := req.uint32("iterations", fingerprint.DefaultIterations)
	if err != nil {
		return nil, err
	}
	ver, err := req.uint32("version", 2)
	if err != nil {
		return nil, err
	}
	localID, err := req.requireBytes("local_id")
	if err != nil {
		return nil, err
	}
	remoteID, err := req.requireBytes("remote_id")
	if err != nil {
		return nil, err
	}
	var localKey keys.PublicKey
	if b, ok, err := req.bytes("local_key"); err != nil {
		return nil, err
	} else if ok {
		if localKey, err = keys.ParsePublicKey(b); err != nil {
			return nil, err
		}
	} else if p.identity != nil {
		localKey = p.identity.PublicKey()
	} else {
		return nil, badf("missing local_key (and no init)")
	}
	rb, err := req.requireBytes("remote_key")
	if err != nil {
		return nil, err
	}
	remoteKey, err := keys.ParsePublicKey(rb)
	if err != nil {
		return nil, err
	}
	fp, err := fingerprint.New(int(iterations), int(ver), localID, localKey, remoteID, remoteKey)
	if err != nil {
		return nil, &badRequest{err.Error()}
	}
	return map[string]any{"displayable": fp.Displayable(), "scannable": hex.EncodeToString(fp.Scannable())}, nil
}

func (p *peer) fingerprintCompare(req params) (map[string]any, error) {
	mine, err := req.requireBytes("mine")
	if err != nil {
		return nil, err
	}
	theirs, err := req.requireBytes("theirs")
	if err != nil {
		return nil, err
	}
	ours, err := fingerprint.ParseScannable(mine)
	if err != nil {
		return nil, err
	}
	them, err := fingerprint.ParseScannable(theirs)
	if err != nil {
		return nil, err
	}
	if ours.Version != them.Version {
		return nil, &fingerprint.VersionError{Theirs: them.Version, Ours: ours.Version}
	}
	match := subtle.ConstantTimeCompare(ours.Local[:], them.Remote[:])&
		subtle.ConstantTimeCompare(ours.Remote[:], them.Local[:]) == 1
	return map[string]any{"match": match}, nil
}
