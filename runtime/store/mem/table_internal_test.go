package mem

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

// TestCellTableIsAMap holds cellTable to the map it replaced, through growth from empty to a
// few hundred keys of every length (short ones hash byte by byte, long ones by words), refills
// that keep some cells (as compact does) and clears (as Reset does): get finds exactly the cell
// filed under its key, and nil for every other.
func TestCellTableIsAMap(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		var tab cellTable
		model := map[string]*cell{}
		// Keys are numbered: a fresh one is the next number, so that the table grows past a few
		// hundred cells; a key drawn again may have been filed, or never.
		next := 0
		prefix := rapid.SampledFrom([]string{"", "k", "jnl/0123456789abcdef0123456789abcdef/"})
		key := rapid.Custom(func(t *rapid.T) string {
			n := next
			if rapid.IntRange(0, 3).Draw(t, "again") == 3 { // rarely: rapid leans to 0
				n = rapid.IntRange(0, next+10).Draw(t, "n")
			} else {
				next++
			}
			return fmt.Sprintf("%s%d", prefix.Draw(t, "prefix"), n)
		})
		check := func(k string) {
			if got, want := tab.get(k), model[k]; got != want {
				rt.Fatalf("get(%q) = %p, want %p", k, got, want)
			}
		}
		for range rapid.IntRange(200, 600).Draw(rt, "steps") {
			// Clears and refills are rare (rapid leans to small numbers; they are the large).
			switch rapid.IntRange(0, 150).Draw(rt, "action") {
			case 150:
				tab.clear()
				clear(model)
			case 149:
				var kept []*cell
				for k, c := range model {
					if rapid.Bool().Draw(rt, "keep") {
						kept = append(kept, c)
					} else {
						delete(model, k)
					}
				}
				tab.refill(kept)
			default:
				k := key.Draw(rt, "key")
				check(k)
				if model[k] == nil {
					c := &cell{key: k}
					tab.add(c, keyHash(k))
					model[k] = c
				}
			}
			check(key.Draw(rt, "probe"))
		}
		for k := range model {
			check(k)
		}
		if tab.n != len(model) {
			rt.Fatalf("the table holds %d cells, the model %d", tab.n, len(model))
		}
	})
}
