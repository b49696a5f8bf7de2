package histutil

import (
	"slices"
	"testing"
	"time"

	"github.com/vigilsim/vigil/checkers"
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
