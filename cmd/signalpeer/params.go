package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/ratchetlab/signal/session"
)

// badRequest is an error in the request itself.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func badf(format string, a ...any) error { return &badRequest{fmt.Sprintf(format, a...)} }

// params are a request's fields.
type params map[string]json.RawMessage

func (p params) has(name string) bool {
	v, ok := p[name]
	return ok && string(v) != "null"
}

// isNull reports whether the field is present and null.
func (p params) isNull(name string) bool {
	v, ok := p[name]
	return ok && string(v) == "null"
}

func (p params) str(name string, def string) (string, error) {
	if !p.has(name) {
		return def, nil
	}
	var s string
	if err := json.Unmarshal(p[name], &s); err != nil {
		return "", badf("%s: want a string", name)
	}
	return s, nil
}

func (p params) uint32(name string, def uint32) (uint32, error) {
	if !p.has(name) {
		return def, nil
	}
	var f float64
	if err := json.Unmarshal(p[name], &f); err != nil || f < 0 || f > math.MaxUint32 || f != math.Trunc(f) {
		return 0, badf("%s: want an unsigned 32-bit integer", name)
	}
	return uint32(f), nil
}

func (p params) boolean(name string, def bool) (bool, error) {
	if !p.has(name) {
		return def, nil
	}
	var b bool
	if err := json.Unmarshal(p[name], &b); err != nil {
		return false, badf("%s: want a boolean", name)
	}
	return b, nil
}

// bytes reads a hex field, or its _text twin as UTF-8. ok is false when
// neither is present.
func (p params) bytes(name string) (b []byte, ok bool, err error) {
	if p.has(name) {
		s, err := p.str(name, "")
		if err != nil {
			return nil, false, err
		}
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, false, badf("%s: bad hex", name)
		}
		return b, true, nil
	}
	if p.has(name + "_text") {
		s, err := p.str(name+"_text", "")
		if err != nil {
			return nil, false, err
		}
		return []byte(s), true, nil
	}
	return nil, false, nil
}

func (p params) requireBytes(name string) ([]byte, error) {
	b, ok, err := p.bytes(name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, badf("missing %s", name)
	}
	return b, nil
}

// address reads "peer" (or "sender"): a name with "peer_device", or an
// object {"name", "device_id"}.
func (p params) address() (session.Address, error) {
	field := "peer"
	if !p.has(field) {
		field = "sender"
	}
	if !p.has(field) {
		return session.Address{}, badf("missing peer")
	}
	raw := p[field]
	var name string
	if err := json.Unmarshal(raw, &name); err == nil {
		dev, err := p.uint32("peer_device", 1)
		if err != nil {
			return session.Address{}, err
		}
		return session.Address{Name: name, DeviceID: dev}, nil
	}
	var obj params
	if err := json.Unmarshal(raw, &obj); err != nil {
		return session.Address{}, badf("%s: want a string or an object", field)
	}
	name, err := obj.str("name", "")
	if err != nil {
		return session.Address{}, err
	}
	if name == "" {
		return session.Address{}, badf("%s: missing name", field)
	}
	dev, err := obj.uint32("device_id", 1)
	if err != nil {
		return session.Address{}, err
	}
	return session.Address{Name: name, DeviceID: dev}, nil
}

func isBadRequest(err error) bool {
	var b *badRequest
	return errors.As(err, &b)
}
