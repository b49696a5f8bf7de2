package protocol

import "fmt"

// Limits on the strings clients and handlers choose. Each of them becomes part of a store key
// (percent-escaped, so up to three bytes per byte), and together they keep the longest key the
// engine builds — idem/{service}/{handler}/{key}/{idempotency key} — under store.MaxKeyBytes.
// Past a limit, the ingress answers 400 and the engine fails the handler that chose the string
// with a terminal error; no such string ever reaches the store, where it would stop the server.
const (
	// MaxKeyBytes bounds an object or workflow key, an idempotency key, a state key and a
	// durable promise's name.
	MaxKeyBytes = 4096
	// MaxNameBytes bounds a service or handler name.
	MaxNameBytes = 255
	// MaxEntryBytes bounds one encoded journal entry: a handler's input, a Run's result, a state
	// value, a completion, an output. The ingress's own body limit (10 MiB) sits well inside it.
	MaxEntryBytes = 32 << 20
)

// CheckKey returns an error naming what (e.g. "object key") and the limit when s is longer than
// MaxKeyBytes, or nil.
func CheckKey(what, s string) error {
	if len(s) > MaxKeyBytes {
		return fmt.Errorf("the %s is %d bytes long, over the limit of %d bytes", what, len(s), MaxKeyBytes)
	}
	return nil
}

// CheckName returns an error naming what (e.g. "service name") and the limit when s is longer
// than MaxNameBytes, or nil.
func CheckName(what, s string) error {
	if len(s) > MaxNameBytes {
		return fmt.Errorf("the %s is %d bytes long, over the limit of %d bytes", what, len(s), MaxNameBytes)
	}
	return nil
}
