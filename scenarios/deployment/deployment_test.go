package deployment

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/executor"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/sim"
)

// TestScenario runs the scenario over a few seeds: no checker and no expected-outcome rule may
// fail, the v2 deployment must have tripped on v1 journals in some of them, journaled its audit
// call in others, and orders in flight across it must have finished after the rollback.
func TestScenario(t *testing.T) {
	sim.Check(t, Scenario, sim.CheckOptions{Seeds: 60})
	var tripped uint64
	reached := map[sim.Point]uint64{}
	sim.Campaign(Scenario, 0, 60, sim.Options{}, func(r *sim.Result) bool {
		tripped += r.Coverage[executor.PointNonDeterminism]
		for p, n := range r.Coverage {
			reached[p] += n
		}
		return true
	})
	require.Positive(t, tripped, "no v2 attempt ever replayed a v1 journal")
	for _, p := range []sim.Point{sim.CoverDeploymentNewCommand, sim.CoverDeploymentRolledBack, sim.CoverTwinEarlierVersion} {
		require.Positive(t, reached[p], "no seed reached %s", p)
	}
}

// TestDeterminism runs seeds twice: the same seed must give the same trace hash.
func TestDeterminism(t *testing.T) {
	sim.CheckDeterminism(t, Scenario, sim.CheckOptions{Seeds: 20})
}

func js(v any) journal.Result {
	b, _ := json.Marshal(v)
	return journal.Result{Value: b}
}

// TestCheck shows the check passing each version's journal and reporting the journals a skipped
// non-determinism check would leave: one version's code going on from another's entries.
func TestCheck(t *testing.T) {
	inv := protocol.InvocationID{15: 1}
	out := js(Outcome("order-0", 1, "paid", 2))
	good := func() []journal.Entry {
		return []journal.Entry{
			{Kind: journal.KindInput, Result: js("order-0")},
			{Kind: journal.KindRun, Name: StepReserve, Result: js(1)},
			{Kind: journal.KindAwakeable, Completed: true, Result: js("paid")},
			{Kind: journal.KindRun, Name: StepAsk, Result: js(true)},
			{Kind: journal.KindRun, Name: StepShip, Result: js(2)},
			{Kind: journal.KindOutput, Result: out},
		}
	}
	refused := journal.Result{Failure: &journal.Failure{Code: 404, Message: "send Audit/record: service 'Audit' not found"}}
	audited := func() []journal.Entry {
		return []journal.Entry{
			{Kind: journal.KindInput, Result: js("order-0")},
			{Kind: journal.KindRun, Name: StepReserve, Result: js(1)},
			{Kind: journal.KindSend, Target: AuditTarget, Param: js("order-0")},
			{Kind: journal.KindOutput, Name: journal.EngineOutput, Result: refused},
		}
	}
	done := func(j []journal.Entry, r journal.Result) checkers.Event {
		return checkers.Event{Kind: checkers.InvocationDone, Invocation: inv, Journal: j, Result: r}
	}
	require.Empty(t, Check(&checkers.History{Events: []checkers.Event{done(good(), out)}}))
	require.Empty(t, Check(&checkers.History{Events: []checkers.Event{done(audited(), refused)}}))

	// v2 replayed v1's journal unchecked: its send took the awakeable's index, its awakeable the
	// ask's, and it asked again at index 4, then could not decode its awakeable's result.
	decodeFailed := journal.Result{Failure: &journal.Failure{Code: 500, Message: "decode awakeable: json: cannot unmarshal bool into Go value of type string"}}
	mixed := append(good()[:4], journal.Entry{Kind: journal.KindRun, Name: StepAsk, Result: js(true)}, journal.Entry{Kind: journal.KindOutput, Result: decodeFailed})
	// v2 went on after its send: the runtime did not refuse it.
	extended := append(audited()[:3], good()[2:]...)
	gaveUp := good()
	gaveUp[5].Name = journal.EngineOutput
	wrong := js(Outcome("order-0", 1, "paid", 3))
	wrongJ := good()
	wrongJ[5].Result = wrong
	handlerEnded := audited()
	handlerEnded[3].Name = ""
	tests := []struct {
		name string
		j    []journal.Entry
		out  journal.Result
		want string
	}{
		{"v2 went on from a v1 journal", mixed, decodeFailed, "v1-output"},
		{"v2 went on after its send", extended, out, "v2-output"},
		{"gave up", gaveUp, out, "v1-output"},
		{"output from elsewhere", wrongJ, wrong, "v1-output"},
		{"v2 ended by its handler", handlerEnded, refused, "v2-output"},
		{"another v2 output", audited(), out, "v2-output"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vs := Check(&checkers.History{Events: []checkers.Event{done(tc.j, tc.out)}})
			require.NotEmpty(t, vs)
			require.Contains(t, vs[0].Message, tc.want)
		})
	}
}
