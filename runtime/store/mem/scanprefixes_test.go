package mem_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/runtime/store"
	"github.com/vigilsim/vigil/runtime/store/mem"
	"github.com/vigilsim/vigil/runtime/store/storetest"
)

// scanned is what a run of scans hands out and returns: the rows in order, the keys of the
// checksum errors in order, and the other errors' texts.
type scanned struct {
	Rows    []string
	Damaged []string
	Other   []string
}

// TestScanPrefixesIsSuccessiveScans holds ScanPrefixes to successive Scans of its prefixes, over
// stores with damaged values (FlipBit) and a callback that may stop: the same rows in the same
// order, the same damaged keys in the same order, and the same error from the callback, which
// ends both at the same row.
func TestScanPrefixesIsSuccessiveScans(t *testing.T) {
	keys := []string{"a", "a/1", "a/2", "a/10", "b", "b/x", "ba", "c", "\x00", "\xff"}
	batch := storetest.Batches(keys...)
	prefixes := rapid.SliceOfN(rapid.SampledFrom([]string{"", "a", "a/", "b", "c", "z", "\xff"}), 0, 4)
	stop := errors.New("stop")
	rapid.Check(t, func(rt *rapid.T) {
		s := mem.New()
		for range rapid.IntRange(0, 12).Draw(rt, "batches") {
			if err := s.Apply(batch.Draw(rt, "batch")); err != nil {
				rt.Fatal(err)
			}
		}
		for range rapid.IntRange(0, 2).Draw(rt, "flips") {
			s.FlipBit(rapid.SampledFrom(keys).Draw(rt, "flip"), rapid.IntRange(0, 99).Draw(rt, "bit"))
		}
		ps := prefixes.Draw(rt, "prefixes")
		stopAt := rapid.IntRange(-1, 12).Draw(rt, "stopAt") // the row whose callback fails; -1: none
		var want, got scanned
		record := func(out *scanned) func(string, []byte) error {
			return func(key string, value []byte) error {
				out.Rows = append(out.Rows, key+"="+string(value))
				if len(out.Rows)-1 == stopAt {
					return stop
				}
				return nil
			}
		}
		note := func(out *scanned, err error) {
			for _, ce := range store.ChecksumErrors(err) {
				out.Damaged = append(out.Damaged, ce.Key)
			}
			if rest := store.ExceptChecksum(err); rest != nil {
				out.Other = append(out.Other, rest.Error())
			}
		}
		for _, p := range ps {
			err := s.Scan(p, record(&want))
			note(&want, err)
			if store.ExceptChecksum(err) != nil {
				break
			}
		}
		note(&got, s.ScanPrefixes(slices.Clone(ps), record(&got)))
		if diff := cmp.Diff(want, got); diff != "" {
			rt.Fatalf("ScanPrefixes(%q) (-successive Scans +ScanPrefixes):\n%s", ps, diff)
		}
	})
}
