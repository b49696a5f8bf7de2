package opentable

import (
	"maps"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// TestTableIsAMap runs random Puts, Takes and Clears on a Table and on a map side by side: the
// same values come out (Take, Get), the same IDs are in, in increasing order. IDs are drawn mostly a
// little past the last one (the pattern the table is made for), sometimes far past it or
// before it (the map's part), so both the window and its fallback are exercised, and a taken
// slot must hold nothing.
func TestTableIsAMap(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		var tab Table[uint64, int]
		model := map[uint64]int{}
		next := rapid.Uint64Range(0, 1<<40).Draw(rt, "start")
		for step := range rapid.IntRange(1, 400).Draw(rt, "steps") {
			var id uint64
			switch rapid.IntRange(0, 9).Draw(rt, "where") {
			case 0:
				id = next + rapid.Uint64Range(maxSpan-4, 3*maxSpan).Draw(rt, "far")
			case 1:
				id = next - min(next, rapid.Uint64Range(0, 50).Draw(rt, "back"))
			default:
				id = next + rapid.Uint64Range(0, 3).Draw(rt, "ahead")
			}
			next = max(next, id)
			switch op := rapid.IntRange(0, 9).Draw(rt, "op"); {
			case op < 5:
				tab.Put(id, step)
				model[id] = step
			case op < 9:
				// Mostly an ID that is in, to take the window's oldest and others.
				if ids := slices.Sorted(maps.Keys(model)); len(ids) > 0 && op < 8 {
					id = ids[rapid.IntRange(0, min(len(ids)-1, 2)).Draw(rt, "nth")]
				}
				v, ok := tab.Take(id)
				mv, mok := model[id]
				delete(model, id)
				if ok != mok || v != mv {
					rt.Fatalf("Take(%d) = %d, %v; the map had %d, %v", id, v, ok, mv, mok)
				}
			default:
				tab.Clear()
				clear(model)
			}
			if got, want := tab.AppendIDs(nil), slices.Sorted(maps.Keys(model)); !slices.Equal(got, want) {
				rt.Fatalf("IDs %v, the map has %v", got, want)
			}
			for _, probe := range []uint64{id, id + 1, next} {
				v, ok := tab.Get(probe)
				if mv, mok := model[probe]; ok != mok || v != mv {
					rt.Fatalf("Get(%d) = %d, %v; the map has %d, %v", probe, v, ok, mv, mok)
				}
			}
			if tab.Len() != len(model) {
				rt.Fatalf("Len %d, the map has %d", tab.Len(), len(model))
			}
			for i := range tab.slots {
				if s := tab.slots[i]; !s.used && s.v != 0 {
					rt.Fatalf("an unused slot holds %d", s.v)
				}
			}
		}
	})
}
