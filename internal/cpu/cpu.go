// Package cpu holds the few CPU-specific helpers the library needs.
//
// Its only job today is [VZeroUpper]: the AVX2 assembly in
// github.com/cloudflare/circl (used for Kyber and ML-KEM) returns with the
// upper halves of the YMM registers still dirty. Legacy-SSE-encoded code that
// runs next, such as the SHA-NI implementation of crypto/sha256 behind HMAC
// and HKDF, then pays an AVX-SSE transition or false-dependency penalty on
// every instruction until something clears that state (measured here at
// more than ten times slower HMAC). Intel's optimization manual (§"Mixing
// AVX Code with SSE Code") recommends issuing VZEROUPPER when leaving AVX
// code; circl does not, so package kem does it on its behalf.
package cpu
