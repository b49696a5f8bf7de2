package fakeclock_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// check fails the test, without stopping it, when got differs from want.
func check[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, diff)
	}
}

// recovered runs f and returns what it panicked with, or nil if it returned normally.
func recovered(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}
