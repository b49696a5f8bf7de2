package approval

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

func jsonResult(v any) journal.Result {
	b, _ := json.Marshal(v)
	return journal.Result{Value: b}
}

// finished builds the history of one finished invocation: the accepted decision on its
// awakeable and its InvocationDone with the final journal and output out.
func finished(inv protocol.InvocationID, decision, out journal.Result) *checkers.History {
	j := []journal.Entry{
		{Kind: journal.KindInput, Result: jsonResult(Request{Document: "doc-1"})},
		{Kind: journal.KindAwakeable, Completed: true, Result: decision},
		{Kind: journal.KindRun, Name: "request-review", Result: jsonResult(7)},
		{Kind: journal.KindOutput, Result: out},
	}
	return &checkers.History{Events: []checkers.Event{
		{Kind: checkers.CompletionAccepted, Invocation: inv, Index: 1, Result: decision},
		{Kind: checkers.InvocationDone, Invocation: inv, Index: 3, Result: out, Journal: j},
	}}
}

// TestCheckFails shows that the scenario's own expected-outcome check fails on outputs that do
// not follow from the accepted decision, and passes on the right ones.
func TestCheckFails(t *testing.T) {
	inv := protocol.InvocationID{15: 1}
	approve := jsonResult("alice approves")
	reject := journal.Result{Failure: &journal.Failure{Code: 500, Message: "bob rejects doc-1"}}
	tests := []struct {
		name     string
		decision journal.Result
		out      journal.Result
		clients  []clientResult
		want     string
	}{
		{name: "approved", decision: approve, out: jsonResult(Outcome("doc-1", 7, "alice approves"))},
		{name: "rejected", decision: reject, out: reject},
		{name: "wrong decision", decision: approve, out: jsonResult(Outcome("doc-1", 7, "mallory approves")), want: "want value"},
		{name: "wrong ticket", decision: approve, out: jsonResult(Outcome("doc-1", 8, "alice approves")), want: "want value"},
		{name: "rejection lost", decision: reject, out: jsonResult(Outcome("doc-1", 7, "")), want: "want failure"},
		{
			name: "client got another output", decision: approve, out: jsonResult(Outcome("doc-1", 7, "alice approves")),
			clients: []clientResult{{invocation: inv.String(), status: 200, body: []byte(`"something else"`)}},
			want:    "a client received",
		},
		{
			name: "client got an output that is not durable", decision: approve, out: jsonResult(Outcome("doc-1", 7, "alice approves")),
			clients: []clientResult{{invocation: protocol.InvocationID{15: 2}.String(), status: 200, body: []byte(`"x"`)}},
			want:    "no durable output",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wl := &workload{responses: tc.clients}
			vs := wl.Check(finished(inv, tc.decision, tc.out))
			if tc.want == "" {
				require.Empty(t, vs)
				return
			}
			require.Len(t, vs, 1)
			require.Equal(t, "approval-outcome", vs[0].Checker)
			require.Contains(t, vs[0].Message, tc.want)
		})
	}
}

func TestNoDecisionAccepted(t *testing.T) {
	inv := protocol.InvocationID{15: 1}
	h := finished(inv, jsonResult("x"), jsonResult("y"))
	h.Events = h.Events[1:] // drop the acceptance
	vs := (&workload{}).Check(h)
	require.Len(t, vs, 1)
	require.Contains(t, vs[0].Message, "no decision was ever accepted")
}
