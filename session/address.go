package session

import (
	"strconv"
	"strings"
)

// Address names a peer device: a name (for Signal, a service id) and a
// device id.
type Address struct {
	Name     string
	DeviceID uint32
}

// String returns "name.device".
func (a Address) String() string { return a.Name + "." + strconv.FormatUint(uint64(a.DeviceID), 10) }

// serviceIDBinary parses a Signal service id in its string form, a
// hyphenated UUID (an ACI) or "PNI:" followed by one, case-insensitively,
// into its 17-byte fixed-width binary form: a kind byte (0x00 ACI, 0x01
// PNI) and the 16 UUID bytes.
func serviceIDBinary(name string) (out [17]byte, ok bool) {
	if len(name) > 4 && strings.EqualFold(name[:4], "PNI:") {
		out[0] = 0x01
		name = name[4:]
	}
	if len(name) != 36 {
		return out, false
	}
	j := 1
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if name[i] != '-' {
				return out, false
			}
			i++
			continue
		}
		hi, ok1 := fromHex(name[i])
		lo, ok2 := fromHex(name[i+1])
		if !ok1 || !ok2 {
			return out, false
		}
		out[j] = hi<<4 | lo
		j++
		i += 2
	}
	return out, true
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

// addressesField builds the SignalMessage addresses field (field 6):
// sender service id (17) || sender device (1) || recipient service id (17)
// || recipient device (1). It reports false unless both names are service
// ids and both device ids are 1..127.
func addressesField(sender, recipient Address) ([]byte, bool) {
	s, ok1 := serviceIDBinary(sender.Name)
	r, ok2 := serviceIDBinary(recipient.Name)
	if !ok1 || !ok2 || sender.DeviceID < 1 || sender.DeviceID > 127 || recipient.DeviceID < 1 || recipient.DeviceID > 127 {
		return nil, false
	}
	b := make([]byte, 0, 36)
	b = append(b, s[:]...)
	b = append(b, byte(sender.DeviceID))
	b = append(b, r[:]...)
	return append(b, byte(recipient.DeviceID)), true
}
