module github.com/ratchetlab/signal/interop

go 1.25.0

replace github.com/ratchetlab/signal => ../

require (
	github.com/ratchetlab/signal v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
	go.mau.fi/libsignal v0.2.1
	go.mau.fi/whatsmeow v0.0.0-20251217143725-11cf47c62d32
)

require (
	filippo.io/edwards25519 v1.2.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/crypto v0.46.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
