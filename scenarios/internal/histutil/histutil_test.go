package histutil

import (
	"slices"
	"testing"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/journal"
)

func TestPausesAndOverlaps(t *testing.T) {
	h := &checkers.History{Events: []checkers.Event{
		{At: 1 * time.Second, Kind: checkers.NodePaused, Node: "executor", Span: 2 * time.Second},
		{At: 2 * time.Second, Kind: checkers.NodePaused, Node: "runtime", Span: time.Second},
		{At: 5 * time.Second, Kind: checkers.NodePaused, Node: "executor"},
		{At: 9 * time.Second, Kind: checkers.NodeRestarted, Node: "executor"},
	}}
	got := Pauses(h, "executor")
	want := []Window{{From: 1 * time.Second, To: 3 * time.Second}, {From: 5 * time.Second, To: 9 * time.Second}}
	if !slices.Equal(got, want) {
		t.Fatalf("Pauses = %v, want %v", got, want)
	}
	for _, c := range []struct {
		from, to time.Duration
		want     bool
	}{
		{0, time.Second, true},
		{3 * time.Second, 4 * time.Second, true},
		{3500 * time.Millisecond, 4 * time.Second, false},
		{4 * time.Second, 5 * time.Second, true},
		{10 * time.Second, 11 * time.Second, false},
	} {
		if got := Overlaps(want, c.from, c.to); got != c.want {
			t.Errorf("Overlaps(%v, %v) = %v, want %v", c.from, c.to, got, c.want)
		}
	}
	if Overlaps(nil, 0, time.Hour) {
		t.Error("Overlaps(nil) = true")
	}
}

// TestIsCancelled: only the terminal error 409 "Cancelled" is Restate's cancellation.
func TestIsCancelled(t *testing.T) {
	for _, c := range []struct {
		r    journal.Result
		want bool
	}{
		{journal.Result{Failure: &journal.Failure{Code: 409, Message: "Cancelled"}}, true},
		{journal.Result{Failure: &journal.Failure{Code: 409, Message: "cancelled"}}, false},
		{journal.Result{Failure: &journal.Failure{Code: 500, Message: "Cancelled"}}, false},
		{journal.Result{Value: []byte(`"Cancelled"`)}, false},
		{journal.Result{}, false},
	} {
		if got := IsCancelled(c.r); got != c.want {
			t.Errorf("IsCancelled(%v) = %v, want %v", c.r, got, c.want)
		}
	}
}
