module github.com/ratchetlab/signal/bench

go 1.25.0

replace github.com/ratchetlab/signal => ../

require (
	github.com/cloudflare/circl v1.6.5
	github.com/ratchetlab/signal v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
	go.mau.fi/libsignal v0.2.1
)

require (
	filippo.io/edwards25519 v1.2.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/crypto v0.54.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
