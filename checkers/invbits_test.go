package checkers

import (
	"testing"

	"pgregory.net/rapid"
)

// TestInvBitsActsAsASet holds invBits to a Go map of pairs over random adds (one by one and a
// word at a time, addLow), deletes and resets, with numbers on both sides of the word
// (invBitsWord) and invocation numbers past the far map's linear search: a judge whose set of
// attempts or ready entries lost or invented one would miss a violation, or report one,
// silently.
func TestInvBitsActsAsASet(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var s invBits
		type pair struct {
			inv     invNum
			attempt uint32
		}
		model := map[pair]bool{}
		inv := func() invNum { return invNum(rapid.IntRange(0, smallMapLinear+8).Draw(t, "inv")) }
		num := rapid.Uint32Range(0, 2*invBitsWord)
		for i, n := 0, rapid.IntRange(1, 300).Draw(t, "ops"); i < n; i++ {
			k := pair{inv(), num.Draw(t, "n")}
			switch op := rapid.IntRange(0, 21).Draw(t, "op"); {
			case op < 10:
				s.add(k.inv, k.attempt)
				model[k] = true
			case op < 12:
				low := rapid.Uint64().Draw(t, "low")
				s.addLow(k.inv, low)
				for b := range uint32(invBitsWord) {
					if low&(1<<b) != 0 {
						model[pair{k.inv, b}] = true
					}
				}
			case op < 20:
				s.del(k.inv, k.attempt)
				delete(model, k)
			default:
				s.reset()
				clear(model)
			}
			for j := 0; j < 4; j++ {
				q := pair{inv(), num.Draw(t, "q")}
				if got := s.has(q.inv, q.attempt); got != model[q] {
					t.Fatalf("has(%v, %d) = %v, want %v", q.inv, q.attempt, got, model[q])
				}
			}
		}
	})
}
