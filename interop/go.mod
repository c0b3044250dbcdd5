module github.com/ratchetlab/signal/interop

go 1.25

replace github.com/ratchetlab/signal => ../

require (
	github.com/stretchr/testify v1.12.1
	go.mau.fi/libsignal v0.2.1
)

require (
	filippo.io/edwards25519 v1.1.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/crypto v0.42.0 // indirect
	google.golang.org/protobuf v1.36.10 // indirect
)
