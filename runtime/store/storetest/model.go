package storetest

import (
	"maps"

	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/runtime/store"
)

// Model is the plainest statement of a store's crash semantics, for property tests: the durable
// state, plus every batch applied since the last sync, kept whole. Implementations differ only in
// what a crash keeps of the unsynced batches (a prefix of them for mem, none for bolt), which
// Crash's argument says.
type Model struct {
	Durable  map[string]string
	Unsynced []store.Batch
}

// NewModel returns the model of an empty store.
func NewModel() *Model { return &Model{Durable: map[string]string{}} }

func applyTo(m map[string]string, b store.Batch) {
	for _, op := range b {
		if op.Delete {
			delete(m, op.Key)
		} else {
			m[op.Key] = string(op.Value)
		}
	}
}

// Applied records that b was applied. The model keeps its own copy of b, then overwrites the
// caller's value buffers, so that a store which kept them instead of copying shows it.
func (m *Model) Applied(b store.Batch) {
	kept := make(store.Batch, len(b))
	for i, op := range b {
		kept[i] = store.Op{Key: op.Key, Value: append([]byte(nil), op.Value...), Delete: op.Delete}
		for j := range op.Value {
			op.Value[j] = 0xAA
		}
	}
	m.Unsynced = append(m.Unsynced, kept)
}

// Visible is what Load should report now: the durable state with every unsynced batch on top.
func (m *Model) Visible() map[string]string {
	v := maps.Clone(m.Durable)
	for _, b := range m.Unsynced {
		applyTo(v, b)
	}
	return v
}

// Sync makes every unsynced batch durable.
func (m *Model) Sync() { m.Crash(len(m.Unsynced)) }

// Crash keeps the first keep unsynced batches and loses the rest.
func (m *Model) Crash(keep int) {
	for _, b := range m.Unsynced[:keep] {
		applyTo(m.Durable, b)
	}
	m.Unsynced = nil
}

// Batches draws batches of up to five puts and deletes over keys.
func Batches(keys ...string) *rapid.Generator[store.Batch] {
	key := rapid.SampledFrom(keys)
	op := rapid.Custom(func(t *rapid.T) store.Op {
		if rapid.IntRange(0, 3).Draw(t, "kind") == 0 {
			return store.Op{Key: key.Draw(t, "key"), Delete: true}
		}
		return store.Op{Key: key.Draw(t, "key"), Value: rapid.SliceOfN(rapid.Byte(), 0, 8).Draw(t, "value")}
	})
	return rapid.Map(rapid.SliceOfN(op, 0, 5), func(ops []store.Op) store.Batch { return ops })
}

// LoadOrdered returns what s.Load reports, failing t if keys do not come in strictly ascending
// order.
func LoadOrdered(t interface{ Fatalf(string, ...any) }, s store.Store) map[string]string {
	got := map[string]string{}
	prev, first := "", true
	err := s.Load(func(key string, value []byte) error {
		if !first && key <= prev {
			t.Fatalf("Load reported %q after %q", key, prev)
		}
		prev, first = key, false
		got[key] = string(value)
		return nil
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return got
}
