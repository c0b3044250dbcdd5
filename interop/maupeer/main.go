// Command maupeer is an interop peer built on go.mau.fi/libsignal v0.2.1 (the
// Go Signal implementation behind WhatsApp-compatible clients), speaking the
// JSON-lines protocol of interop/PEER.md.
//
// go.mau.fi/libsignal implements X3DH (message version 3) only: there is no
// PQXDH and no Kyber, so `features` is ["x3dh"] and bundles with Kyber fields
// are refused with the error name "unsupported". Its session records are its
// own JSON structure, not libsignal's RecordStructure protobuf: session_export
// and session_import work on that JSON, and `info` reports
// record_format "go.mau.fi/libsignal-json" so that runners never try to
// exchange records between it and libsignal. It has no numeric fingerprint
// generator (its fingerprint package only formats digits), so fingerprint and
// fingerprint_compare answer "unsupported".
//
// The library panics on some malformed input (empty keys, empty messages);
// every request runs under recover and a panic is answered as an error line.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/logger"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/serialize"
	"go.mau.fi/libsignal/session"
	"go.mau.fi/libsignal/signalerror"
	"go.mau.fi/libsignal/state/record"
	"go.mau.fi/libsignal/util/optional"
)

const (
	implementation = "go.mau.fi/libsignal"
	version        = "v0.2.1"
	recordFormat   = "go.mau.fi/libsignal-json"
	maxLine        = 64 << 20
)

var commands = []string{
	"info", "init", "prekeys", "process_bundle", "encrypt", "decrypt",
	"session_export", "session_import", "session_info", "session_delete",
	"identity", "quit",
}

// quietLogger discards go.mau.fi/libsignal's log output, which by default goes
// to stdout (and would corrupt the protocol) and includes key material.
type quietLogger struct{}

func (quietLogger) Debug(string, string)   {}
func (quietLogger) Info(string, string)    {}
func (quietLogger) Warning(string, string) {}
func (quietLogger) Error(string, string)   {}
func (quietLogger) Configure(string)       {}

// peerError is an error with a PEER.md error name.
type peerError struct {
	name string
	msg  string
}

func (e *peerError) Error() string { return e.msg }

func errf(name, format string, args ...any) error {
	return &peerError{name: name, msg: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) error { return errf("bad_request", format, args...) }

// classify maps an error from go.mau.fi/libsignal to a PEER.md error name.
func classify(err error) (string, string) {
	var pe *peerError
	if errors.As(err, &pe) {
		return pe.name, pe.msg
	}
	msg := err.Error()
	if name, ok := classifySenderKey(err); ok {
		return name, msg
	}
	switch {
	case errors.Is(err, signalerror.ErrUntrustedIdentity):
		return "untrusted_identity", msg
	case errors.Is(err, signalerror.ErrOldCounter):
		return "duplicate_message", msg
	case errors.Is(err, signalerror.ErrNoSessionForUser):
		return "no_session", msg
	case errors.Is(err, signalerror.ErrInvalidSignature):
		return "invalid_signature", msg
	case errors.Is(err, signalerror.ErrNoSignedPreKey), errors.Is(err, signalerror.ErrNoOneTimeKeyFound):
		return "invalid_key_id", msg
	case errors.Is(err, signalerror.ErrOldMessageVersion), errors.Is(err, signalerror.ErrUnknownMessageVersion),
		errors.Is(err, signalerror.ErrWrongMessageVersion):
		return "invalid_version", msg
	case errors.Is(err, ecc.ErrBadKeyType):
		return "invalid_key", msg
	}
	return "invalid_message", msg
}

// ---------------------------------------------------------------------------
// In-memory stores. Sessions are kept serialized: go.mau.fi/libsignal mutates
// the loaded state before it checks the MAC, so a failed decryption must not
// be able to touch the stored copy.

type addrKey struct {
	name   string
	device uint32
}

type stores struct {
	ser      *serialize.Serializer
	identity *identity.KeyPair
	regID    uint32
	tofu     bool

	sessions   map[addrKey][]byte
	identities map[addrKey]*identity.Key
	preKeys    map[uint32]*record.PreKey
	signed     map[uint32]*record.SignedPreKey
	senderKeys map[senderKeyKey][]byte // senderkeys.go
}

func key(a *protocol.SignalAddress) addrKey { return addrKey{a.Name(), a.DeviceID()} }

func (s *stores) GetIdentityKeyPair() *identity.KeyPair { return s.identity }
func (s *stores) GetLocalRegistrationID() uint32        { return s.regID }

func (s *stores) SaveIdentity(_ context.Context, a *protocol.SignalAddress, k *identity.Key) error {
	s.identities[key(a)] = identity.NewKey(ecc.NewDjbECPublicKey(k.PublicKey().PublicKey()))
	return nil
}

func (s *stores) IsTrustedIdentity(_ context.Context, a *protocol.SignalAddress, k *identity.Key) (bool, error) {
	if !s.tofu {
		return true, nil
	}
	old, ok := s.identities[key(a)]
	return !ok || bytes.Equal(old.Serialize(), k.Serialize()), nil
}

func (s *stores) LoadPreKey(_ context.Context, id uint32) (*record.PreKey, error) {
	return s.preKeys[id], nil
}

func (s *stores) StorePreKey(_ context.Context, id uint32, r *record.PreKey) error {
	s.preKeys[id] = r
	return nil
}

func (s *stores) ContainsPreKey(_ context.Context, id uint32) (bool, error) {
	_, ok := s.preKeys[id]
	return ok, nil
}

func (s *stores) RemovePreKey(_ context.Context, id uint32) error {
	delete(s.preKeys, id)
	return nil
}

func (s *stores) LoadSignedPreKey(_ context.Context, id uint32) (*record.SignedPreKey, error) {
	return s.signed[id], nil
}

func (s *stores) LoadSignedPreKeys(_ context.Context) ([]*record.SignedPreKey, error) {
	out := make([]*record.SignedPreKey, 0, len(s.signed))
	for _, r := range s.signed {
		out = append(out, r)
	}
	return out, nil
}

func (s *stores) StoreSignedPreKey(_ context.Context, id uint32, r *record.SignedPreKey) error {
	s.signed[id] = r
	return nil
}

func (s *stores) ContainsSignedPreKey(_ context.Context, id uint32) (bool, error) {
	_, ok := s.signed[id]
	return ok, nil
}

func (s *stores) RemoveSignedPreKey(_ context.Context, id uint32) error {
	delete(s.signed, id)
	return nil
}

// LoadSession returns a fresh copy of the stored session, or a new empty
// record (not stored) when there is none.
func (s *stores) LoadSession(_ context.Context, a *protocol.SignalAddress) (*record.Session, error) {
	b, ok := s.sessions[key(a)]
	if !ok {
		return record.NewSession(s.ser.Session, s.ser.State), nil
	}
	return record.NewSessionFromBytes(b, s.ser.Session, s.ser.State)
}

func (s *stores) GetSubDeviceSessions(_ context.Context, name string) ([]uint32, error) {
	var ids []uint32
	for k := range s.sessions {
		if k.name == name && k.device != 1 {
			ids = append(ids, k.device)
		}
	}
	return ids, nil
}

func (s *stores) StoreSession(_ context.Context, a *protocol.SignalAddress, r *record.Session) error {
	s.sessions[key(a)] = r.Serialize()
	return nil
}

func (s *stores) ContainsSession(_ context.Context, a *protocol.SignalAddress) (bool, error) {
	_, ok := s.sessions[key(a)]
	return ok, nil
}

func (s *stores) DeleteSession(_ context.Context, a *protocol.SignalAddress) error {
	delete(s.sessions, key(a))
	return nil
}

func (s *stores) DeleteAllSessions(context.Context) error {
	s.sessions = map[addrKey][]byte{}
	return nil
}

// ---------------------------------------------------------------------------
// Request parameters

type request map[string]json.RawMessage

func (r request) has(name string) bool {
	v, ok := r[name]
	return ok && string(v) != "null"
}

func (r request) isNull(name string) bool {
	v, ok := r[name]
	return ok && string(v) == "null"
}

func (r request) str(name, def string) (string, error) {
	if !r.has(name) {
		return def, nil
	}
	var s string
	if err := json.Unmarshal(r[name], &s); err != nil {
		return "", badRequest("%s: expected string", name)
	}
	return s, nil
}

func (r request) uint(name string, def, min, max uint64) (uint64, error) {
	if !r.has(name) {
		return def, nil
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(r[name])), 10, 64)
	if err != nil || n < min || n > max {
		return 0, badRequest("%s: expected integer in [%d, %d]", name, min, max)
	}
	return n, nil
}

func (r request) boolean(name string, def bool) (bool, error) {
	if !r.has(name) {
		return def, nil
	}
	var b bool
	if err := json.Unmarshal(r[name], &b); err != nil {
		return false, badRequest("%s: expected boolean", name)
	}
	return b, nil
}

// bytes reads name (hex) or, when allowText, name_text (UTF-8). ok is false
// when neither is present.
func (r request) bytes(name string, allowText bool) (b []byte, ok bool, err error) {
	if allowText && r.has(name+"_text") {
		s, err := r.str(name+"_text", "")
		if err != nil {
			return nil, false, err
		}
		return []byte(s), true, nil
	}
	if !r.has(name) {
		return nil, false, nil
	}
	s, err := r.str(name, "")
	if err != nil {
		return nil, false, badRequest("%s: expected hex string", name)
	}
	b, err = hex.DecodeString(s)
	if err != nil {
		return nil, false, badRequest("%s: invalid hex", name)
	}
	return b, true, nil
}

func (r request) mustBytes(name string, allowText bool) ([]byte, error) {
	b, ok, err := r.bytes(name, allowText)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, badRequest("missing %s", name)
	}
	return b, nil
}

func (r request) peer() (*protocol.SignalAddress, error) {
	field := "peer"
	if !r.has(field) {
		field = "sender"
	}
	if !r.has(field) {
		return nil, badRequest("missing peer")
	}
	raw := r[field]
	var name string
	if err := json.Unmarshal(raw, &name); err == nil {
		dev, err := r.uint("peer_device", 1, 1, 0x7fffffff)
		if err != nil {
			return nil, err
		}
		return protocol.NewSignalAddress(name, uint32(dev)), nil
	}
	var obj request
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, badRequest("peer: expected string or {name, device_id}")
	}
	name, err := obj.str("name", "")
	if err != nil || !obj.has("name") {
		return nil, badRequest("peer.name: expected string")
	}
	dev, err := obj.uint("device_id", 1, 1, 0x7fffffff)
	if err != nil {
		return nil, err
	}
	return protocol.NewSignalAddress(name, uint32(dev)), nil
}

func privateKey(b []byte, what string) (*ecc.ECKeyPair, error) {
	if len(b) != 32 {
		return nil, errf("invalid_key", "%s: expected 32 bytes", what)
	}
	return ecc.CreateKeyPair(b), nil
}

func publicKey(b []byte, what string) (ecc.ECPublicKeyable, error) {
	if len(b) != 33 || b[0] != ecc.DjbType {
		return nil, errf("invalid_key", "%s: expected 33-byte 0x05-prefixed key", what)
	}
	return ecc.DecodePoint(b, 0)
}

func randomKeyPair() (*ecc.ECKeyPair, error) { return ecc.GenerateKeyPair() }

func randomRegistrationID() uint32 {
	var b [2]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return 1 + uint32(binary.BigEndian.Uint16(b[:]))%16380
}

// ---------------------------------------------------------------------------
// Peer

type peer struct {
	name     string
	deviceID uint32
	st       *stores
}

type result map[string]any

func (p *peer) requireInit() error {
	if p.st == nil {
		return errf("not_initialized", "send init first")
	}
	return nil
}

func (p *peer) builder(a *protocol.SignalAddress) *session.Builder {
	return session.NewBuilder(p.st, p.st, p.st, p.st, a, p.st.ser)
}

func (p *peer) info(request) (result, error) {
	return result{
		"implementation": implementation, "version": version,
		"commands": commands, "features": []string{"x3dh", "sender_keys_whatsapp"}, "record_format": recordFormat,
	}, nil
}

func (p *peer) init(r request) (result, error) {
	name, err := r.str("name", "local")
	if err != nil {
		return nil, err
	}
	dev, err := r.uint("device_id", 1, 1, 0x7fffffff)
	if err != nil {
		return nil, err
	}
	var kp *ecc.ECKeyPair
	if b, ok, err := r.bytes("identity_priv", false); err != nil {
		return nil, err
	} else if ok {
		if kp, err = privateKey(b, "identity_priv"); err != nil {
			return nil, err
		}
	} else if kp, err = randomKeyPair(); err != nil {
		return nil, err
	}
	reg, err := r.uint("registration_id", uint64(randomRegistrationID()), 0, 0x3fff)
	if err != nil {
		return nil, err
	}
	trust, err := r.str("trust", "all")
	if err != nil {
		return nil, err
	}
	if trust != "all" && trust != "tofu" {
		return nil, badRequest(`trust: expected "all" or "tofu"`)
	}
	ik := identity.NewKeyPair(identity.NewKey(kp.PublicKey()), kp.PrivateKey())
	p.name, p.deviceID = name, uint32(dev)
	p.st = &stores{
		ser:        serialize.NewProtoBufSerializer(),
		identity:   ik,
		regID:      uint32(reg),
		tofu:       trust == "tofu",
		sessions:   map[addrKey][]byte{},
		identities: map[addrKey]*identity.Key{},
		preKeys:    map[uint32]*record.PreKey{},
		signed:     map[uint32]*record.SignedPreKey{},
	}
	priv := kp.PrivateKey().Serialize()
	return result{
		"name": name, "device_id": dev, "registration_id": reg,
		"identity_key":  hex.EncodeToString(ik.PublicKey().Serialize()),
		"identity_priv": hex.EncodeToString(priv[:]),
	}, nil
}

func (p *peer) prekeys(r request) (result, error) {
	if err := p.requireInit(); err != nil {
		return nil, err
	}
	kyber, err := r.boolean("kyber", true)
	if err != nil {
		return nil, err
	}
	if kyber {
		return nil, errf("unsupported", "go.mau.fi/libsignal has no Kyber/PQXDH: pass \"kyber\": false")
	}
	spkID, err := r.uint("signed_prekey_id", 1, 0, 0xffffff)
	if err != nil {
		return nil, err
	}
	var spk *ecc.ECKeyPair
	if b, ok, err := r.bytes("signed_prekey_priv", false); err != nil {
		return nil, err
	} else if ok {
		if spk, err = privateKey(b, "signed_prekey_priv"); err != nil {
			return nil, err
		}
	} else if spk, err = randomKeyPair(); err != nil {
		return nil, err
	}
	var sig [64]byte
	if b, ok, err := r.bytes("signed_prekey_signature", false); err != nil {
		return nil, err
	} else if ok {
		if len(b) != 64 {
			return nil, errf("invalid_signature", "signed_prekey_signature: expected 64 bytes")
		}
		copy(sig[:], b)
	} else {
		sig = ecc.CalculateSignature(p.st.identity.PrivateKey(), spk.PublicKey().Serialize())
	}

	var pkID uint64
	var pk *ecc.ECKeyPair
	if !r.isNull("prekey_id") {
		// go.mau.fi/libsignal reads a pre-key id of 0 as "none".
		if pkID, err = r.uint("prekey_id", 1, 1, 0xffffff); err != nil {
			return nil, err
		}
		if b, ok, err := r.bytes("prekey_priv", false); err != nil {
			return nil, err
		} else if ok {
			if pk, err = privateKey(b, "prekey_priv"); err != nil {
				return nil, err
			}
		} else if pk, err = randomKeyPair(); err != nil {
			return nil, err
		}
	}

	p.st.signed[uint32(spkID)] = record.NewSignedPreKey(uint32(spkID), time.Now().UnixMilli(), spk, sig, p.st.ser.SignedPreKeyRecord)
	if pk != nil {
		p.st.preKeys[uint32(pkID)] = record.NewPreKey(uint32(pkID), pk, p.st.ser.PreKeyRecord)
	}

	spkPriv := spk.PrivateKey().Serialize()
	idPriv := p.st.identity.PrivateKey().Serialize()
	bundle := result{
		"registration_id":         p.st.regID,
		"device_id":               p.deviceID,
		"identity_key":            hex.EncodeToString(p.st.identity.PublicKey().Serialize()),
		"signed_prekey_id":        spkID,
		"signed_prekey":           hex.EncodeToString(spk.PublicKey().Serialize()),
		"signed_prekey_signature": hex.EncodeToString(sig[:]),
		"prekey_id":               nil,
		"prekey":                  nil,
		"kyber_prekey_id":         nil,
		"kyber_prekey":            nil,
		"kyber_prekey_signature":  nil,
	}
	private := result{
		"identity_priv":      hex.EncodeToString(idPriv[:]),
		"signed_prekey_priv": hex.EncodeToString(spkPriv[:]),
		"prekey_priv":        nil,
		"kyber_priv":         nil,
	}
	if pk != nil {
		pkPriv := pk.PrivateKey().Serialize()
		bundle["prekey_id"] = pkID
		bundle["prekey"] = hex.EncodeToString(pk.PublicKey().Serialize())
		private["prekey_priv"] = hex.EncodeToString(pkPriv[:])
	}
	return result{"bundle": bundle, "private": private}, nil
}

func (p *peer) processBundle(r request) (result, error) {
	if err := p.requireInit(); err != nil {
		return nil, err
	}
	a, err := r.peer()
	if err != nil {
		return nil, err
	}
	if !r.has("bundle") {
		return nil, badRequest("missing bundle")
	}
	var b request
	if err := json.Unmarshal(r["bundle"], &b); err != nil || b == nil {
		return nil, badRequest("bundle: expected object")
	}
	if b.has("kyber_prekey_id") || b.has("kyber_prekey") || b.has("kyber_prekey_signature") {
		return nil, errf("unsupported", "go.mau.fi/libsignal has no Kyber/PQXDH")
	}
	if !b.has("registration_id") || !b.has("signed_prekey_id") {
		return nil, badRequest("bundle: registration_id and signed_prekey_id are required")
	}
	reg, err := b.uint("registration_id", 0, 0, 0xffffffff)
	if err != nil {
		return nil, err
	}
	dev, err := b.uint("device_id", 1, 1, 0x7fffffff)
	if err != nil {
		return nil, err
	}
	spkID, err := b.uint("signed_prekey_id", 0, 0, 0xffffffff)
	if err != nil {
		return nil, err
	}
	ikb, err := b.mustBytes("identity_key", false)
	if err != nil {
		return nil, err
	}
	ik, err := publicKey(ikb, "bundle.identity_key")
	if err != nil {
		return nil, err
	}
	spkb, err := b.mustBytes("signed_prekey", false)
	if err != nil {
		return nil, err
	}
	spk, err := publicKey(spkb, "bundle.signed_prekey")
	if err != nil {
		return nil, err
	}
	sigb, err := b.mustBytes("signed_prekey_signature", false)
	if err != nil {
		return nil, err
	}
	if len(sigb) != 64 {
		return nil, errf("invalid_signature", "bundle.signed_prekey_signature: expected 64 bytes")
	}
	var sig [64]byte
	copy(sig[:], sigb)
	pkID := optional.NewEmptyUint32()
	var pk ecc.ECPublicKeyable
	if b.has("prekey_id") != b.has("prekey") {
		return nil, badRequest("bundle: prekey_id and prekey must both be set or both null")
	}
	if b.has("prekey") {
		id, err := b.uint("prekey_id", 0, 1, 0xffffff)
		if err != nil {
			return nil, err
		}
		pkb, err := b.mustBytes("prekey", false)
		if err != nil {
			return nil, err
		}
		if pk, err = publicKey(pkb, "bundle.prekey"); err != nil {
			return nil, err
		}
		pkID = optional.NewOptionalUint32(uint32(id))
	}
	bundle := prekey.NewBundle(uint32(reg), uint32(dev), pkID, uint32(spkID), pk, spk, sig, identity.NewKey(ik))
	if err := p.builder(a).ProcessBundle(context.Background(), bundle); err != nil {
		return nil, err
	}
	return result{"peer": result{"name": a.Name(), "device_id": a.DeviceID()}}, nil
}

func (p *peer) encrypt(r request) (result, error) {
	if err := p.requireInit(); err != nil {
		return nil, err
	}
	a, err := r.peer()
	if err != nil {
		return nil, err
	}
	pt, err := r.mustBytes("plaintext", true)
	if err != nil {
		return nil, err
	}
	if _, ok := p.st.sessions[key(a)]; !ok {
		return nil, errf("no_session", "no session for %s", a)
	}
	c := session.NewCipher(p.builder(a), a)
	msg, err := c.Encrypt(context.Background(), pt)
	if err != nil {
		return nil, err
	}
	ct := msg.Serialize()
	return result{"type": msg.Type(), "ciphertext": hex.EncodeToString(ct), "version": int(ct[0] >> 4)}, nil
}

func (p *peer) decrypt(r request) (result, error) {
	if err := p.requireInit(); err != nil {
		return nil, err
	}
	a, err := r.peer()
	if err != nil {
		return nil, err
	}
	ct, err := r.mustBytes("ciphertext", false)
	if err != nil {
		return nil, err
	}
	if len(ct) == 0 {
		return nil, errf("invalid_message", "empty ciphertext")
	}
	typ := 0
	if r.has("type") {
		raw := strings.TrimSpace(string(r["type"]))
		switch raw {
		case "2", `"whisper"`:
			typ = 2
		case "3", `"prekey"`:
			typ = 3
		default:
			return nil, badRequest(`type: expected 2, 3, "whisper" or "prekey"`)
		}
	}
	ser := p.st.ser
	var pkm *protocol.PreKeySignalMessage
	if typ == 0 {
		if m, err := protocol.NewPreKeySignalMessageFromBytes(ct, ser.PreKeySignalMessage, ser.SignalMessage); err == nil {
			pkm, typ = m, 3
		} else {
			typ = 2
		}
	}
	c := session.NewCipher(p.builder(a), a)
	var pt []byte
	if typ == 3 {
		if pkm == nil {
			if pkm, err = protocol.NewPreKeySignalMessageFromBytes(ct, ser.PreKeySignalMessage, ser.SignalMessage); err != nil {
				return nil, err
			}
		}
		pt, err = c.DecryptMessage(context.Background(), pkm)
	} else {
		m, err2 := protocol.NewSignalMessageFromBytes(ct, ser.SignalMessage)
		if err2 != nil {
			return nil, err2
		}
		if _, ok := p.st.sessions[key(a)]; !ok {
			return nil, errf("no_session", "no session for %s", a)
		}
		pt, err = c.Decrypt(context.Background(), m)
	}
	if err != nil {
		return nil, err
	}
	var text any
	if utf8.Valid(pt) {
		text = string(pt)
	}
	return result{"plaintext": hex.EncodeToString(pt), "text": text, "version": int(ct[0] >> 4)}, nil
}

func (p *peer) sessionExport(r request) (result, error) {
	if err := p.requireInit(); err != nil {
		return nil, err
	}
	a, err := r.peer()
	if err != nil {
		return nil, err
	}
	b, ok := p.st.sessions[key(a)]
	if !ok {
		return result{"record": nil, "format": recordFormat}, nil
	}
	return result{"record": hex.EncodeToString(b), "format": recordFormat}, nil
}

func (p *peer) sessionImport(r request) (result, error) {
	if err := p.requireInit(); err != nil {
		return nil, err
	}
	a, err := r.peer()
	if err != nil {
		return nil, err
	}
	b, err := r.mustBytes("record", false)
	if err != nil {
		return nil, err
	}
	rec, err := record.NewSessionFromBytes(b, p.st.ser.Session, p.st.ser.State)
	if err != nil {
		return nil, errf("invalid_record", "not a %s session record: %v", recordFormat, err)
	}
	p.st.sessions[key(a)] = rec.Serialize()
	return result{"has_current_state": rec.SessionState().HasSenderChain()}, nil
}

func (p *peer) sessionInfo(r request) (result, error) {
	if err := p.requireInit(); err != nil {
		return nil, err
	}
	a, err := r.peer()
	if err != nil {
		return nil, err
	}
	b, ok := p.st.sessions[key(a)]
	if !ok {
		return result{"has_session": false, "has_current_state": false, "remote_registration_id": nil, "record_len": 0}, nil
	}
	rec, err := record.NewSessionFromBytes(b, p.st.ser.Session, p.st.ser.State)
	if err != nil {
		return nil, err
	}
	st := rec.SessionState()
	return result{
		"has_session": true, "has_current_state": st.HasSenderChain(),
		"remote_registration_id": st.RemoteRegistrationID(), "record_len": len(b),
	}, nil
}

func (p *peer) sessionDelete(r request) (result, error) {
	if err := p.requireInit(); err != nil {
		return nil, err
	}
	a, err := r.peer()
	if err != nil {
		return nil, err
	}
	_, ok := p.st.sessions[key(a)]
	delete(p.st.sessions, key(a))
	return result{"deleted": ok}, nil
}

func (p *peer) identityCmd(r request) (result, error) {
	if err := p.requireInit(); err != nil {
		return nil, err
	}
	a, err := r.peer()
	if err != nil {
		return nil, err
	}
	k, ok := p.st.identities[key(a)]
	if !ok {
		return result{"identity_key": nil}, nil
	}
	return result{"identity_key": hex.EncodeToString(k.Serialize())}, nil
}

func unsupported(cmd string) func(request) (result, error) {
	return func(request) (result, error) {
		return nil, errf("unsupported", "%s: go.mau.fi/libsignal v0.2.1 has no numeric fingerprint generator", cmd)
	}
}

// panicName is the error name reported for a panic recovered while handling cmd.
func panicName(cmd string) string {
	switch cmd {
	case "decrypt", "group_decrypt", "sender_key_process":
		return "invalid_message"
	case "session_import", "session_info", "session_export":
		return "invalid_record"
	case "process_bundle":
		return "invalid_key"
	}
	return "internal"
}

// handle answers one request line. It never panics: a panic inside
// go.mau.fi/libsignal is recovered and reported as an error.
func (p *peer) handle(line []byte) (reply map[string]any, quit bool) {
	var id json.RawMessage = json.RawMessage("null")
	var cmd string
	defer func() {
		if v := recover(); v != nil {
			fmt.Fprintf(os.Stderr, "maupeer: recovered panic: %v\n%s", v, debug.Stack())
			reply = map[string]any{"id": id, "ok": false, "error": fmt.Sprintf("go.mau.fi/libsignal panicked: %v", v), "name": panicName(cmd)}
			quit = false
		}
	}()
	var req request
	if err := json.Unmarshal(line, &req); err != nil || req == nil {
		msg := "request is not a JSON object"
		if err != nil {
			msg = "malformed JSON: " + err.Error()
		}
		return map[string]any{"id": nil, "ok": false, "error": msg, "name": "bad_request"}, false
	}
	if v, ok := req["id"]; ok {
		id = v
	}
	if err := json.Unmarshal(req["cmd"], &cmd); err != nil || !req.has("cmd") {
		return map[string]any{"id": id, "ok": false, "error": "missing or non-string cmd", "name": "bad_request"}, false
	}
	handlers := map[string]func(request) (result, error){
		"info": p.info, "init": p.init, "prekeys": p.prekeys, "process_bundle": p.processBundle,
		"encrypt": p.encrypt, "decrypt": p.decrypt, "session_export": p.sessionExport,
		"session_import": p.sessionImport, "session_info": p.sessionInfo, "session_delete": p.sessionDelete,
		"identity": p.identityCmd, "fingerprint": unsupported("fingerprint"),
		"fingerprint_compare": unsupported("fingerprint_compare"),
	}
	for k, h := range p.senderKeyHandlers() {
		handlers[k] = h
	}
	if cmd == "quit" {
		return map[string]any{"id": id, "ok": true}, true
	}
	h, ok := handlers[cmd]
	if !ok {
		c := cmd
		if len(c) > 64 {
			c = c[:64]
		}
		return map[string]any{"id": id, "ok": false, "error": fmt.Sprintf("unknown command %q", c), "name": "unknown_command"}, false
	}
	res, err := h(req)
	if err != nil {
		name, msg := classify(err)
		return map[string]any{"id": id, "ok": false, "error": msg, "name": name}, false
	}
	out := map[string]any{"id": id, "ok": true}
	for k, v := range res {
		out[k] = v
	}
	return out, false
}

func main() {
	var l logger.Loggable = quietLogger{}
	logger.Setup(&l)

	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	write := func(v any) {
		if err := enc.Encode(v); err != nil {
			fmt.Fprintf(os.Stderr, "maupeer: encode: %v\n", err)
			os.Exit(1)
		}
		if err := out.Flush(); err != nil {
			os.Exit(1) // stdout closed: nobody is listening
		}
	}
	write(map[string]any{"id": nil, "ok": true, "event": "ready", "implementation": implementation, "version": version})

	p := &peer{}
	for {
		line, err := readLine(in)
		if err != nil && !errors.Is(err, errLineTooLong) && len(line) == 0 {
			return // EOF (or a read error): everything has been answered
		}
		if errors.Is(err, errLineTooLong) {
			write(map[string]any{"id": nil, "ok": false, "error": "line too long", "name": "bad_request"})
			continue
		}
		reply, quit := p.handle(line)
		write(reply)
		if quit || err != nil {
			return
		}
	}
}

var errLineTooLong = errors.New("line too long")

// readLine reads one line without its terminator. A line longer than maxLine
// is consumed whole and reported as errLineTooLong.
func readLine(r *bufio.Reader) ([]byte, error) {
	var buf []byte
	tooLong := false
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > maxLine {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if tooLong {
			return nil, errLineTooLong
		}
		return bytes.TrimRight(buf, "\r\n"), err
	}
}
