package sealed

import (
	"fmt"
	"strings"
)

// ServiceIDSize is the size of a service id's fixed-width binary form: a
// kind byte (0x00 ACI, 0x01 PNI) and the 16 UUID bytes.
const ServiceIDSize = 17

// ParseServiceID parses a Signal service id in its string form, a
// hyphenated UUID (an ACI) or "PNI:" followed by one, case-insensitively,
// into its fixed-width binary form.
func ParseServiceID(s string) ([ServiceIDSize]byte, error) {
	var out [ServiceIDSize]byte
	u := s
	if len(u) > 4 && strings.EqualFold(u[:4], "PNI:") {
		out[0] = 0x01
		u = u[4:]
	}
	if len(u) != 36 {
		return out, fmt.Errorf("%w: not a service id: %q", ErrInvalidArgument, s)
	}
	j := 1
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if u[i] != '-' {
				return out, fmt.Errorf("%w: not a service id: %q", ErrInvalidArgument, s)
			}
			i++
			continue
		}
		hi, ok1 := fromHex(u[i])
		lo, ok2 := fromHex(u[i+1])
		if !ok1 || !ok2 {
			return out, fmt.Errorf("%w: not a service id: %q", ErrInvalidArgument, s)
		}
		out[j] = hi<<4 | lo
		j++
		i += 2
	}
	return out, nil
}

// ServiceIDString returns the string form of a fixed-width service id: the
// lowercase UUID for an ACI, "PNI:" and the UUID for a PNI. It reports false
// for an unknown kind byte.
func ServiceIDString(b [ServiceIDSize]byte) (string, bool) {
	switch b[0] {
	case 0x00:
		return uuidString(b[1:]), true
	case 0x01:
		return "PNI:" + uuidString(b[1:]), true
	}
	return "", false
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
