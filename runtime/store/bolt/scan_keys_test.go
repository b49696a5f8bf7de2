package bolt_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsim/vigil/runtime/store"
	"github.com/vigilsim/vigil/runtime/store/bolt"
)

// TestScanAfterManyApplies: Scan sees the overlay's keys in order and exactly, whether they were
// added in order or not, sorted at an earlier Scan or not, fewer or more than a fold's worth, and
// across checkpoints that take keys out of the overlay (a small log) or none (a large one).
func TestScanAfterManyApplies(t *testing.T) {
	for _, logBytes := range []int64{bolt.MinLogBytes, bolt.DefaultLogBytes} {
		t.Run(fmt.Sprint(logBytes), func(t *testing.T) {
			s, err := bolt.Open(filepath.Join(t.TempDir(), "vigil.db"), bolt.Options{LogBytes: logBytes, NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			defer mustClose(t, s)
			rng := rand.New(rand.NewPCG(1, uint64(logBytes)))
			prefixes := []string{"a/", "b/", "ret/"}
			model := map[string]string{}
			for step := range 3000 {
				key := fmt.Sprintf("%s%05d", prefixes[rng.IntN(len(prefixes))], rng.IntN(2000))
				if rng.IntN(4) == 0 {
					key = fmt.Sprintf("ret/%05d", 2000+step) // in order, after every other
				}
				op := store.Op{Key: key, Value: []byte(fmt.Sprint(step))}
				if rng.IntN(5) == 0 {
					op = store.Op{Key: key, Delete: true}
					delete(model, key)
				} else {
					model[key] = string(op.Value)
				}
				if err := s.Apply(store.Batch{op}); err != nil {
					t.Fatal(err)
				}
				if rng.IntN(7) == 0 {
					if err := s.Sync(); err != nil {
						t.Fatal(err)
					}
				}
				if rng.IntN(3) != 0 {
					continue
				}
				prefix := []string{"", "a/", "b/", "ret/", "ret/01", "c/"}[rng.IntN(6)]
				var want, got []string
				for _, k := range slices.Sorted(maps.Keys(model)) {
					if strings.HasPrefix(k, prefix) {
						want = append(want, k+"="+model[k])
					}
				}
				if err := s.Scan(prefix, func(k string, v []byte) error {
					got = append(got, k+"="+string(v))
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("step %d: Scan(%q) = %d records, want %d:\ngot  %q\nwant %q", step, prefix, len(got), len(want), got, want)
				}
			}
		})
	}
}
