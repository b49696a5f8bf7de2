package engine

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/runtime/store"
)

// TestDamagedRecordIsFormatted holds damagedRecord to the fmt.Sprintf it replaces, for any key
// (quoting included) and checksum error.
func TestDamagedRecordIsFormatted(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		key := rapid.String().Draw(t, "key")
		ce := &store.ChecksumError{Key: key, Value: rapid.SliceOf(rapid.Byte()).Draw(t, "value"), Why: rapid.String().Draw(t, "why")}
		if got, want := damagedRecord(key, ce.Error()), fmt.Sprintf("record %q is damaged: %v", key, ce); got != want {
			t.Fatalf("damagedRecord = %q, fmt writes %q", got, want)
		}
	})
}
