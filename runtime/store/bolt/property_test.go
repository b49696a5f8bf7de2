package bolt_test

import (
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/runtime/store"
	"github.com/vigilsim/vigil/runtime/store/bolt"
)

// model is the specification of the bolt store's crash semantics: the durable state, plus
// every batch applied since the last sync. Unlike store/mem, a crash keeps none of the
// unsynced batches, exactly the synced ones.
type model struct {
	durable  map[string]string
	unsynced []store.Batch
}

func applyTo(m map[string]string, b store.Batch) {
	for _, op := range b {
		if op.Delete {
			delete(m, op.Key)
		} else {
			m[op.Key] = string(op.Value)
		}
	}
}

func (m *model) visible() map[string]string {
	v := maps.Clone(m.durable)
	for _, b := range m.unsynced {
		applyTo(v, b)
	}
	return v
}

func (m *model) sync() {
	for _, b := range m.unsynced {
		applyTo(m.durable, b)
	}
	m.unsynced = nil
}

func (m *model) crash() { m.unsynced = nil }

// TestCrashProperty applies random batches over a small key space with random Syncs, crashes
// (abandon and reopen) and clean restarts (Close and reopen), and checks the store against the
// model after every step and after a final crash. It runs with NoSync: what it tests is which
// batches reach the file, and a process crash (which abandon is) loses nothing the kernel has,
// fsync or not.
func TestCrashProperty(t *testing.T) {
	key := rapid.SampledFrom([]string{"a", "b", "c", "d", "e", "f", "\x00", "\xff", "a\x00", "long/" + string(make([]byte, 100))})
	op := rapid.Custom(func(t *rapid.T) store.Op {
		if rapid.IntRange(0, 3).Draw(t, "kind") == 0 {
			return store.Op{Key: key.Draw(t, "key"), Delete: true}
		}
		return store.Op{Key: key.Draw(t, "key"), Value: rapid.SliceOfN(rapid.Byte(), 0, 8).Draw(t, "value")}
	})
	batch := rapid.Map(rapid.SliceOfN(op, 0, 5), func(ops []store.Op) store.Batch { return ops })

	rapid.Check(t, func(rt *rapid.T) {
		dir, err := os.MkdirTemp(t.TempDir(), "prop")
		if err != nil {
			rt.Fatal(err)
		}
		path := filepath.Join(dir, "vigil.db")
		reopen := func() *bolt.Store {
			s, err := bolt.Open(path, bolt.Options{NoSync: true})
			if err != nil {
				rt.Fatalf("Open: %v", err)
			}
			return s
		}
		s := reopen()
		defer func() { _ = s.Close() }()
		m := &model{durable: map[string]string{}}
		check := func(when string) {
			if got, want := s.Stats().Pending, nonEmpty(m.unsynced); got != want {
				rt.Fatalf("%s: Stats().Pending = %d, want %d", when, got, want)
			}
			if diff := cmp.Diff(m.visible(), loadAll(rt, s)); diff != "" {
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
				m.sync()
			case 2:
				if err := bolt.Abandon(s); err != nil {
					rt.Fatal(err)
				}
				s = reopen()
				m.crash()
			case 3:
				if err := s.Close(); err != nil {
					rt.Fatal(err)
				}
				s = reopen()
				m.sync() // Close commits what is pending
			default:
				b := batch.Draw(rt, "batch")
				if err := s.Apply(b); err != nil {
					rt.Fatal(err)
				}
				// The model keeps its own copy, and the caller's buffers are then scribbled
				// over, to check that Apply copied them.
				kept := make(store.Batch, len(b))
				for i, op := range b {
					kept[i] = store.Op{Key: op.Key, Value: append([]byte(nil), op.Value...), Delete: op.Delete}
					for j := range op.Value {
						op.Value[j] = 0xAA
					}
				}
				m.unsynced = append(m.unsynced, kept)
			}
			check("after step")
		}

		if err := bolt.Abandon(s); err != nil {
			rt.Fatal(err)
		}
		s = reopen()
		m.crash()
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
// that Get agrees.
func loadAll(rt *rapid.T, s *bolt.Store) map[string]string {
	got := map[string]string{}
	prev, first := "", true
	err := s.Load(func(key string, value []byte) error {
		if !first && key <= prev {
			rt.Fatalf("Load reported %q after %q", key, prev)
		}
		prev, first = key, false
		got[key] = string(value)
		return nil
	})
	if err != nil {
		rt.Fatal(err)
	}
	for k, v := range got {
		if g, ok, err := s.Get(k); err != nil || !ok || string(g) != v {
			rt.Fatalf("Get(%q) = %q, %v, %v; Load reported %q", k, g, ok, err, v)
		}
	}
	return got
}
