package checkers

import (
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/runtime/journal"
)

// TestIndexRequestTable looks requests up by number, with numbers that run from 1 (a slot per
// number) and numbers far apart (a map): the first request and response of each number count,
// a response may have no request, and a number nobody used has neither and means nothing.
func TestIndexRequestTable(t *testing.T) {
	for _, base := range []uint64{0, 1 << 40} {
		var b builder
		n1, n2, n3 := base+1, base+2, base+3
		r1 := b.request(n1, "POST /svc/h", "svc", "h", "", "")
		r2 := b.request(n2, "POST /svc/h", "svc", "h", "", "k1")
		b.request(n1, "POST /svc/h", "svc", "h", "", "again")
		p1 := b.respondOutput(n1, invA, `"v"`)
		b.respondStatus(n1, 500)
		p3 := b.respondStatus(n3, 0)
		x := NewIndex(&b.h)

		if got, ok := x.FirstRequest(n1); !ok || got != r1 {
			t.Errorf("base %d: first request of %d = %d, %v, want %d", base, n1, got, ok, r1)
		}
		if got, ok := x.FirstRequest(n2); !ok || got != r2 {
			t.Errorf("base %d: first request of %d = %d, %v, want %d", base, n2, got, ok, r2)
		}
		if _, ok := x.FirstRequest(n3); ok {
			t.Errorf("base %d: request %d was never sent", base, n3)
		}
		if got, ok := x.FirstResponse(n1); !ok || got != p1 {
			t.Errorf("base %d: first response of %d = %d, %v, want %d", base, n1, got, ok, p1)
		}
		if _, ok := x.FirstResponse(n2); ok {
			t.Errorf("base %d: request %d got no response", base, n2)
		}
		if got, ok := x.FirstResponse(n3); !ok || got != p3 {
			t.Errorf("base %d: first response of %d = %d, %v, want %d", base, n3, got, ok, p3)
		}
		if pr := x.Parsed(n2); pr.Kind != RequestCall || pr.IdempotencyKey != "k1" {
			t.Errorf("base %d: request %d parsed as %+v", base, n2, pr)
		}
		if pr := x.Parsed(n1); pr.IdempotencyKey != "" {
			t.Errorf("base %d: request %d is read from its first sending, got %+v", base, n1, pr)
		}
		for _, n := range []uint64{n3, base + 99, 0, 1<<64 - 1} {
			if pr := x.Parsed(n); pr.Kind != RequestInvalid || pr.Service != "" {
				t.Errorf("base %d: request %d was never sent, yet parsed as %+v", base, n, pr)
			}
		}
		if len(x.RequestOrder) != 2 || x.RequestOrder[0] != n1 || x.RequestOrder[1] != n2 {
			t.Errorf("base %d: request order %v", base, x.RequestOrder)
		}
		if !x.requestRepeats {
			t.Errorf("base %d: request %d was sent twice", base, n1)
		}
		if (x.reqDense != nil) != (base == 0) {
			t.Errorf("base %d: dense table %v", base, x.reqDense != nil)
		}
	}
}

// TestIndexEmittedLists holds Emitted to the list of every emission at each slot, in history
// order, when one slot is emitted again and again (its list moved through the index's room
// until that runs out, then to the heap) among slots emitted once, and with two indexes built
// on one after the other: no list may lose, mix up or share another slot's elements, and an
// append to one must not write over another.
func TestIndexEmittedLists(t *testing.T) {
	var b builder
	want := map[Slot][]int{}
	e := journal.Entry{Kind: journal.KindRun}
	for a := uint32(1); a <= 7; a++ {
		i := b.emit(invA, a, 1, e)
		want[Slot{invA, 1}] = append(want[Slot{invA, 1}], i)
		i = b.emit(invB, a, a, e)
		want[Slot{invB, a}] = append(want[Slot{invB, a}], i)
	}
	var x Index
	for range 2 {
		x.build(&b.h, nil)
		if x.Emitted.Len() != len(want) {
			t.Fatalf("Emitted has %d slots, want %d", x.Emitted.Len(), len(want))
		}
		for s, w := range want {
			if got := x.Emitted.Get(s); !slices.Equal(got, w) {
				t.Fatalf("Emitted[%v] = %v, want %v", s, got, w)
			}
		}
		for s := range want {
			*x.Emitted.m.ref(s) = append(x.Emitted.Get(s), -1)
		}
		for s, w := range want {
			if got := x.Emitted.Get(s); !slices.Equal(got[:len(got)-1], w) {
				t.Fatalf("after appends, Emitted[%v] = %v, want %v and -1", s, got, w)
			}
		}
	}
}

// TestIndexKindsAndMerge holds one index, rebuilt for history after history of random kinds
// (kinds added later, up to 255, among them), to the history itself: ofKind lists the events of
// a kind in history order, none for a kind the history lacks, and eachOfKinds visits the events
// of a few kinds in history order. It fails with the kinds' merge picking the later event.
func TestIndexKindsAndMerge(t *testing.T) {
	var x Index
	rapid.Check(t, func(t *rapid.T) {
		kinds := rapid.SliceOfNDistinct(rapid.Uint8(), 1, 6, rapid.ID[uint8]).Draw(t, "kinds")
		evs := rapid.SliceOfN(rapid.SampledFrom(kinds), 0, 60).Draw(t, "events")
		h := History{Events: make([]Event, len(evs))}
		for i, k := range evs {
			h.Events[i].Kind = EventKind(k)
		}
		x.build(&h, nil)
		for k := range 256 {
			var want []int
			for i := range h.Events {
				if h.Events[i].Kind == EventKind(k) {
					want = append(want, i)
				}
			}
			if got := x.ofKind(EventKind(k)); !slices.Equal(got, want) {
				t.Fatalf("ofKind(%d) = %v, want %v", k, got, want)
			}
		}
		// Some of the history's kinds, and maybe one it lacks.
		some := rapid.SliceOfNDistinct(rapid.SampledFrom(kinds), 0, 6, rapid.ID[uint8]).Draw(t, "some")
		if rapid.Bool().Draw(t, "past the merge") { // more kinds than it merges: the filtered walk
			for len(some) <= maxMergedKinds {
				if k := rapid.Uint8().Draw(t, "extra"); !slices.Contains(some, k) {
					some = append(some, k)
				}
			}
		}
		var ks []EventKind
		for _, k := range some {
			ks = append(ks, EventKind(k))
		}
		if other := EventKind(rapid.Uint8().Draw(t, "other")); !slices.Contains(ks, other) {
			ks = append(ks, other)
		}
		var want, got []int
		for i := range h.Events {
			if slices.Contains(ks, h.Events[i].Kind) {
				want = append(want, i)
			}
		}
		x.eachOfKinds(ks, func(i int) { got = append(got, i) })
		if !slices.Equal(got, want) {
			t.Fatalf("eachOfKinds(%v) visits %v, want %v", ks, got, want)
		}
	})
}

// TestCompletionFactsGroupsEachAwakeable holds completionFacts to its definition over random
// histories, short (sorted by insertion) and long (by SortFunc): each awakeable's list is its
// CompletionAccepted, CompletionBuffered and CompletionDropped events in history order, and no
// other awakeable has a list. Invocations differ in their first bytes, their last, or not at
// all, so that both words of factPrecedes's comparison decide.
func TestCompletionFactsGroupsEachAwakeable(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var h History
		kinds := []EventKind{CompletionAccepted, CompletionBuffered, CompletionDropped, ValueObserved}
		for range rapid.IntRange(0, 40).Draw(t, "events") {
			e := Event{Kind: kinds[rapid.IntRange(0, len(kinds)-1).Draw(t, "kind")], Index: rapid.Uint32Range(0, 3).Draw(t, "index")}
			e.Invocation[0] = byte(rapid.IntRange(0, 2).Draw(t, "first"))
			e.Invocation[15] = byte(rapid.IntRange(0, 2).Draw(t, "last"))
			h.Events = append(h.Events, e)
		}
		want := map[Slot][]int{}
		for i, e := range h.Events {
			if e.Kind != ValueObserved {
				s := Slot{e.Invocation, e.Index}
				want[s] = append(want[s], i)
			}
		}
		x := NewIndex(&h)
		facts := x.completionFacts()
		if len(facts.keys) != len(want) {
			t.Fatalf("%d awakeables have facts, want %d", len(facts.keys), len(want))
		}
		for s, w := range want {
			if got := facts.get(s); !slices.Equal(got, w) {
				t.Fatalf("facts of %v: %v, want %v", s, got, w)
			}
		}
	})
}
