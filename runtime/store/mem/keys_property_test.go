package mem_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/runtime/store/mem"
	"github.com/vigilsim/vigil/runtime/store/storetest"
)

// TestScanOrderProperty drives the sorted key list through long stretches of applies, deletes,
// crashes and resets between scans, so that many keys wait for one merge (keys added out of
// order, deleted, added again, brought back or removed by a crash), and checks every scan of a
// prefix against the model: exactly its keys, each once, in ascending order.
func TestScanOrderProperty(t *testing.T) {
	keys := []string{"a", "a/1", "a/2", "a/10", "b", "b/x", "ba", "c", "\x00", "\xff"}
	batch := storetest.Batches(keys...)
	prefixes := rapid.SampledFrom([]string{"", "a", "a/", "b", "c", "z"})
	rapid.Check(t, func(rt *rapid.T) {
		s := mem.New()
		m := storetest.NewModel()
		for range rapid.IntRange(0, 80).Draw(rt, "steps") {
			switch rapid.IntRange(0, 19).Draw(rt, "action") {
			case 0:
				if err := s.Sync(); err != nil {
					rt.Fatal(err)
				}
				m.Sync()
			case 1, 2:
				keep := rapid.IntRange(0, len(m.Unsynced)).Draw(rt, "keep")
				s.Crash(keep)
				m.Crash(keep)
			case 3:
				s.Reset()
				m = storetest.NewModel()
			case 4, 5, 6:
				checkScan(rt, s, m, prefixes.Draw(rt, "prefix"))
			default:
				b := batch.Draw(rt, "batch")
				if err := s.Apply(b); err != nil {
					rt.Fatal(err)
				}
				m.Applied(b)
			}
		}
		checkScan(rt, s, m, "")
	})
}

func checkScan(rt *rapid.T, s *mem.Store, m *storetest.Model, prefix string) {
	var want, got []string
	for k := range m.Visible() {
		if strings.HasPrefix(k, prefix) {
			want = append(want, k)
		}
	}
	slices.Sort(want)
	err := s.Scan(prefix, func(key string, _ []byte) error {
		got = append(got, key)
		return nil
	})
	if err != nil {
		rt.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		rt.Fatalf("Scan(%q) keys (-model +store):\n%s", prefix, diff)
	}
}
