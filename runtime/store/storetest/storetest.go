// Package storetest is the contract test suite that every store.Store implementation must pass,
// so the engine can rely on one set of semantics whichever store its driver holds.
//
// It tests only what the store.Store interface promises to a live process. What a crash keeps
// depends on how an implementation simulates or suffers one, so each implementation tests that
// itself.
package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilsim/vigil/runtime/store"
)

// Run runs the contract suite against the stores that open returns. open is called once per
// subtest and must return a new, empty, open store; it may fail t if it cannot. Run closes
// every store it is given when the subtest ends, before any cleanup that open registered with
// t.Cleanup, so open can remove files there.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Empty", testEmpty},
		{"ApplyVisibleBeforeSync", testApplyVisibleBeforeSync},
		{"BatchAllVisible", testBatchAllVisible},
		{"Overwrite", testOverwrite},
		{"Delete", testDelete},
		{"SameKeyTwiceInBatch", testSameKeyTwiceInBatch},
		{"EmptyBatch", testEmptyBatch},
		{"EmptyValue", testEmptyValue},
		{"LoadOrder", testLoadOrder},
		{"LoadOrderAfterChanges", testLoadOrderAfterChanges},
		{"ApplyCopiesValues", testApplyCopiesValues},
		{"LargeValue", testLargeValue},
		{"KeyLimits", testKeyLimits},
		{"GetAndScan", testGetAndScan},
		{"SyncIdempotent", testSyncIdempotent},
		{"LoadErrorStopsScan", testLoadErrorStopsScan},
		{"Closed", testClosed},
		{"RandomAgainstModel", testRandomAgainstModel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			if s == nil {
				t.Fatal("open returned a nil store")
			}
			// Closing here rather than in each test also checks that a store closes cleanly
			// after whatever the test did; a test that closed it already is exempt.
			t.Cleanup(func() {
				if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

// KV is one key and its value as Load reported it.
type KV struct {
	Key   string
	Value string
}

// Dump returns everything Load reports, in the order it reports it, copying the values since
// Load's are only valid during the call. It fails t if Load fails.
func Dump(t testing.TB, s store.Store) []KV {
	t.Helper()
	var got []KV
	if err := s.Load(func(key string, value []byte) error {
		got = append(got, KV{key, string(value)})
		return nil
	}); err != nil {
		t.Fatalf("Load: %v", err)
	}
	return got
}

// apply applies the batch and fails t on error.
func apply(t *testing.T, s store.Store, b store.Batch) {
	t.Helper()
	if err := s.Apply(b); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

func put(key, value string) store.Op { return store.Op{Key: key, Value: []byte(value)} }
func del(key string) store.Op        { return store.Op{Key: key, Delete: true} }

// checkState fails t unless Load reports exactly want, in order.
func checkState(t *testing.T, s store.Store, want []KV) {
	t.Helper()
	if diff := cmp.Diff(want, Dump(t, s)); diff != "" {
		t.Errorf("Load mismatch (-want +got):\n%s", diff)
	}
}

func testEmpty(t *testing.T, s store.Store) {
	checkState(t, s, nil)
	if err := s.Sync(); err != nil {
		t.Fatalf("Sync on an empty store: %v", err)
	}
	checkState(t, s, nil)
}

func testApplyVisibleBeforeSync(t *testing.T, s store.Store) {
	apply(t, s, store.Batch{put("a", "1")})
	checkState(t, s, []KV{{"a", "1"}})
	if err := s.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	checkState(t, s, []KV{{"a", "1"}})
}

func testBatchAllVisible(t *testing.T, s store.Store) {
	var b store.Batch
	var want []KV
	for i := range 100 {
		k, v := fmt.Sprintf("k%03d", i), fmt.Sprintf("v%d", i)
		b = append(b, put(k, v))
		want = append(want, KV{k, v})
	}
	apply(t, s, b)
	checkState(t, s, want)
}

func testOverwrite(t *testing.T, s store.Store) {
	apply(t, s, store.Batch{put("a", "1"), put("b", "1")})
	apply(t, s, store.Batch{put("a", "2")})
	checkState(t, s, []KV{{"a", "2"}, {"b", "1"}})
	if err := s.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	apply(t, s, store.Batch{put("b", "longer value than before")})
	checkState(t, s, []KV{{"a", "2"}, {"b", "longer value than before"}})
	apply(t, s, store.Batch{put("b", "s")})
	checkState(t, s, []KV{{"a", "2"}, {"b", "s"}})
}

func testDelete(t *testing.T, s store.Store) {
	apply(t, s, store.Batch{put("a", "1"), put("b", "2"), put("c", "3")})
	apply(t, s, store.Batch{del("b")})
	checkState(t, s, []KV{{"a", "1"}, {"c", "3"}})

	apply(t, s, store.Batch{del("missing")})
	checkState(t, s, []KV{{"a", "1"}, {"c", "3"}})

	if err := s.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	apply(t, s, store.Batch{del("a"), del("c")})
	checkState(t, s, nil)

	apply(t, s, store.Batch{put("b", "again")})
	checkState(t, s, []KV{{"b", "again"}})
}

func testSameKeyTwiceInBatch(t *testing.T, s store.Store) {
	apply(t, s, store.Batch{put("gone", "1"), del("gone")})
	apply(t, s, store.Batch{put("back", "1"), del("back"), put("back", "2")})
	apply(t, s, store.Batch{put("twice", "1"), put("twice", "2")})
	checkState(t, s, []KV{{"back", "2"}, {"twice", "2"}})
}

func testEmptyBatch(t *testing.T, s store.Store) {
	apply(t, s, nil)
	apply(t, s, store.Batch{})
	checkState(t, s, nil)
	apply(t, s, store.Batch{put("a", "1")})
	apply(t, s, store.Batch{})
	checkState(t, s, []KV{{"a", "1"}})
}

func testEmptyValue(t *testing.T, s store.Store) {
	// A key with an empty value exists; only Delete removes a key.
	apply(t, s, store.Batch{{Key: "empty", Value: []byte{}}, {Key: "nil", Value: nil}})
	checkState(t, s, []KV{{"empty", ""}, {"nil", ""}})
}

// orderKeys are keys whose byte order differs from other plausible orders: case-insensitive,
// numeric, shortest-first, or rune-wise with invalid UTF-8.
var orderKeys = []string{
	"a", "b", "B", "ab", "a\x00", "\x00", "\x01", "\xff", "\xff\x00", "\x7f", "z",
	"é", "e\u0301", "10", "9", "1", "01", "a/b", "a-b", "a.b", "A", "aa", "aaa",
	strings.Repeat("k", 300),
}

func testLoadOrder(t *testing.T, s store.Store) {
	rng := rand.New(rand.NewPCG(7, 7))
	keys := slices.Clone(orderKeys)
	rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	// Spread the keys over several batches so no implementation gets them pre-sorted.
	for len(keys) > 0 {
		n := min(len(keys), 1+rng.IntN(4))
		var b store.Batch
		for _, k := range keys[:n] {
			b = append(b, put(k, "v"+k))
		}
		apply(t, s, b)
		keys = keys[n:]
	}
	checkState(t, s, sortedKVs(orderKeys, func(k string) string { return "v" + k }))
}

func testLoadOrderAfterChanges(t *testing.T, s store.Store) {
	apply(t, s, store.Batch{put("m", "1"), put("t", "1")})
	checkState(t, s, []KV{{"m", "1"}, {"t", "1"}})
	// A key before every other, after a Load: a cached order must not go stale.
	apply(t, s, store.Batch{put("c", "1")})
	checkState(t, s, []KV{{"c", "1"}, {"m", "1"}, {"t", "1"}})
	apply(t, s, store.Batch{put("z", "1"), del("m")})
	checkState(t, s, []KV{{"c", "1"}, {"t", "1"}, {"z", "1"}})
	apply(t, s, store.Batch{put("m", "2")})
	checkState(t, s, []KV{{"c", "1"}, {"m", "2"}, {"t", "1"}, {"z", "1"}})
}

func testApplyCopiesValues(t *testing.T, s store.Store) {
	buf := []byte("first")
	b := store.Batch{{Key: "a", Value: buf}}
	apply(t, s, b)
	copy(buf, "XXXXX")
	b[0] = put("a", "changed op")
	checkState(t, s, []KV{{"a", "first"}})

	// The usual reuse: one buffer rewritten for each batch.
	buf = buf[:0]
	buf = append(buf, "second"...)
	apply(t, s, store.Batch{{Key: "b", Value: buf}})
	buf = append(buf[:0], "third!"...)
	apply(t, s, store.Batch{{Key: "c", Value: buf}})
	clear(buf)
	checkState(t, s, []KV{{"a", "first"}, {"b", "second"}, {"c", "third!"}})
}

func testLargeValue(t *testing.T, s store.Store) {
	v := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	apply(t, s, store.Batch{{Key: "big", Value: v}, put("small", "s")})
	got := Dump(t, s)
	if len(got) != 2 || got[0].Key != "big" || got[0].Value != string(v) {
		t.Fatalf("large value did not round-trip: got %d keys", len(got))
	}
}

// testKeyLimits: a key of store.MaxKeyBytes is taken; a batch with an empty key or a longer key
// is refused whole with ErrInvalidBatch, and the store goes on as if it had never been offered.
func testKeyLimits(t *testing.T, s store.Store) {
	longest := strings.Repeat("k", store.MaxKeyBytes)
	apply(t, s, store.Batch{put(longest, "ok")})
	for _, bad := range []string{"", longest + "k"} {
		err := s.Apply(store.Batch{put("a", "1"), put(bad, "x")})
		if !errors.Is(err, store.ErrInvalidBatch) {
			t.Errorf("Apply with a key of %d bytes = %v, want ErrInvalidBatch", len(bad), err)
		}
	}
	if err := s.Sync(); err != nil {
		t.Fatalf("Sync after a refused batch: %v", err)
	}
	checkState(t, s, []KV{{longest, "ok"}})
}

// testGetAndScan: Get and Scan see every applied batch, synced or not, deletes included; Scan
// gives exactly the keys with the prefix, in order, and stops at fn's error.
func testGetAndScan(t *testing.T, s store.Store) {
	apply(t, s, store.Batch{put("a", "1"), put("ab", "2"), put("abc", "3"), put("abd", "4"), put("b", "5"), put("a\xff", "6")})
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	apply(t, s, store.Batch{del("abc"), put("abe", "7"), put("ab", "8"), put("aa", "9")})
	scan := func(prefix string) []KV {
		var got []KV
		if err := s.Scan(prefix, func(k string, v []byte) error {
			got = append(got, KV{k, string(v)})
			return nil
		}); err != nil {
			t.Fatalf("Scan(%q): %v", prefix, err)
		}
		return got
	}
	tests := []struct {
		prefix string
		want   []KV
	}{
		{"ab", []KV{{"ab", "8"}, {"abd", "4"}, {"abe", "7"}}},
		{"a", []KV{{"a", "1"}, {"aa", "9"}, {"ab", "8"}, {"abd", "4"}, {"abe", "7"}, {"a\xff", "6"}}},
		{"abc", nil},
		{"c", nil},
		{"b", []KV{{"b", "5"}}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, scan(tt.prefix)); diff != "" {
			t.Errorf("Scan(%q) (-want +got):\n%s", tt.prefix, diff)
		}
	}
	if diff := cmp.Diff(Dump(t, s), scan("")); diff != "" {
		t.Errorf("Scan(\"\") differs from Load (-load +scan):\n%s", diff)
	}
	for key, want := range map[string]string{"ab": "8", "abd": "4", "aa": "9"} {
		if v, ok, err := s.Get(key); err != nil || !ok || string(v) != want {
			t.Errorf("Get(%q) = %q, %v, %v; want %q", key, v, ok, err, want)
		}
	}
	for _, key := range []string{"abc", "zz", ""} {
		if _, ok, err := s.Get(key); err != nil || ok {
			t.Errorf("Get(%q) = _, %v, %v; want absent", key, ok, err)
		}
	}
	stop := errors.New("stop")
	n := 0
	err := s.Scan("a", func(string, []byte) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("Scan with a failing fn: %v after %d calls, want stop after 1", err, n)
	}
}

func testSyncIdempotent(t *testing.T, s store.Store) {
	apply(t, s, store.Batch{put("a", "1")})
	for i := range 3 {
		if err := s.Sync(); err != nil {
			t.Fatalf("Sync #%d: %v", i+1, err)
		}
		checkState(t, s, []KV{{"a", "1"}})
	}
}

func testLoadErrorStopsScan(t *testing.T, s store.Store) {
	apply(t, s, store.Batch{put("a", "1"), put("b", "2"), put("c", "3")})
	sentinel := errors.New("stop here")
	var seen []string
	err := s.Load(func(key string, _ []byte) error {
		seen = append(seen, key)
		if key == "b" {
			return fmt.Errorf("wrapped by fn: %w", sentinel)
		}
		return nil
	})
	if !errors.Is(err, sentinel) {
		t.Errorf("Load returned %v, want an error wrapping %v", err, sentinel)
	}
	if diff := cmp.Diff([]string{"a", "b"}, seen); diff != "" {
		t.Errorf("keys scanned (-want +got):\n%s", diff)
	}
	// A failed scan leaves the store as it was.
	checkState(t, s, []KV{{"a", "1"}, {"b", "2"}, {"c", "3"}})
}

func testClosed(t *testing.T, s store.Store) {
	apply(t, s, store.Batch{put("a", "1")})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	calls := []struct {
		name string
		call func() error
	}{
		{"Apply", func() error { return s.Apply(store.Batch{put("b", "2")}) }},
		{"Sync", s.Sync},
		{"Load", func() error {
			return s.Load(func(string, []byte) error {
				t.Error("Load on a closed store called fn")
				return nil
			})
		}},
		{"Close", s.Close},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close returned %v, want an error wrapping store.ErrClosed", c.name, err)
		}
	}
}

// testRandomAgainstModel applies seeded random batches over a small key space, so that
// overwrites and deletes collide often, and compares Load with a map after each step.
func testRandomAgainstModel(t *testing.T, s store.Store) {
	rng := rand.New(rand.NewPCG(1, 2))
	model := map[string]string{}
	buf := make([]byte, 0, 64)
	for step := range 500 {
		var b store.Batch
		// Values share one buffer, as a driver encoding a batch would reuse its scratch space;
		// the store must copy them before the next op overwrites it.
		buf = buf[:0]
		for range rng.IntN(8) {
			k := fmt.Sprintf("key%02d", rng.IntN(40))
			if rng.IntN(4) == 0 {
				b = append(b, del(k))
				delete(model, k)
				continue
			}
			start := len(buf)
			buf = fmt.Appendf(buf, "%d/%d", step, rng.IntN(1000))
			b = append(b, store.Op{Key: k, Value: buf[start:len(buf):len(buf)]})
			model[k] = string(buf[start:])
		}
		apply(t, s, b)
		if rng.IntN(5) == 0 {
			if err := s.Sync(); err != nil {
				t.Fatalf("Sync: %v", err)
			}
		}
		if rng.IntN(10) == 0 || step == 499 {
			want := sortedKVs(mapKeys(model), func(k string) string { return model[k] })
			checkState(t, s, want)
			if t.Failed() {
				t.Fatalf("diverged from the model at step %d", step)
			}
		}
	}
}

func mapKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// sortedKVs returns keys in ascending byte order, each with value(key). It returns nil, not an
// empty slice, for no keys, to compare equal with an empty Dump.
func sortedKVs(keys []string, value func(string) string) []KV {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	var kvs []KV
	for _, k := range keys {
		kvs = append(kvs, KV{k, value(k)})
	}
	return kvs
}
