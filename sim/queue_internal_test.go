package sim

import (
	"container/heap"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// refQueue is the order the event queue must keep, as a binary heap on (at, seq) spells it:
// the queue was that heap before it became a sorted array.
type refQueue []queueKey

func (r refQueue) Len() int           { return len(r) }
func (r refQueue) Less(i, j int) bool { return r[i].before(&r[j]) }
func (r refQueue) Swap(i, j int)      { r[i], r[j] = r[j], r[i] }
func (r *refQueue) Push(x any)        { *r = append(*r, x.(queueKey)) }
func (r *refQueue) Pop() any {
	old := *r
	k := old[len(old)-1]
	*r = old[:len(old)-1]
	return k
}

// drawnTies is a tie source that rapid draws, so that shrinking reaches the seqs too.
type drawnTies struct{ t *rapid.T }

func (d drawnTies) Draw(n uint64, label string) uint64 {
	// Few distinct bits, so that seqs of one instant interleave with pushes at later ones; the
	// counter above them keeps them unique, as 64 drawn bits are in a run.
	return rapid.Uint64Range(0, 7).Draw(d.t, label)
}

// TestQueueOrderIsHeapOrder pushes and pops events as a run does — due now, soon, at an instant
// already queued, or much later, in push order or in a drawn order of ties, the queue filling up
// and draining (so that its keys move to either side) — and wants each pop to be the event the
// reference heap pops: the same due time, the same seq, the same event. A planted bug that
// inserts one place too late fails it at once.
func TestQueueOrderIsHeapOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var q eventQueue
		var ref refQueue
		shuffled := rapid.Bool().Draw(t, "ties")
		var unique uint64
		if shuffled {
			q.ties = tieSource{drawnTies{t}, &unique}
		}
		var now time.Duration
		var pushed []time.Duration // due times queued so far, for pushes at an instant already queued
		for i := range rapid.IntRange(1, 300).Draw(t, "ops") {
			if q.Len() > 0 && rapid.IntRange(0, 9).Draw(t, "pop") < 4 {
				want := heap.Pop(&ref).(queueKey)
				slot := q.next()
				e := &q.slots[slot]
				if e.at != want.at || e.seq != want.seq || e.gen != uint64(want.slot) {
					t.Fatalf("pop %d: event %d due %v seq %d, the heap pops event %d due %v seq %d", i, e.gen, e.at, e.seq, want.slot, want.at, want.seq)
				}
				now = e.at
				q.release(slot)
				continue
			}
			at := now
			switch rapid.IntRange(0, 3).Draw(t, "when") {
			case 0: // now
			case 1:
				at = now + time.Duration(rapid.IntRange(1, 20).Draw(t, "soon"))*time.Millisecond
			case 2:
				if len(pushed) > 0 {
					at = max(now, pushed[rapid.IntRange(0, len(pushed)-1).Draw(t, "same")])
				}
			case 3:
				at = now + time.Duration(rapid.IntRange(1, 1000).Draw(t, "later"))*time.Second
			}
			pushed = append(pushed, at)
			s := q.add(at)
			s.kind, s.gen = evCall, uint64(i)
			heap.Push(&ref, queueKey{at: at, seq: s.seq, slot: int32(i)})
		}
		if q.Len() != ref.Len() {
			t.Fatalf("the queue holds %d events, the heap %d", q.Len(), ref.Len())
		}
	})
}

// tieSource makes the drawn seqs unique, as the queue needs (see eventQueue): the drawn bits
// above a counter.
type tieSource struct {
	d      drawnTies
	unique *uint64
}

func (s tieSource) Draw(n uint64, label string) uint64 {
	*s.unique++
	return s.d.Draw(n, label)<<32 | *s.unique
}
