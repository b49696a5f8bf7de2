// Package crashtest holds the host's real crash test, in a package of its own so that
// `go test ./runtime/host` stays fast: it builds the example server (examples/seed), runs it as
// a subprocess on a loopback port, drives a mixed workload against it while killing it with
// SIGKILL at random moments and restarting it on the same data directory, and then checks that
// nothing acknowledged was lost, nothing ran or completed twice, and no timer was lost. It is
// skipped under -short.
package crashtest
