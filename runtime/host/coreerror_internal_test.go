package host

import (
	"errors"
	"fmt"
	"testing"
)

// TestCoreErrorIsFormatted holds coreError to the fmt.Errorf it replaces: the same text, and
// the same error found through it.
func TestCoreErrorIsFormatted(t *testing.T) {
	cause := errors.New("disk on fire")
	for _, prefix := range []string{"sync: ", "apply batch: "} {
		got, want := &coreError{prefix: prefix, err: cause}, fmt.Errorf(prefix+"%w", cause)
		if got.Error() != want.Error() {
			t.Errorf("%q, fmt.Errorf writes %q", got.Error(), want.Error())
		}
		if !errors.Is(got, cause) {
			t.Errorf("%v does not wrap its cause", got)
		}
	}
}
