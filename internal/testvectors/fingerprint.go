package testvectors

// FingerprintCase is one case of libsignal_fingerprints.json: two parties'
// stable identifiers and identity keys, with the safety numbers libsignal
// computed for them at several versions and iteration counts.
type FingerprintCase struct {
	Case           int    `json:"case"`
	IdentifierKind string `json:"identifier_kind"`
	// LocalIdentifier and RemoteIdentifier are the stable identifiers as the
	// raw bytes passed to libsignal.
	LocalIdentifier  Hex `json:"local_identifier"`
	LocalKey         Hex `json:"local_key"`
	RemoteIdentifier Hex `json:"remote_identifier"`
	RemoteKey        Hex `json:"remote_key"`
	// Results holds one entry per (version, iterations) pair computed.
	Results []FingerprintResult `json:"results"`
}

// FingerprintResult is libsignal's output for one FingerprintCase at one
// version and iteration count.
type FingerprintResult struct {
	Version    int `json:"version"`
	Iterations int `json:"iterations"`
	// Displayable is the 60-digit safety number, the same for both sides.
	Displayable string `json:"displayable"`
	// Scannable is the local side's CombinedFingerprints encoding.
	Scannable Hex `json:"scannable"`
	// ScannableFromRemoteSide is the remote side's encoding (local and remote
	// swapped).
	ScannableFromRemoteSide Hex `json:"scannable_from_remote_side"`
}

// Fingerprints returns the cases of libsignal/libsignal_fingerprints.json.
func Fingerprints() ([]FingerprintCase, error) {
	var f struct {
		Cases []FingerprintCase `json:"cases"`
	}
	if err := loadJSON("libsignal/libsignal_fingerprints.json", &f); err != nil {
		return nil, err
	}
	return f.Cases, nil
}
