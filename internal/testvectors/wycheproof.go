package testvectors

// Result is a Wycheproof verdict: "valid", "invalid" or "acceptable".
type Result string

// Wycheproof verdicts.
const (
	Valid      Result = "valid"
	Invalid    Result = "invalid"
	Acceptable Result = "acceptable"
)

// WycheproofCase holds the fields common to every Wycheproof test case.
type WycheproofCase struct {
	ID      int
	Comment string
	Flags   []string
	Result  Result
}

// HasFlag reports whether the case carries the named flag.
func (c WycheproofCase) HasFlag(flag string) bool {
	for _, f := range c.Flags {
		if f == flag {
			return true
		}
	}
	return false
}

type wcase struct {
	TcID    flexInt   `json:"tcId"`
	Comment string    `json:"comment"`
	Flags   flexFlags `json:"flags"`
	Result  Result    `json:"result"`
}

func (w wcase) common() WycheproofCase {
	return WycheproofCase{ID: int(w.TcID), Comment: w.Comment, Flags: w.Flags, Result: w.Result}
}

// X25519Case is one case of x25519_test.json.
type X25519Case struct {
	WycheproofCase
	Public, Private, Shared []byte
}

// X25519 returns every case of Wycheproof's x25519_test.json.
func X25519() ([]X25519Case, error) {
	var f struct {
		TestGroups []struct {
			Tests []struct {
				wcase
				Public  Hex `json:"public"`
				Private Hex `json:"private"`
				Shared  Hex `json:"shared"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	if err := loadJSON("wycheproof/x25519_test.json", &f); err != nil {
		return nil, err
	}
	var out []X25519Case
	for _, g := range f.TestGroups {
		for _, t := range g.Tests {
			out = append(out, X25519Case{t.common(), t.Public, t.Private, t.Shared})
		}
	}
	return out, nil
}

// Ed25519Case is one case of ed25519_test.json: verify Sig over Msg with the
// 32-byte Edwards public key PublicKey.
type Ed25519Case struct {
	WycheproofCase
	PublicKey, Msg, Sig []byte
}

// Ed25519 returns every case of Wycheproof's ed25519_test.json.
func Ed25519() ([]Ed25519Case, error) {
	var f struct {
		TestGroups []struct {
			PublicKey struct {
				PK Hex `json:"pk"`
			} `json:"publicKey"`
			Tests []struct {
				wcase
				Msg Hex `json:"msg"`
				Sig Hex `json:"sig"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	if err := loadJSON("wycheproof/ed25519_test.json", &f); err != nil {
		return nil, err
	}
	var out []Ed25519Case
	for _, g := range f.TestGroups {
		for _, t := range g.Tests {
			out = append(out, Ed25519Case{t.common(), g.PublicKey.PK, t.Msg, t.Sig})
		}
	}
	return out, nil
}

// HKDFCase is one case of hkdf_sha256_test.json.
type HKDFCase struct {
	WycheproofCase
	IKM, Salt, Info []byte
	Size            int
	OKM             []byte
}

// HKDFSHA256 returns every case of Wycheproof's hkdf_sha256_test.json.
func HKDFSHA256() ([]HKDFCase, error) {
	var f struct {
		TestGroups []struct {
			Tests []struct {
				wcase
				IKM  Hex     `json:"ikm"`
				Salt Hex     `json:"salt"`
				Info Hex     `json:"info"`
				Size flexInt `json:"size"`
				OKM  Hex     `json:"okm"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	if err := loadJSON("wycheproof/hkdf_sha256_test.json", &f); err != nil {
		return nil, err
	}
	var out []HKDFCase
	for _, g := range f.TestGroups {
		for _, t := range g.Tests {
			out = append(out, HKDFCase{t.common(), t.IKM, t.Salt, t.Info, int(t.Size), t.OKM})
		}
	}
	return out, nil
}

// MACCase is one case of hmac_sha256_test.json. TagSize is in bits; Tag may
// be a truncation of the full HMAC.
type MACCase struct {
	WycheproofCase
	TagSize       int
	Key, Msg, Tag []byte
}

// HMACSHA256 returns every case of Wycheproof's hmac_sha256_test.json.
func HMACSHA256() ([]MACCase, error) {
	var f struct {
		TestGroups []struct {
			TagSize flexInt `json:"tagSize"`
			Tests   []struct {
				wcase
				Key Hex `json:"key"`
				Msg Hex `json:"msg"`
				Tag Hex `json:"tag"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	if err := loadJSON("wycheproof/hmac_sha256_test.json", &f); err != nil {
		return nil, err
	}
	var out []MACCase
	for _, g := range f.TestGroups {
		for _, t := range g.Tests {
			out = append(out, MACCase{t.common(), int(g.TagSize), t.Key, t.Msg, t.Tag})
		}
	}
	return out, nil
}

// AESCBCCase is one case of aes_cbc_pkcs5_test.json.
type AESCBCCase struct {
	WycheproofCase
	Key, IV, Msg, CT []byte
}

// AESCBCPKCS5 returns every case of Wycheproof's aes_cbc_pkcs5_test.json
// (all key sizes; Signal uses only 256-bit keys).
func AESCBCPKCS5() ([]AESCBCCase, error) {
	var f struct {
		TestGroups []struct {
			Tests []struct {
				wcase
				Key Hex `json:"key"`
				IV  Hex `json:"iv"`
				Msg Hex `json:"msg"`
				CT  Hex `json:"ct"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	if err := loadJSON("wycheproof/aes_cbc_pkcs5_test.json", &f); err != nil {
		return nil, err
	}
	var out []AESCBCCase
	for _, g := range f.TestGroups {
		for _, t := range g.Tests {
			out = append(out, AESCBCCase{t.common(), t.Key, t.IV, t.Msg, t.CT})
		}
	}
	return out, nil
}

// MLKEMCase is one case of mlkem_1024_test.json: a key pair from Seed (d||z,
// 64 bytes), its encapsulation key EK, and decapsulation of C giving K.
type MLKEMCase struct {
	WycheproofCase
	Seed, EK, C, K []byte
}

// MLKEM1024 returns every case of mlkem_1024_test.json.
func MLKEM1024() ([]MLKEMCase, error) {
	var f struct {
		TestGroups []struct {
			Tests []struct {
				wcase
				Seed Hex `json:"seed"`
				EK   Hex `json:"ek"`
				C    Hex `json:"c"`
				K    Hex `json:"K"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	if err := loadJSON("wycheproof/mlkem_1024_test.json", &f); err != nil {
		return nil, err
	}
	var out []MLKEMCase
	for _, g := range f.TestGroups {
		for _, t := range g.Tests {
			out = append(out, MLKEMCase{t.common(), t.Seed, t.EK, t.C, t.K})
		}
	}
	return out, nil
}

// MLKEMEncapsCase is one case of mlkem_1024_encaps_test.json: encapsulation
// to EK with randomness M gives ciphertext C and key K; invalid cases have a
// malformed EK that must be rejected.
type MLKEMEncapsCase struct {
	WycheproofCase
	EK, M, C, K []byte
}

// MLKEM1024Encaps returns every case of mlkem_1024_encaps_test.json.
func MLKEM1024Encaps() ([]MLKEMEncapsCase, error) {
	var f struct {
		TestGroups []struct {
			Tests []struct {
				wcase
				EK Hex `json:"ek"`
				M  Hex `json:"m"`
				C  Hex `json:"c"`
				K  Hex `json:"K"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	if err := loadJSON("wycheproof/mlkem_1024_encaps_test.json", &f); err != nil {
		return nil, err
	}
	var out []MLKEMEncapsCase
	for _, g := range f.TestGroups {
		for _, t := range g.Tests {
			out = append(out, MLKEMEncapsCase{t.common(), t.EK, t.M, t.C, t.K})
		}
	}
	return out, nil
}
