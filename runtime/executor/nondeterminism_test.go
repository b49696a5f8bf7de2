package executor

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
)

// TestNonDeterminismText pins the error's text to the format it was spelled with before it was
// joined by hand, for entries of every shape (names, targets, values, failures, durations).
func TestNonDeterminismText(t *testing.T) {
	entries := []journal.Entry{
		{},
		{Kind: journal.KindInput, Result: journal.Result{Value: []byte(`{"document":"doc-1"}`)}},
		{Kind: journal.KindRun, Name: "request-review", Result: journal.Result{Value: []byte(`7`)}},
		{Kind: journal.KindAwakeable, Completed: true, Result: journal.Result{Failure: &journal.Failure{Code: 409, Message: "Cancelled"}}},
		{Kind: journal.KindCall, Target: "Svc/h", Name: "key", Param: journal.Result{Value: []byte(`"x"`)}},
		{Kind: journal.KindSleep, Duration: 3 * time.Second},
		{Kind: journal.KindOutput, Result: journal.Result{Failure: &journal.Failure{Code: 500, Message: "boom %d"}}},
	}
	for i, a := range entries {
		for j, b := range entries {
			index := uint32(i*1000 + j)
			detail := fmt.Sprintf("detail %d%%", j)
			want := fmt.Sprintf(nonDeterminismPrefix+" at journal index %d: journal has %s, handler produced %s (%s)", index, a, b, detail)
			if got := nonDeterminism(index, a, b, detail).Message; got != want {
				t.Fatalf("got  %q\nwant %q", got, want)
			}
		}
	}
}
