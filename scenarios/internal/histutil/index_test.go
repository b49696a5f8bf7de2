package histutil

import (
	"testing"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/protocol"
)

func TestIndexKeepsFirstsAndOrder(t *testing.T) {
	a, b := protocol.InvocationID{15: 1}, protocol.InvocationID{15: 2}
	h := &checkers.History{Events: []checkers.Event{
		{Kind: checkers.InvocationAccepted, Invocation: a, Service: "S"},
		{Kind: checkers.InvocationAccepted, Invocation: b, Service: "Other"},
		{Kind: checkers.CommandEmitted, Invocation: a, Index: 2},
		{Kind: checkers.TimerArmed, Invocation: a, Index: 2, Timer: event.TimerSleep},
		{Kind: checkers.TimerArmed, Invocation: a, Index: 2, Timer: event.TimerSleep}, // re-armed after a restart
		{Kind: checkers.TimerArmed, Invocation: a, Timer: event.TimerRetry},
		{Kind: checkers.CommandEmitted, Invocation: a, Index: 2},
		{Kind: checkers.CompletionAccepted, Invocation: a, Index: 1},
		{Kind: checkers.TimerFired, Invocation: a, Index: 2, Timer: event.TimerSleep},
		{Kind: checkers.InvocationDone, Invocation: b},
		{Kind: checkers.InvocationDone, Invocation: a},
		{Kind: checkers.InvocationDone, Invocation: a},
	}}
	x := NewIndex(h)
	s := Slot{Invocation: a, Index: 2}
	if x.Armed.Get(s) != 3 || x.Fired.Get(s) != 8 || x.Completed.Get(Slot{Invocation: a, Index: 1}) != 7 {
		t.Fatalf("firsts: armed %d fired %d completed %d", x.Armed.Get(s), x.Fired.Get(s), x.Completed.Get(Slot{Invocation: a, Index: 1}))
	}
	if got := x.Emitted.Get(s); len(got) != 2 || got[0] != 2 || got[1] != 6 {
		t.Fatalf("emitted %v, want [2 6]", got)
	}
	if _, ok := x.Armed.Lookup(Slot{Invocation: a}); ok {
		t.Fatal("a retry timer was indexed as a sleep")
	}
	var finished []protocol.InvocationID
	x.Finished("S", func(inv protocol.InvocationID, acc, done int) {
		if acc != 0 || done != 10 {
			t.Fatalf("Finished gave acceptance %d and output %d, want 0 and 10", acc, done)
		}
		finished = append(finished, inv)
	})
	if len(finished) != 1 || finished[0] != a {
		t.Fatalf("Finished(S) = %v, want only %v once", finished, a)
	}
}
