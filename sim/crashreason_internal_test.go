package sim

import (
	"fmt"
	"testing"
)

// crashReason, table or not, is the text the crash record always had: fmt's, from why, keep,
// unsynced and torn.
func TestCrashReasonIsFormatted(t *testing.T) {
	for _, why := range []string{"", "its store's sync failed; "} {
		for _, torn := range []string{"", ", the last of them torn and dropped"} {
			for unsynced := range 12 {
				for keep := 0; keep <= unsynced; keep++ {
					want := fmt.Sprintf("%skept %d of %d unsynced batches%s", why, keep, unsynced, torn)
					if got := crashReason(why, keep, unsynced, torn); got != want {
						t.Fatalf("crashReason(%q, %d, %d, %q) = %q, want %q", why, keep, unsynced, torn, got, want)
					}
				}
			}
		}
	}
}
