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
// fail, and the v2 deployment must have tripped on v1 journals in some of them.
func TestScenario(t *testing.T) {
	sim.Check(t, Scenario, sim.CheckOptions{Seeds: 60})
	var tripped uint64
	sim.Campaign(Scenario, 0, 60, sim.Options{}, func(r *sim.Result) bool {
		tripped += r.Coverage[executor.PointNonDeterminism]
		return true
	})
	require.Positive(t, tripped, "no v2 attempt ever replayed a v1 journal")
}

// TestDeterminism runs seeds twice: the same seed must give the same trace hash.
func TestDeterminism(t *testing.T) {
	sim.CheckDeterminism(t, Scenario, sim.CheckOptions{Seeds: 20})
}

func js(v any) journal.Result {
	b, _ := json.Marshal(v)
	return journal.Result{Value: b}
}

// TestCheck shows the check passing a v1 journal and reporting the corruptions a skipped
// non-determinism check would let through.
func TestCheck(t *testing.T) {
	inv := protocol.InvocationID{15: 1}
	out := js(Outcome("order-0", 1, "paid", 2))
	good := func() []journal.Entry {
		return []journal.Entry{
			{Kind: journal.KindInput, Result: js("order-0")},
			{Kind: journal.KindRun, Name: StepReserve, Result: js(1)},
			{Kind: journal.KindAwakeable, Result: js("paid")},
			{Kind: journal.KindRun, Name: StepAsk, Result: js(true)},
			{Kind: journal.KindRun, Name: StepShip, Result: js(2)},
			{Kind: journal.KindOutput, Result: out},
		}
	}
	done := func(j []journal.Entry, r journal.Result) checkers.Event {
		return checkers.Event{Kind: checkers.InvocationDone, Invocation: inv, Journal: j, Result: r}
	}
	emit := func(i uint32, e journal.Entry) checkers.Event {
		return checkers.Event{Kind: checkers.CommandEmitted, Invocation: inv, Index: i, Entry: e}
	}
	require.Empty(t, Check(&checkers.History{Events: []checkers.Event{emit(1, good()[1]), done(good(), out)}}))

	v2 := good()
	v2[1] = journal.Entry{Kind: journal.KindRun, Name: StepFraud, Result: js(false)}
	gaveUp := good()
	gaveUp[5].Name = journal.EngineOutput
	wrong := js(Outcome("order-0", 1, "paid", 3))
	wrongJ := good()
	wrongJ[5].Result = wrong
	tests := []struct {
		name   string
		events []checkers.Event
		want   string
	}{
		{"v2 entry journaled", []checkers.Event{emit(1, v2[1])}, "no-v2-entry"},
		{"index emitted twice", []checkers.Event{emit(1, good()[1]), emit(1, journal.Entry{Kind: journal.KindAwakeable})}, "no-overwrite"},
		{"final journal differs", []checkers.Event{emit(3, journal.Entry{Kind: journal.KindRun, Name: StepShip}), done(good(), out)}, "no-overwrite"},
		{"v2 journal", []checkers.Event{done(v2, out)}, "v1-output"},
		{"gave up", []checkers.Event{done(gaveUp, out)}, "v1-output"},
		{"output from elsewhere", []checkers.Event{done(wrongJ, wrong)}, "v1-output"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vs := Check(&checkers.History{Events: tc.events})
			require.NotEmpty(t, vs)
			require.Contains(t, vs[0].Message, tc.want)
		})
	}
}
