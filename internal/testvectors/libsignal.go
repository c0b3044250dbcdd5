package testvectors

import (
	"encoding/json"
	"fmt"
)

// LibsignalVector is one entry of libsignal_vectors.json: data copied out of
// libsignal's sources. Inputs, Expected and Cases are kept as raw JSON; each
// test decodes them into the shape its vector has.
type LibsignalVector struct {
	ID         string          `json:"id"`
	Category   string          `json:"category"`
	SourceFile string          `json:"source_file"`
	Test       string          `json:"test"`
	Checks     string          `json:"checks"`
	Inputs     json.RawMessage `json:"inputs"`
	Expected   json.RawMessage `json:"expected"`
	Cases      json.RawMessage `json:"cases"`
}

// Decode decodes the vector's inputs and expected values into in and exp
// (either may be nil to skip it).
func (v LibsignalVector) Decode(in, exp any) error {
	if in != nil {
		if err := json.Unmarshal(v.Inputs, in); err != nil {
			return fmt.Errorf("testvectors: %s inputs: %w", v.ID, err)
		}
	}
	if exp != nil {
		if err := json.Unmarshal(v.Expected, exp); err != nil {
			return fmt.Errorf("testvectors: %s expected: %w", v.ID, err)
		}
	}
	return nil
}

// Libsignal returns the vector of libsignal_vectors.json with the given id.
func Libsignal(id string) (LibsignalVector, error) {
	var f struct {
		Vectors []LibsignalVector `json:"vectors"`
	}
	if err := loadJSON("libsignal/libsignal_vectors.json", &f); err != nil {
		return LibsignalVector{}, err
	}
	for _, v := range f.Vectors {
		if v.ID == id {
			return v, nil
		}
	}
	return LibsignalVector{}, fmt.Errorf("testvectors: no libsignal vector %q", id)
}
