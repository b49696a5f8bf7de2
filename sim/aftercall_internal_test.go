package sim

import (
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// recordCall is a Caller that notes its id when called.
type recordCall struct {
	id  int
	got *[]int
}

func (c *recordCall) Call() { *c.got = append(*c.got, c.id) }

// TestPropertyAfterCallOrder: events queued through AfterCall and After, mixed, run in due
// order, and those due at one instant in the order they were queued: an AfterCall event takes
// the place After's would have taken (the queue's order is part of every trace).
func TestPropertyAfterCallOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 30).Draw(t, "n")
		w := &World{}
		var got []int
		want := make([]int, n)
		delays := make([]time.Duration, n)
		for i := range n {
			want[i] = i
			delays[i] = time.Duration(rapid.IntRange(0, 4).Draw(t, "delay")) * time.Second
			if rapid.Bool().Draw(t, "call") {
				w.AfterCall(delays[i], &recordCall{id: i, got: &got})
			} else {
				id := i
				w.After(delays[i], func() { got = append(got, id) })
			}
		}
		slices.SortStableFunc(want, func(a, b int) int { return int(delays[a] - delays[b]) })
		for w.queue.Len() > 0 {
			slot := w.queue.next()
			ev := &w.queue.slots[slot]
			w.now = ev.at
			w.dispatch(ev)
			w.queue.release(slot)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("ran %v, want %v", got, want)
		}
	})
}
