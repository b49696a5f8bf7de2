package mem

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vigilsim/vigil/runtime/store"
)

// TestErrorsAreFormatted holds the store's error types to the fmt.Errorf calls they replace:
// the same text, and the same errors found through them (errors.Is).
func TestErrorsAreFormatted(t *testing.T) {
	damaged := &store.ChecksumError{Key: "k", Value: []byte("v"), Why: "CRC-32C 00000000, stored 00000001"}
	for _, batches := range []int{0, 1, 7, 300} {
		failed := &failedError{batches: batches, causes: [2]error{ErrFailed, ErrSyncFailed}}
		cases := []struct {
			name      string
			got, want error
		}{
			{"sync", &syncError{batches: batches}, fmt.Errorf("mem: sync: %w (%d batches not durable)", ErrSyncFailed, batches)},
			{"failed", failed, fmt.Errorf("%w: %w (%d unsynced batches not durable)", ErrFailed, ErrSyncFailed, batches)},
			{"op after failure", &opError{op: "apply", err: failed}, fmt.Errorf("mem: %s: %w", "apply", fmt.Errorf("%w: %w (%d unsynced batches not durable)", ErrFailed, ErrSyncFailed, batches))},
			{"closed", &opError{op: "scan", err: store.ErrClosed}, fmt.Errorf("mem: %s: %w", "scan", store.ErrClosed)},
			{"get", &opError{op: "get", err: damaged}, fmt.Errorf("mem: get: %w", damaged)},
		}
		for _, c := range cases {
			if c.got.Error() != c.want.Error() {
				t.Errorf("%s, %d batches: %q, fmt.Errorf writes %q", c.name, batches, c.got.Error(), c.want.Error())
			}
			for _, target := range []error{ErrFailed, ErrSyncFailed, store.ErrClosed, store.ErrChecksum, store.ErrInvalidBatch} {
				if errors.Is(c.got, target) != errors.Is(c.want, target) {
					t.Errorf("%s: errors.Is(%v) = %v, fmt.Errorf's %v", c.name, target, errors.Is(c.got, target), errors.Is(c.want, target))
				}
			}
			if ce, want := store.ChecksumErrors(c.got), store.ChecksumErrors(c.want); len(ce) != len(want) {
				t.Errorf("%s: %d checksum errors found, fmt.Errorf's %d", c.name, len(ce), len(want))
			}
		}
	}
}
