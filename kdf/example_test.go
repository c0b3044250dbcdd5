package kdf_test

import (
	"encoding/hex"
	"fmt"

	"github.com/ratchetlab/signal/kdf"
)

// Example takes one step on a Double Ratchet chain: the chain key yields a
// message-key seed and the next chain key, and the seed expands into the
// keys of one message. The chain key and the expected keys are those of
// libsignal's test_chain_key_derivation (rust/protocol/src/ratchet/keys.rs).
func Example() {
	chainKey, _ := hex.DecodeString("8ab72d6f4cc5ac0d387eaf463378ddb28edd07385b1cb01250c715982e7ad48f")

	seed, next := kdf.ChainStep((*[32]byte)(chainKey))
	mk := kdf.DeriveMessageKeys(&seed, nil) // nil: no post-quantum (SPQR) salt

	fmt.Println(mk) // secrets are never printed
	fmt.Println("cipher key:", hex.EncodeToString(mk.CipherKey[:]))
	fmt.Println("mac key:   ", hex.EncodeToString(mk.MACKey[:]))
	fmt.Println("next chain:", hex.EncodeToString(next[:]))
	// Output:
	// kdf.MessageKeys{redacted}
	// cipher key: bf51e9d75e0e31031051f82a2491ffc084fa298b7793bd9db620056febf45217
	// mac key:    c6c77d6a73a354337a56435e34607dfe48e3ace14e77314dc6abc172e7a7030b
	// next chain: 28e8f8fee54b801eef7c5cfb2f17f32c7b334485bbb70fac6ec10342a246d15d
}
