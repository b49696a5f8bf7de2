package handoff

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/sim"
)

// TestScenario runs the scenario over a few seeds: no checker, liveness included, and no
// expected-outcome rule may fail.
func TestScenario(t *testing.T) {
	sim.Check(t, Scenario, sim.CheckOptions{Seeds: 60})
}

// TestDeterminism runs seeds twice: the same seed must give the same trace hash.
func TestDeterminism(t *testing.T) {
	sim.CheckDeterminism(t, Scenario, sim.CheckOptions{Seeds: 20})
}

func js(v any) journal.Result {
	b, _ := json.Marshal(v)
	return journal.Result{Value: b}
}

// TestCheckFails shows that Check passes the right outcome and reports each wrong one.
func TestCheckFails(t *testing.T) {
	waiter, completer := protocol.InvocationID{15: 1}, protocol.InvocationID{15: 2}
	id := protocol.AwakeableID{Invocation: waiter, Index: 1}.String()
	value := js("actor-1 takes task-0")
	rejected := journal.Result{Failure: &journal.Failure{Code: 451, Message: "actor-1 declines task-0"}}
	history := func(completion, out, completerOut journal.Result) *checkers.History {
		return &checkers.History{Events: []checkers.Event{
			{Kind: checkers.InvocationAccepted, Invocation: waiter, Service: ServiceName, Handler: Wait},
			{Kind: checkers.InvocationAccepted, Invocation: completer, Service: ServiceName, Handler: Complete},
			{Kind: checkers.CompletionAccepted, Invocation: waiter, Index: 1, Awakeable: id, Result: completion},
			{Kind: checkers.InvocationDone, Invocation: completer, Result: completerOut},
			{Kind: checkers.InvocationDone, Invocation: waiter, Result: out},
		}}
	}
	tasks := map[string]string{id: "task-0"}
	good := js(Outcome("task-0", "actor-1 takes task-0"))
	done := js(Done)
	tests := []struct {
		name                   string
		decision               journal.Result
		completion, out, compl journal.Result
		want                   string
	}{
		{"resolved", value, value, good, done, ""},
		{"rejected", rejected, rejected, rejected, done, ""},
		{"another value won", value, js("mallory"), js(Outcome("task-0", "mallory")), done, "the actor decided"},
		{"rejection code lost", rejected, rejected, journal.Result{Failure: &journal.Failure{Code: 500, Message: rejected.Failure.Message}}, done, "waiter finished with"},
		{"output from nothing", value, value, js(Outcome("task-0", "")), done, "waiter finished with"},
		{"completer failed", value, value, good, journal.Result{Failure: &journal.Failure{Code: 400, Message: "bad id"}}, "completing handler"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vs := Check(history(tc.completion, tc.out, tc.compl), map[string]journal.Result{id: tc.decision}, tasks)
			if tc.want == "" {
				require.Empty(t, vs)
				return
			}
			require.NotEmpty(t, vs)
			require.Contains(t, vs[0].Message, tc.want)
		})
	}
	vs := Check(history(value, good, done), map[string]journal.Result{}, tasks)
	require.NotEmpty(t, vs, "an awakeable the actor never decided")
}
