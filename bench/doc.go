// Package bench compares github.com/ratchetlab/signal with go.mau.fi/libsignal
// v0.2.1 on the same workloads, in one process, and measures the
// primitives each workload is built from (its floor).
//
// The benchmarks live in the package's tests: BenchmarkCompare/<operation>/
// <implementation> and BenchmarkFloor/<primitive>. Run them with ./run,
// which prints a table of medians; README.md describes each workload. The
// protocols compared are the Signal protocol's X3DH, PQXDH and Double
// Ratchet (https://signal.org/docs/specifications/x3dh/,
// https://signal.org/docs/specifications/pqxdh/,
// https://signal.org/docs/specifications/doubleratchet/).
package bench
