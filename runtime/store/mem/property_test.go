package mem_test

import (
	"maps"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/runtime/store"
	"github.com/vigilsim/vigil/runtime/store/mem"
)

// model is the specification of mem.Store's crash semantics, written as plainly as possible:
// the durable state, plus every batch applied since the last sync, kept whole.
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

// visible is what Load should report now: the durable state with every unsynced batch on top.
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

func (m *model) crash(keep int) {
	for _, b := range m.unsynced[:keep] {
		applyTo(m.durable, b)
	}
	m.unsynced = nil
}

// TestCrashProperty applies random batches over a small key space with random syncs and
// crashes, each keeping a random prefix of the unsynced batches, and checks the store against
// the model after every step and after a final crash.
func TestCrashProperty(t *testing.T) {
	key := rapid.SampledFrom([]string{"a", "b", "c", "d", "e", "f", "g", "h", "\x00", "\xff"})
	op := rapid.Custom(func(t *rapid.T) store.Op {
		if rapid.IntRange(0, 3).Draw(t, "kind") == 0 {
			return store.Op{Key: key.Draw(t, "key"), Delete: true}
		}
		return store.Op{Key: key.Draw(t, "key"), Value: rapid.SliceOfN(rapid.Byte(), 0, 8).Draw(t, "value")}
	})
	batch := rapid.Map(rapid.SliceOfN(op, 0, 5), func(ops []store.Op) store.Batch { return ops })

	rapid.Check(t, func(rt *rapid.T) {
		s := mem.New()
		m := &model{durable: map[string]string{}}
		check := func(when string) {
			if got, want := s.Unsynced(), len(m.unsynced); got != want {
				rt.Fatalf("%s: Unsynced() = %d, want %d", when, got, want)
			}
			if diff := cmp.Diff(m.visible(), loadAll(rt, s)); diff != "" {
				rt.Fatalf("%s: state mismatch (-want +got):\n%s", when, diff)
			}
		}

		steps := rapid.IntRange(0, 60).Draw(rt, "steps")
		for range steps {
			switch rapid.IntRange(0, 9).Draw(rt, "action") {
			case 0, 1:
				if err := s.Sync(); err != nil {
					rt.Fatal(err)
				}
				m.sync()
			case 2:
				keep := rapid.IntRange(0, len(m.unsynced)).Draw(rt, "keep")
				s.Crash(keep)
				m.crash(keep)
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

		keep := rapid.IntRange(0, len(m.unsynced)).Draw(rt, "finalKeep")
		s.Crash(keep)
		m.crash(keep)
		check("after the final crash")
	})
}

// loadAll returns what Load reports, checking that keys come in strictly ascending order.
func loadAll(rt *rapid.T, s *mem.Store) map[string]string {
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
	if s.Len() != len(got) {
		rt.Fatalf("Len() = %d, Load reported %d keys", s.Len(), len(got))
	}
	return got
}
