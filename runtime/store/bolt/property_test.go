package bolt_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/runtime/store"
	"github.com/vigilsim/vigil/runtime/store/bolt"
	"github.com/vigilsim/vigil/runtime/store/storetest"
)

// TestCrashProperty applies random batches over a small key space with random Syncs, crashes
// (abandon and reopen) and clean restarts (Close and reopen), and checks the store against the
// model after every step and after a final crash. It runs with NoSync: what it tests is which
// batches reach the file, and a process crash (which abandon is) loses nothing the kernel has,
// fsync or not.
func TestCrashProperty(t *testing.T) {
	batch := storetest.Batches("a", "b", "c", "d", "e", "f", "\x00", "\xff", "a\x00", "long/"+string(make([]byte, 100)))

	rapid.Check(t, func(rt *rapid.T) {
		dir, err := os.MkdirTemp(t.TempDir(), "prop")
		if err != nil {
			rt.Fatal(err)
		}
		path := filepath.Join(dir, "vigil.db")
		reopen := func() *bolt.Store {
			s, err := bolt.Open(path, bolt.Options{NoSync: true, LogBytes: bolt.MinLogBytes})
			if err != nil {
				rt.Fatalf("Open: %v", err)
			}
			return s
		}
		s := reopen()
		defer func() { _ = s.Close() }()
		m := storetest.NewModel()
		check := func(when string) {
			if got, want := s.Stats().Pending, nonEmpty(m.Unsynced); got != want {
				rt.Fatalf("%s: Stats().Pending = %d, want %d", when, got, want)
			}
			if diff := cmp.Diff(m.Visible(), loadAll(rt, s)); diff != "" {
				rt.Fatalf("%s: state mismatch (-want +got):\n%s", when, diff)
			}
		}

		steps := rapid.IntRange(0, 50).Draw(rt, "steps")
		for range steps {
			switch rapid.IntRange(0, 9).Draw(rt, "action") {
			case 0, 1:
				if err := s.Sync(); err != nil {
					rt.Fatal(err)
				}
				m.Sync()
			case 2:
				if err := bolt.Abandon(s); err != nil {
					rt.Fatal(err)
				}
				s = reopen()
				m.Crash(0) // an abandoned store keeps no unsynced batch
			case 3:
				if err := s.Close(); err != nil {
					rt.Fatal(err)
				}
				s = reopen()
				m.Sync() // Close commits what is pending
			default:
				b := batch.Draw(rt, "batch")
				if err := s.Apply(b); err != nil {
					rt.Fatal(err)
				}
				m.Applied(b)
			}
			check("after step")
		}

		if err := bolt.Abandon(s); err != nil {
			rt.Fatal(err)
		}
		s = reopen()
		m.Crash(0) // an abandoned store keeps no unsynced batch
		check("after the final crash")
	})
}

// nonEmpty counts the batches that are not empty: the store does not queue empty ones.
func nonEmpty(bs []store.Batch) int {
	n := 0
	for _, b := range bs {
		if len(b) > 0 {
			n++
		}
	}
	return n
}

// loadAll returns what Load reports, checking that keys come in strictly ascending order and
// that Get and Scan agree.
func loadAll(rt *rapid.T, s *bolt.Store) map[string]string {
	got := storetest.LoadOrdered(rt, s)
	for k, v := range got {
		if g, ok, err := s.Get(k); err != nil || !ok || string(g) != v {
			rt.Fatalf("Get(%q) = %q, %v, %v; Load reported %q", k, g, ok, err, v)
		}
	}
	for _, prefix := range []string{"a", "long/", "\x00", "\xff", "b"} {
		want := map[string]string{}
		for k, v := range got {
			if strings.HasPrefix(k, prefix) {
				want[k] = v
			}
		}
		scanned := map[string]string{}
		if err := s.Scan(prefix, func(k string, v []byte) error { scanned[k] = string(v); return nil }); err != nil {
			rt.Fatalf("Scan(%q): %v", prefix, err)
		}
		if diff := cmp.Diff(want, scanned); diff != "" {
			rt.Fatalf("Scan(%q) differs from Load (-load +scan):\n%s", prefix, diff)
		}
	}
	return got
}
