package mem_test

import (
	"errors"
	"testing"

	"github.com/vigilsim/vigil/runtime/store"
	"github.com/vigilsim/vigil/runtime/store/mem"
	"github.com/vigilsim/vigil/runtime/store/storetest"
)

// used returns a store that has been through everything a run leaves behind: synced and unsynced
// batches, keys out of order, a failed sync and another planted, then Close.
func used(t *testing.T) *mem.Store {
	t.Helper()
	s := mem.New()
	mustApply(t, s, put("b", "1"), put("a", "2"))
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, put("c", "3"), del("b"))
	s.FailNextSync()
	if err := s.Sync(); !errors.Is(err, mem.ErrSyncFailed) {
		t.Fatalf("Sync after FailNextSync: %v, want ErrSyncFailed", err)
	}
	s.FailNextSync() // pending when Reset comes
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestContractAfterReset runs the suite on stores that were used and then Reset, so a reused
// store is held to the same contract as a fresh one.
func TestContractAfterReset(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := used(t)
		s.Reset()
		return s
	})
}

// TestResetForgetsEverything checks that nothing of a store's past is visible after Reset: no
// key, no unsynced batch for a crash to keep or drop, no failure, no pending failed sync.
func TestResetForgetsEverything(t *testing.T) {
	s := used(t)
	s.Reset()
	checkState(t, s, map[string]string{})
	if n := s.Unsynced(); n != 0 {
		t.Errorf("Unsynced after Reset = %d, want 0", n)
	}
	if s.Failed() {
		t.Error("Failed after Reset")
	}
	mustApply(t, s, put("z", "9"))
	if err := s.Sync(); err != nil {
		t.Fatalf("Sync after Reset: %v (a failed sync planted before Reset must not survive it)", err)
	}
	s.Crash(0)
	checkState(t, s, map[string]string{"z": "9"})
	if keys := s.Keys(); len(keys) != 1 || keys[0] != "z" {
		t.Errorf("Keys after Reset = %q, want [z]", keys)
	}
}
