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
// crashes and resets between scans, so that keys are filed in every kind of place (at the end,
// right after the last one filed, elsewhere; deleted, added again, brought back or removed by a
// crash; filed at once or left for the next scan's merge) and values cut from chunks that a Reset
// frees for reuse, and checks every scan of a prefix against the model: exactly its keys, each once, in ascending order, each with its value.
func TestScanOrderProperty(t *testing.T) {
	keys := []string{"a", "a/1", "a/2", "a/10", "b", "b/x", "ba", "c", "\x00", "\xff"}
	batch := storetest.Batches(keys...)
	prefixes := rapid.SampledFrom([]string{"", "a", "a/", "b", "c", "z"})
	defer func(n int) { *mem.MaxShift = n }(*mem.MaxShift)
	rapid.Check(t, func(rt *rapid.T) {
		// How far newCell shifts keys to file a new one in place: with small limits the new
		// keys of these small stores also wait for a scan's sort and merge, as in a large one.
		*mem.MaxShift = rapid.SampledFrom([]int{0, 1, 3, 256}).Draw(rt, "maxShift")
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
	type kv struct{ Key, Value string }
	var want, got []kv
	for k, v := range m.Visible() {
		if strings.HasPrefix(k, prefix) {
			want = append(want, kv{k, v})
		}
	}
	slices.SortFunc(want, func(a, b kv) int { return strings.Compare(a.Key, b.Key) })
	err := s.Scan(prefix, func(key string, value []byte) error {
		got = append(got, kv{key, string(value)})
		return nil
	})
	if err != nil {
		rt.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		rt.Fatalf("Scan(%q) (-model +store):\n%s", prefix, diff)
	}
}
