package deployment

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// CheckerName is the Checker of the violations Check reports.
const CheckerName = "deployment"

// v1Shape is the kind and name of each entry of a finished v1 journal.
var v1Shape = []journal.Entry{
	{Kind: journal.KindInput},
	{Kind: journal.KindRun, Name: StepReserve},
	{Kind: journal.KindAwakeable},
	{Kind: journal.KindRun, Name: StepAsk},
	{Kind: journal.KindRun, Name: StepShip},
	{Kind: journal.KindOutput},
}

// v2Shape is the kind, name and target of each entry of a finished v2 journal: the runtime
// refuses the audit send, since no version deploys the audit service, and fails the order with
// its own output in the same step.
var v2Shape = []journal.Entry{
	{Kind: journal.KindInput},
	{Kind: journal.KindRun, Name: StepReserve},
	{Kind: journal.KindSend, Target: AuditTarget},
	{Kind: journal.KindOutput, Name: journal.EngineOutput},
}

// Check states the scenario's expected outcome over a recorded history: every order finishes
// with a final journal that is one version's —
//
//   - v1-output: v1's shape, ending with the handler's output, the one v1 computes from the
//     journal's values (not one the engine decided, like giving up); or
//   - v2-output: v2's shape, its audit send refused and the runtime's refusal as the output.
//
// A journal of neither shape is one that a version extended after diverging from what another
// wrote. (An index may well be emitted twice with different commands: a v1 command that a crash
// or the redeployment lost before it was durable, then v2's there. Only the durable journal
// tells which version's code an order ran.)
func Check(h *checkers.History) []checkers.Violation {
	var vs []checkers.Violation
	done := map[protocol.InvocationID]bool{}
	for i := range h.Events {
		e := &h.Events[i] // not a copy: an event is a few hundred bytes
		if e.Kind != checkers.InvocationDone || done[e.Invocation] {
			continue
		}
		done[e.Invocation] = true
		rule, err := oneVersion(e.Journal, e.Result)
		if err != nil {
			vs = append(vs, checkers.Violation{Checker: CheckerName, Invocation: e.Invocation, Message: rule + ": " + err.Error(), Events: []int{i}})
		}
	}
	return vs
}

// oneVersion checks that a final journal j is one version's and ends with out, that version's
// output; it names the rule it judged by.
func oneVersion(j []journal.Entry, out journal.Result) (string, error) {
	if len(j) > 2 && j[2].Kind == journal.KindSend {
		return "v2-output", v2Output(j, out)
	}
	return "v1-output", v1Output(j, out)
}

// hasShape reports how j differs from shape, in kinds, names and targets.
func hasShape(j, shape []journal.Entry, version string) error {
	if len(j) != len(shape) {
		return fmt.Errorf("a journal of %d entries, not %s's %d: %v", len(j), version, len(shape), j)
	}
	for i, want := range shape {
		if j[i].Kind != want.Kind || j[i].Name != want.Name || j[i].Target != want.Target {
			return fmt.Errorf("final journal entry %d is %s, %s has %s there: %v", i, j[i], version, want, j)
		}
	}
	return nil
}

// v1Output checks that a final journal j has v1's shape and ends with out, the output v1
// computes from it.
func v1Output(j []journal.Entry, out journal.Result) error {
	if err := hasShape(j, v1Shape, "v1"); err != nil {
		return fmt.Errorf("finished with %s and %w", out, err)
	}
	var order, payment string
	var reservation, shipment int
	for _, d := range []struct {
		r journal.Result
		v any
	}{{j[0].Result, &order}, {j[1].Result, &reservation}, {j[2].Result, &payment}, {j[4].Result, &shipment}} {
		if d.r.Failure != nil || json.Unmarshal(d.r.Value, d.v) != nil {
			return fmt.Errorf("final journal value %s does not decode", d.r)
		}
	}
	b, _ := json.Marshal(Outcome(order, reservation, payment, shipment))
	if want := (journal.Result{Value: b}); !want.Equal(out) || !want.Equal(j[5].Result) {
		return fmt.Errorf("finished with %s, v1 computes %s from its journal", out, want)
	}
	return nil
}

// v2Output checks that a final journal j has v2's shape: its audit send refused as a send to a
// service that is not deployed, the refusal the output.
func v2Output(j []journal.Entry, out journal.Result) error {
	if err := hasShape(j, v2Shape, "v2"); err != nil {
		return fmt.Errorf("finished with %s and %w", out, err)
	}
	if f := out.Failure; f == nil || f.Code != 404 || !strings.Contains(f.Message, AuditService) || !out.Equal(j[3].Result) {
		return fmt.Errorf("finished with %s, not the refusal of the send to %s (the journal's output is %s)", out, AuditTarget, j[3].Result)
	}
	return nil
}
