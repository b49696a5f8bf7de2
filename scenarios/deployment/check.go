package deployment

import (
	"encoding/json"
	"fmt"

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

// Check states the scenario's expected outcome over a recorded history:
//
//   - no-v2-entry: no attempt ever journaled the v2 fraud check (it fails before it can), so
//     nothing v2 wrote can be left for v1 to trip on;
//   - no-overwrite: every command emitted at an index is the same command as every other emitted
//     there, and as the final journal's entry there;
//   - v1-output: every order finishes with its handler's output (not one the engine decided,
//     like giving up), its final journal has v1's shape, and the output is what v1 computes from
//     that journal.
func Check(h *checkers.History) []checkers.Violation {
	var vs []checkers.Violation
	fail := func(inv protocol.InvocationID, events []int, rule, format string, args ...any) {
		vs = append(vs, checkers.Violation{Checker: CheckerName, Invocation: inv, Message: rule + ": " + fmt.Sprintf(format, args...), Events: events})
	}
	type slot struct {
		inv   protocol.InvocationID
		index uint32
	}
	emitted := map[slot]int{}
	done := map[protocol.InvocationID]bool{}
	for i, e := range h.Events {
		switch e.Kind {
		case checkers.CommandEmitted:
			if e.Entry.Kind == journal.KindRun && e.Entry.Name == StepFraud {
				fail(e.Invocation, []int{i}, "no-v2-entry", "attempt %d journaled the v2 step %q at index %d", e.Attempt, StepFraud, e.Index)
			}
			s := slot{e.Invocation, e.Index}
			if first, ok := emitted[s]; !ok {
				emitted[s] = i
			} else if !h.Events[first].Entry.SameCommand(e.Entry) {
				fail(e.Invocation, []int{first, i}, "no-overwrite", "index %d was emitted as %s and then as %s", e.Index, h.Events[first].Entry, e.Entry)
			}
		case checkers.InvocationDone:
			if done[e.Invocation] {
				continue
			}
			done[e.Invocation] = true
			for idx, en := range e.Journal {
				if first, ok := emitted[slot{e.Invocation, uint32(idx)}]; ok && en.Kind != journal.KindOutput && !h.Events[first].Entry.SameCommand(en) {
					fail(e.Invocation, []int{first, i}, "no-overwrite", "index %d was emitted as %s, the final journal holds %s", idx, h.Events[first].Entry, en)
				}
			}
			if err := v1Output(e.Journal, e.Result); err != nil {
				fail(e.Invocation, []int{i}, "v1-output", "%v", err)
			}
		}
	}
	return vs
}

// v1Output checks that a final journal j has v1's shape and ends with out, the output v1
// computes from it.
func v1Output(j []journal.Entry, out journal.Result) error {
	if len(j) != len(v1Shape) {
		return fmt.Errorf("finished with %s and a journal of %d entries, not v1's %d: %v", out, len(j), len(v1Shape), j)
	}
	for i, want := range v1Shape {
		if j[i].Kind != want.Kind || (want.Kind == journal.KindRun && j[i].Name != want.Name) {
			return fmt.Errorf("final journal entry %d is %s, v1 has %s there", i, j[i], want)
		}
	}
	if j[5].Name == journal.EngineOutput {
		return fmt.Errorf("the engine, not the handler, ended it with %s", out)
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

// Check judges a run against the scenario's expected outcome.
func (wl *workload) Check(h *checkers.History) []checkers.Violation { return Check(h) }
