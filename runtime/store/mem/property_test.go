package mem_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/runtime/store/mem"
	"github.com/vigilsim/vigil/runtime/store/storetest"
)

// TestCrashProperty applies random batches over a small key space with random syncs and
// crashes, each keeping a random prefix of the unsynced batches, and checks the store against
// the model after every step and after a final crash.
func TestCrashProperty(t *testing.T) {
	batch := storetest.Batches("a", "b", "c", "d", "e", "f", "g", "h", "\x00", "\xff")

	rapid.Check(t, func(rt *rapid.T) {
		s := mem.New()
		m := storetest.NewModel()
		check := func(when string) {
			if got, want := s.Unsynced(), len(m.Unsynced); got != want {
				rt.Fatalf("%s: Unsynced() = %d, want %d", when, got, want)
			}
			if diff := cmp.Diff(m.Visible(), loadAll(rt, s)); diff != "" {
				rt.Fatalf("%s: state mismatch (-want +got):\n%s", when, diff)
			}
		}

		steps := rapid.IntRange(0, 60).Draw(rt, "steps")
		for range steps {
			switch rapid.IntRange(0, 9).Draw(rt, "action") {
			case 0, 1:
				if err := s.Sync(); err != nil {
					rt.Fatal(err)
				}
				m.Sync()
			case 2:
				keep := rapid.IntRange(0, len(m.Unsynced)).Draw(rt, "keep")
				s.Crash(keep)
				m.Crash(keep)
			default:
				b := batch.Draw(rt, "batch")
				if err := s.Apply(b); err != nil {
					rt.Fatal(err)
				}
				m.Applied(b)
			}
			check("after step")
		}

		keep := rapid.IntRange(0, len(m.Unsynced)).Draw(rt, "finalKeep")
		s.Crash(keep)
		m.Crash(keep)
		check("after the final crash")
	})
}

// loadAll returns what Load reports, in ascending key order, and checks Len against it.
func loadAll(rt *rapid.T, s *mem.Store) map[string]string {
	got := storetest.LoadOrdered(rt, s)
	if s.Len() != len(got) {
		rt.Fatalf("Len() = %d, Load reported %d keys", s.Len(), len(got))
	}
	return got
}
