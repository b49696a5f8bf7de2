package mem_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilsim/vigil/runtime/store"
	"github.com/vigilsim/vigil/runtime/store/mem"
	"github.com/vigilsim/vigil/runtime/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return mem.New() })
}

// TestContractAfterCrash runs the suite on stores that have been through crashes, so the
// state Crash rebuilds is held to the same contract as a fresh one.
func TestContractAfterCrash(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := mem.New()
		mustApply(t, s, put("x", "1"))
		mustSync(t, s)
		mustApply(t, s, del("x"))
		s.Crash(0)
		mustApply(t, s, del("x"))
		s.Crash(1)
		if s.Len() != 0 {
			t.Fatalf("setup left %d keys", s.Len())
		}
		return s
	})
}

func put(key, value string) store.Op { return store.Op{Key: key, Value: []byte(value)} }
func del(key string) store.Op        { return store.Op{Key: key, Delete: true} }

func mustApply(t *testing.T, s *mem.Store, ops ...store.Op) {
	t.Helper()
	if err := s.Apply(ops); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

func mustSync(t *testing.T, s *mem.Store) {
	t.Helper()
	if err := s.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

// state returns what Load reports as a map, checking on the way that Len and Get agree.
func state(t *testing.T, s *mem.Store) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, kv := range storetest.Dump(t, s) {
		got[kv.Key] = kv.Value
		if v, ok, _ := s.Get(kv.Key); !ok || string(v) != kv.Value {
			t.Errorf("Get(%q) = %q, %v; Load reported %q", kv.Key, v, ok, kv.Value)
		}
	}
	if s.Len() != len(got) {
		t.Errorf("Len() = %d, Load reported %d keys", s.Len(), len(got))
	}
	return got
}

func checkState(t *testing.T, s *mem.Store, want map[string]string) {
	t.Helper()
	if diff := cmp.Diff(want, state(t, s)); diff != "" {
		t.Errorf("state mismatch (-want +got):\n%s", diff)
	}
}

func TestCrash(t *testing.T) {
	// step is one Apply of batch, or a Sync.
	type step struct {
		sync  bool
		batch store.Batch
	}
	b := func(ops ...store.Op) step { return step{batch: ops} }
	sync := step{sync: true}
	tests := []struct {
		name  string
		steps []step
		keep  int
		want  map[string]string
	}{
		{
			name: "nothing applied",
			want: map[string]string{},
		},
		{
			name:  "unsynced all lost",
			steps: []step{b(put("a", "1")), b(put("b", "2"))},
			keep:  0,
			want:  map[string]string{},
		},
		{
			name:  "unsynced prefix kept",
			steps: []step{b(put("a", "1")), b(put("b", "2")), b(put("c", "3"))},
			keep:  2,
			want:  map[string]string{"a": "1", "b": "2"},
		},
		{
			name:  "unsynced all kept",
			steps: []step{b(put("a", "1")), b(put("b", "2"))},
			keep:  2,
			want:  map[string]string{"a": "1", "b": "2"},
		},
		{
			name:  "synced survives",
			steps: []step{b(put("a", "1")), sync, b(put("b", "2"))},
			keep:  0,
			want:  map[string]string{"a": "1"},
		},
		{
			name:  "lost overwrite restores the synced value",
			steps: []step{b(put("a", "1")), sync, b(put("a", "2")), b(put("a", "3"))},
			keep:  0,
			want:  map[string]string{"a": "1"},
		},
		{
			name:  "kept overwrite, lost overwrite",
			steps: []step{b(put("a", "1")), sync, b(put("a", "2")), b(put("a", "3"))},
			keep:  1,
			want:  map[string]string{"a": "2"},
		},
		{
			name:  "lost delete restores the key",
			steps: []step{b(put("a", "1"), put("b", "1")), sync, b(del("a")), b(del("b"))},
			keep:  1,
			want:  map[string]string{"b": "1"},
		},
		{
			name: "batch is all or nothing",
			steps: []step{
				b(put("a", "1")), sync,
				b(put("b", "1"), put("c", "1")),
				b(put("a", "2"), del("b"), put("d", "1"), put("d", "2")),
			},
			keep: 1,
			want: map[string]string{"a": "1", "b": "1", "c": "1"},
		},
		{
			name: "same key several times in a lost batch",
			steps: []step{
				b(put("a", "1")), sync,
				b(put("a", "2"), del("a"), put("a", "3"), put("n", "x"), del("n")),
			},
			keep: 0,
			want: map[string]string{"a": "1"},
		},
		{
			name:  "empty batches count",
			steps: []step{b(put("a", "1")), b(), b(put("b", "1"))},
			keep:  2,
			want:  map[string]string{"a": "1"},
		},
		{
			name:  "sync after everything",
			steps: []step{b(put("a", "1")), b(del("a"), put("b", "1")), sync},
			keep:  0,
			want:  map[string]string{"b": "1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mem.New()
			for _, st := range tt.steps {
				if st.sync {
					mustSync(t, s)
				} else {
					mustApply(t, s, st.batch...)
				}
			}
			s.Crash(tt.keep)
			checkState(t, s, tt.want)
			if n := s.Unsynced(); n != 0 {
				t.Errorf("Unsynced() after Crash = %d, want 0", n)
			}
			// What survived a crash is on disk: a second crash cannot lose it.
			s.Crash(0)
			checkState(t, s, tt.want)
		})
	}
}

func TestUnsynced(t *testing.T) {
	s := mem.New()
	check := func(want int) {
		t.Helper()
		if got := s.Unsynced(); got != want {
			t.Errorf("Unsynced() = %d, want %d", got, want)
		}
	}
	check(0)
	mustApply(t, s, put("a", "1"))
	mustApply(t, s)
	check(2)
	mustSync(t, s)
	check(0)
	mustApply(t, s, put("a", "2"), put("b", "2"))
	check(1)
	s.Crash(1)
	check(0)
}

func TestCrashKeepOutOfRangePanics(t *testing.T) {
	s := mem.New()
	mustApply(t, s, put("a", "1"))
	mustSync(t, s)
	mustApply(t, s, put("b", "1"))
	mustApply(t, s, put("c", "1"))
	for _, keep := range []int{-1, 3, 100} {
		got := func() (v any) {
			defer func() { v = recover() }()
			s.Crash(keep)
			return nil
		}()
		want := fmt.Sprintf("mem: Crash(%d): keep must be within [0, 2], the number of unsynced batches", keep)
		if got != want {
			t.Errorf("Crash(%d) panicked with %v, want %q", keep, got, want)
		}
	}
	// A rejected Crash changes nothing.
	if n := s.Unsynced(); n != 2 {
		t.Errorf("Unsynced() = %d, want 2", n)
	}
	checkState(t, s, map[string]string{"a": "1", "b": "1", "c": "1"})
}

func TestUsableAfterCrash(t *testing.T) {
	s := mem.New()
	mustApply(t, s, put("a", "1"))
	mustSync(t, s)
	mustApply(t, s, put("b", "1"))
	s.Crash(0)

	mustApply(t, s, put("c", "1"))
	mustApply(t, s, put("a", "2"))
	checkState(t, s, map[string]string{"a": "2", "c": "1"})
	s.Crash(1)
	checkState(t, s, map[string]string{"a": "1", "c": "1"})
	mustApply(t, s, del("a"))
	mustSync(t, s)
	s.Crash(0)
	checkState(t, s, map[string]string{"c": "1"})
}

func TestCrashReopensClosedStore(t *testing.T) {
	s := mem.New()
	mustApply(t, s, put("a", "1"))
	mustSync(t, s)
	mustApply(t, s, put("b", "1"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Apply(store.Batch{put("c", "1")}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Apply after Close = %v, want ErrClosed", err)
	}
	// Len, Get and Unsynced inspect the disk, so they still answer on a closed store.
	if s.Len() != 2 || s.Unsynced() != 1 {
		t.Errorf("closed store: Len() = %d, Unsynced() = %d; want 2, 1", s.Len(), s.Unsynced())
	}
	s.Crash(0)
	mustApply(t, s, put("c", "1"))
	checkState(t, s, map[string]string{"a": "1", "c": "1"})
}

func TestGet(t *testing.T) {
	s := mem.New()
	if v, ok, _ := s.Get("a"); ok || v != nil {
		t.Errorf("Get of a missing key = %q, %v", v, ok)
	}
	mustApply(t, s, put("a", "1"), store.Op{Key: "empty", Value: []byte{}})
	v, ok, _ := s.Get("a")
	if !ok || string(v) != "1" {
		t.Fatalf("Get(a) = %q, %v", v, ok)
	}
	v[0] = 'X' // Get returns a copy
	if v, _, _ := s.Get("a"); string(v) != "1" {
		t.Errorf("modifying Get's result changed the store: %q", v)
	}
	if v, ok, _ := s.Get("empty"); !ok || len(v) != 0 {
		t.Errorf("Get(empty) = %q, %v", v, ok)
	}
}

// TestLoadValueIsScratch pins the reason Load reuses one buffer: a caller that retains a value
// sees it overwritten, as it would with a memory-mapped store, and writing into a value leaves
// the store intact.
func TestLoadValueIsScratch(t *testing.T) {
	s := mem.New()
	mustApply(t, s, put("a", "aaaa"), put("b", "bbbb"))
	var retained []byte
	err := s.Load(func(key string, value []byte) error {
		if key == "a" {
			retained = value
			value[0] = 'X'
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(retained) == "Xaaa" || string(retained) == "aaaa" {
		t.Errorf("retained value still reads %q; expected the next key to overwrite it", retained)
	}
	checkState(t, s, map[string]string{"a": "aaaa", "b": "bbbb"})
}

// TestKeyOrderMaintained covers the sorted key list's fast path (ascending inserts) and its
// fall-backs (a smaller key, deletes, keys restored by Crash).
func TestKeyOrderMaintained(t *testing.T) {
	s := mem.New()
	keys := func() []string {
		var ks []string
		for _, kv := range storetest.Dump(t, s) {
			ks = append(ks, kv.Key)
		}
		return ks
	}
	checkKeys := func(want ...string) {
		t.Helper()
		if diff := cmp.Diff(want, keys()); diff != "" {
			t.Errorf("keys (-want +got):\n%s", diff)
		}
	}
	mustApply(t, s, put("b", ""), put("c", ""))
	checkKeys("b", "c")
	mustApply(t, s, put("d", ""))
	checkKeys("b", "c", "d")
	mustApply(t, s, put("a", ""))
	checkKeys("a", "b", "c", "d")
	mustSync(t, s)
	mustApply(t, s, del("b"), put("e", ""))
	checkKeys("a", "c", "d", "e")
	s.Crash(0)
	checkKeys("a", "b", "c", "d")
}

func TestConcurrentUse(t *testing.T) {
	s := mem.New()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				k := fmt.Sprintf("g%d/%03d", g, i)
				if err := s.Apply(store.Batch{put(k, "v")}); err != nil {
					t.Error(err)
					return
				}
				if i%10 == 0 {
					_ = s.Sync()
					_ = s.Load(func(string, []byte) error { return nil })
					_ = s.Len()
					_, _, _ = s.Get(k)
					_ = s.Unsynced()
				}
			}
		})
	}
	wg.Wait()
	if s.Len() != 800 {
		t.Errorf("Len() = %d, want 800", s.Len())
	}
}

func TestApplyAllocs(t *testing.T) {
	s := mem.New()
	b := store.Batch{put("a", "1"), put("b", "2"), del("c")}
	for range 10 { // grow the undo log and the map first
		mustApply(t, s, b...)
	}
	mustSync(t, s)
	allocs := testing.AllocsPerRun(100, func() {
		_ = s.Apply(b)
		_ = s.Sync()
	})
	// Values are cut from chunks (one allocation per 16 KiB written); the undo log and batch
	// list reuse their arrays.
	if allocs >= 1 {
		t.Errorf("Apply+Sync allocated %v times, want less than once on average", allocs)
	}
}

func BenchmarkApplySync(b *testing.B) {
	// Shaped like the simulator's load: a few journal writes per engine step, a sync every few.
	s := mem.New()
	value := make([]byte, 100)
	keys := make([]string, 4000)
	for i := range keys {
		keys[i] = fmt.Sprintf("inv%d/journal/%d", i/4, i%4)
	}
	var batch store.Batch
	b.ReportAllocs()
	for i := range b.N {
		batch = batch[:0]
		for j := range 4 {
			batch = append(batch, store.Op{Key: keys[(i%1000)*4+j], Value: value})
		}
		if err := s.Apply(batch); err != nil {
			b.Fatal(err)
		}
		if i%4 == 3 {
			if err := s.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	s := mem.New()
	for i := range 100_000 {
		if err := s.Apply(store.Batch{put(fmt.Sprintf("key%08d", (i*7919)%100_000), "v")}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		if err := s.Load(func(string, []byte) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// AppendValue reads as Get does, into the caller's buffer: the value appended, dst unchanged
// for a missing key and for a damaged value, whose error is Get's.
func TestAppendValueReadsAsGet(t *testing.T) {
	s := mem.New()
	if err := s.Apply(store.Batch{{Key: "a", Value: []byte("one")}, {Key: "b", Value: []byte("two")}}); err != nil {
		t.Fatal(err)
	}
	read := func(dst []byte, key string, wantOK bool, want string) []byte {
		t.Helper()
		got, ok, err := s.AppendValue(dst, []byte(key))
		if err != nil || ok != wantOK || string(got) != want {
			t.Fatalf("AppendValue(%q) = %q, %v, %v; want %q, %v, nil", key, got, ok, err, want, wantOK)
		}
		return got
	}
	buf := read([]byte("x"), "a", true, "xone")
	buf = read(buf, "b", true, "xonetwo")
	buf = read(buf, "c", false, "xonetwo")

	if !s.FlipBit("a", 1) {
		t.Fatal("FlipBit found no key a")
	}
	_, _, getErr := s.Get("a")
	got, ok, err := s.AppendValue(buf, []byte("a"))
	if err == nil || getErr == nil || err.Error() != getErr.Error() || !errors.Is(err, store.ErrChecksum) {
		t.Fatalf("AppendValue of a damaged value: %v; Get: %v", err, getErr)
	}
	if ok || string(got) != "xonetwo" {
		t.Fatalf("AppendValue of a damaged value = %q, %v; want dst unchanged, false", got, ok)
	}
}
