package mem_test

import (
	"errors"
	"testing"

	"github.com/vigilsim/vigil/runtime/store"
	"github.com/vigilsim/vigil/runtime/store/mem"
	"github.com/vigilsim/vigil/runtime/store/storetest"
)

func TestContractChecksum(t *testing.T) {
	storetest.RunChecksum(t, func(*testing.T) store.Store { return mem.New() },
		func(t *testing.T, s store.Store, key string, bit int) store.Store {
			if !s.(*mem.Store).FlipBit(key, bit) {
				t.Fatalf("FlipBit(%q): no such key", key)
			}
			return s
		})
}

func TestFlipBitEveryBitDetected(t *testing.T) {
	s := mem.New()
	mustApply(t, s, put("k", "some value"), put("empty", ""))
	mustSync(t, s)
	for _, key := range []string{"k", "empty"} {
		stored := 8 * (len(key) + store.ChecksumBytes) // more bits than "empty"'s value holds: it wraps
		for bit := range stored {
			if !s.FlipBit(key, bit) {
				t.Fatal("FlipBit: no key")
			}
			if _, _, err := s.Get(key); !errors.Is(err, store.ErrChecksum) {
				t.Fatalf("Get(%q) with bit %d flipped = %v, want ErrChecksum", key, bit, err)
			}
			s.FlipBit(key, bit) // flip it back
			if _, _, err := s.Get(key); err != nil {
				t.Fatalf("Get(%q) with bit %d flipped back = %v", key, bit, err)
			}
		}
	}
	if s.FlipBit("missing", 0) {
		t.Error("FlipBit of a missing key reported true")
	}
}

// A bit flipped in a value that an unsynced write replaced is gone with it if the crash drops
// the write, and the older value comes back intact: values are never changed in place.
func TestFlipBitUnsyncedThenCrash(t *testing.T) {
	s := mem.New()
	mustApply(t, s, put("k", "old"))
	mustSync(t, s)
	mustApply(t, s, put("k", "new"))
	s.FlipBit("k", 3)
	s.Crash(0)
	if v, ok, err := s.Get("k"); err != nil || !ok || string(v) != "old" {
		t.Fatalf("Get after crash = %q, %v, %v; want the synced value", v, ok, err)
	}
}

func TestFailedSync(t *testing.T) {
	s := mem.New()
	mustApply(t, s, put("synced", "1"))
	mustSync(t, s)
	mustApply(t, s, put("a", "1"))
	mustApply(t, s, put("b", "2"))
	s.FailNextSync()
	if err := s.Sync(); !errors.Is(err, mem.ErrSyncFailed) {
		t.Fatalf("Sync = %v, want ErrSyncFailed", err)
	}
	if !s.Failed() || s.Unsynced() != 2 {
		t.Fatalf("after a failed sync: Failed %v, Unsynced %d; want true, 2 (nothing became durable)", s.Failed(), s.Unsynced())
	}
	// The store refuses to go on as if the batches were durable, a retried sync included.
	if err := s.Sync(); !errors.Is(err, mem.ErrFailed) {
		t.Errorf("second Sync = %v, want ErrFailed", err)
	}
	if err := s.Apply(store.Batch{put("c", "3")}); !errors.Is(err, mem.ErrFailed) {
		t.Errorf("Apply = %v, want ErrFailed", err)
	}
	if err := s.Load(func(string, []byte) error { return nil }); !errors.Is(err, mem.ErrFailed) {
		t.Errorf("Load = %v, want ErrFailed", err)
	}
	// A crash may drop what the failed sync covered; the store is usable again afterwards.
	s.Crash(1)
	if s.Failed() {
		t.Fatal("still failed after Crash")
	}
	checkKeys(t, s, "a", "synced")
	mustApply(t, s, put("c", "3"))
	mustSync(t, s)
	checkKeys(t, s, "a", "c", "synced")
}

func TestCrashTearing(t *testing.T) {
	for at := range 40 {
		s := mem.New()
		mustApply(t, s, put("synced", "s"))
		mustSync(t, s)
		mustApply(t, s, put("a", "1"))
		mustApply(t, s, put("b", "2"), put("synced", "changed"), del("a"))
		mustApply(t, s, put("c", "3"))
		kept, detected := s.CrashTearing(2, at)
		// The torn batch is the second: dropped whole, never half applied.
		if !detected || kept != 1 {
			t.Fatalf("at %d: CrashTearing(2) = %d, %v; want 1, true", at, kept, detected)
		}
		checkKeys(t, s, "a", "synced")
		if v, _, _ := s.Get("synced"); string(v) != "s" {
			t.Fatalf("at %d: synced = %q, want the value before the torn batch", at, v)
		}
		if s.Unsynced() != 0 {
			t.Fatalf("Unsynced after a crash = %d", s.Unsynced())
		}
	}
	s := mem.New()
	if kept, detected := s.CrashTearing(0, 5); kept != 0 || detected {
		t.Fatalf("CrashTearing(0) = %d, %v", kept, detected)
	}
}

func checkKeys(t *testing.T, s *mem.Store, want ...string) {
	t.Helper()
	var got []string
	if err := s.Load(func(k string, _ []byte) error { got = append(got, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("keys %q, want %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("keys %q, want %q", got, want)
		}
	}
}
