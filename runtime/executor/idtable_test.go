package executor

import (
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/runtime/protocol"
)

// TestIDTableIsAMap: whatever sets, deletes and emptyings an idTable goes through, on either side
// of its move from slice to map, it holds exactly what a map given the same operations holds.
func TestIDTableIsAMap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var tab idTable[int]
		model := map[protocol.InvocationID]int{}
		id := func() protocol.InvocationID {
			// Few enough IDs that they recur, enough to pass fewIDs.
			return protocol.InvocationID{0: 1, 15: byte(rapid.IntRange(0, 2*fewIDs+3).Draw(t, "id"))}
		}
		for i, n := 0, rapid.IntRange(0, 200).Draw(t, "ops"); i < n; i++ {
			switch rapid.IntRange(0, 9).Draw(t, "op") {
			case 0, 1, 2, 3, 4, 5:
				k, v := id(), rapid.Int().Draw(t, "v")
				tab.set(k, v)
				model[k] = v
			case 6, 7, 8:
				k := id()
				tab.delete(k)
				delete(model, k)
			case 9:
				tab = tab.emptied()
				clear(model)
			}
			if tab.len() != len(model) {
				t.Fatalf("len %d, want %d", tab.len(), len(model))
			}
			for k := range 2*fewIDs + 4 {
				key := protocol.InvocationID{0: 1, 15: byte(k)}
				got, ok := tab.get(key)
				want, wantOK := model[key]
				if ok != wantOK || got != want {
					t.Fatalf("get(%d) = %d, %t; want %d, %t", k, got, ok, want, wantOK)
				}
			}
			var ids []protocol.InvocationID
			tab.each(func(k protocol.InvocationID, v int) {
				if model[k] != v {
					t.Fatalf("each gave %v=%d, want %d", k, v, model[k])
				}
				ids = append(ids, k)
			})
			slices.SortFunc(ids, compareIDs)
			if len(slices.Compact(ids)) != len(model) {
				t.Fatalf("each gave %d distinct entries, want %d", len(ids), len(model))
			}
		}
	})
}
