package session

import "strconv"

// Address names a peer device: a name (for Signal, a service id) and a
// device id.
type Address struct {
	Name     string
	DeviceID uint32
}

// String returns "name.device".
func (a Address) String() string { return a.Name + "." + strconv.FormatUint(uint64(a.DeviceID), 10) }
