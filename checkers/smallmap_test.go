package checkers

import (
	"maps"
	"testing"

	"pgregory.net/rapid"
)

// TestSmallMapActsAsAMap holds smallMap to Go's map over random operations, across the size
// where it starts indexing its keys (smallMapLinear) and back below it, through reset: a
// checker whose state map lost or mixed up keys would miss violations silently.
func TestSmallMapActsAsAMap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var m smallMap[uint16, int]
		model := map[uint16]int{}
		// Keys from a small range, so that sets, gets and deletes meet; sizes up to ~3x the
		// linear limit.
		key := rapid.Uint16Range(0, 3*smallMapLinear)
		for i, n := 0, rapid.IntRange(1, 400).Draw(t, "ops"); i < n; i++ {
			switch op := rapid.IntRange(0, 9).Draw(t, "op"); {
			case op < 4:
				k, v := key.Draw(t, "k"), rapid.Int().Draw(t, "v")
				m.set(k, v)
				model[k] = v
			case op < 5:
				k := key.Draw(t, "k")
				*m.ref(k) += 1
				model[k]++
			case op < 7:
				k := key.Draw(t, "k")
				m.del(k)
				delete(model, k)
			case op < 8:
				mod := rapid.IntRange(2, 7).Draw(t, "mod")
				drop := func(k uint16) bool { return int(k)%mod == 0 }
				m.deleteFunc(drop)
				maps.DeleteFunc(model, func(k uint16, _ int) bool { return drop(k) })
			case op < 9:
				k := key.Draw(t, "k")
				got, ok := m.lookup(k)
				want, wantOK := model[k]
				if got != want || ok != wantOK || m.has(k) != wantOK || m.get(k) != want {
					t.Fatalf("lookup(%d) = %d, %v; the map has %d, %v", k, got, ok, want, wantOK)
				}
			default:
				if rapid.IntRange(0, 9).Draw(t, "reset?") == 0 {
					m.reset()
					clear(model)
				}
			}
			if len(m.keys) != len(model) || len(m.vals) != len(model) {
				t.Fatalf("%d keys, %d values; the map has %d", len(m.keys), len(m.vals), len(model))
			}
			for n, k := range m.keys {
				if v, ok := model[k]; !ok || v != m.vals[n] {
					t.Fatalf("entry %d is %d=%d; the map has %d, %v", n, k, m.vals[n], v, ok)
				}
				if m.indexed && m.index[k] != n {
					t.Fatalf("index says %d is at %d, it is at %d", k, m.index[k], n)
				}
			}
			if m.indexed && len(m.index) != len(m.keys) {
				t.Fatalf("index holds %d keys, the map %d", len(m.index), len(m.keys))
			}
			if !m.indexed && len(m.index) != 0 {
				t.Fatalf("a map not indexed kept %d keys in its index", len(m.index))
			}
		}
	})
}
