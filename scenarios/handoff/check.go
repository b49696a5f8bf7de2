package handoff

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// CheckerName is the Checker of the violations Check reports.
const CheckerName = "handoff-outcome"

// Check states the scenario's expected outcome over a recorded history, given the actor's one
// decision per awakeable ID (decided) and the task each was offered for (tasks):
//
//   - decision: the accepted completion of each decided awakeable is the decision;
//   - waiter: each waiter that finished returns Outcome(task, value) of its awakeable's decision,
//     or fails with the rejection's code and reason; one that finished without its awakeable
//     decided by the actor is a violation too (nobody else completes it);
//   - completer: each completing handler returns Done.
//
// A decided awakeable whose waiter never finishes is the liveness check's to report: the actor
// does not send again, so nothing here hides a completion the runtime lost.
func Check(h *checkers.History, decided map[string]journal.Result, tasks map[string]string) []checkers.Violation {
	var vs []checkers.Violation
	fail := func(inv protocol.InvocationID, events []int, format string, args ...any) {
		vs = append(vs, checkers.Violation{Checker: CheckerName, Invocation: inv, Message: fmt.Sprintf(format, args...), Events: events})
	}
	handler := map[protocol.InvocationID]string{}
	accepted := map[string]int{} // awakeable ID -> its first CompletionAccepted
	for i, e := range h.Events {
		switch e.Kind {
		case checkers.InvocationAccepted:
			if e.Service == ServiceName {
				handler[e.Invocation] = e.Handler
			}
		case checkers.CompletionAccepted:
			id := protocol.AwakeableID{Invocation: e.Invocation, Index: e.Index}.String()
			if _, seen := accepted[id]; !seen {
				accepted[id] = i
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(accepted)) {
		i := accepted[id]
		want, ok := decided[id]
		if !ok {
			fail(h.Events[i].Invocation, []int{i}, "awakeable %s was completed with %s, but the actor never decided it", id, h.Events[i].Result)
		} else if !want.Equal(h.Events[i].Result) {
			fail(h.Events[i].Invocation, []int{i}, "awakeable %s was completed with %s, the actor decided %s", id, h.Events[i].Result, want)
		}
	}
	done := map[protocol.InvocationID]bool{}
	for i, e := range h.Events {
		if e.Kind != checkers.InvocationDone || done[e.Invocation] {
			continue
		}
		done[e.Invocation] = true
		switch handler[e.Invocation] {
		case Wait:
			id := protocol.AwakeableID{Invocation: e.Invocation, Index: 1}.String()
			d, ok := decided[id]
			if !ok {
				fail(e.Invocation, []int{i}, "waiter finished with %s, but the actor never decided its awakeable %s", e.Result, id)
				continue
			}
			want := d
			if d.Failure == nil {
				var v string
				if err := json.Unmarshal(d.Value, &v); err != nil {
					fail(e.Invocation, []int{i}, "decision %s: %v", d, err)
					continue
				}
				b, _ := json.Marshal(Outcome(tasks[id], v))
				want = journal.Result{Value: b}
			}
			if !want.Equal(e.Result) {
				fail(e.Invocation, []int{i}, "waiter finished with %s, want %s (the actor's decision on %s)", e.Result, want, id)
			}
		case Complete:
			b, _ := json.Marshal(Done)
			if want := (journal.Result{Value: b}); !want.Equal(e.Result) {
				fail(e.Invocation, []int{i}, "completing handler finished with %s, want %s", e.Result, want)
			}
		}
	}
	return vs
}

// Check judges a run against the scenario's expected outcome.
func (wl *workload) Check(h *checkers.History) []checkers.Violation {
	return Check(h, wl.decided, wl.tasks)
}
