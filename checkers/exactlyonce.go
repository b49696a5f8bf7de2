package checkers

import (
	"fmt"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// exactlyOnceName is the Checker name of ExactlyOnce's violations.
const exactlyOnceName = "exactly-once"

// ExactlyOnce checks exactly-once resolution and one output per invocation (DESIGN.md, "What the
// checkers prove", items 1 and 4):
//
//   - at most one CompletionAccepted per awakeable (Invocation, Index): the first one wins, and
//     any further one is a violation even when it carries the same value;
//   - every value any attempt observed for an awakeable equals the accepted completion of that
//     awakeable, and one must have been accepted. The engine records an acceptance once its write
//     is durable, which may be after an attempt already observed the value, so observations are
//     matched against acceptances anywhere in the history, not only earlier ones;
//   - at most one InvocationDone per invocation: a second output is a violation whatever its value.
//
// Violations are sorted by their first event index.
func ExactlyOnce(h History) []Violation {
	var vs []Violation

	// The first acceptance of each awakeable is its winner; later ones are violations.
	accepted := make(map[slot]int)
	for i := range h.Events {
		e := &h.Events[i]
		if e.Kind != CompletionAccepted {
			continue
		}
		k := slot{e.Invocation, e.Index}
		first, ok := accepted[k]
		if !ok {
			accepted[k] = i
			continue
		}
		vs = append(vs, newViolation(exactlyOnceName, e.Invocation,
			fmt.Sprintf("awakeable [%d] accepted a second completion %s after %s",
				e.Index, e.Result, h.Events[first].Result),
			first, i))
	}

	outputs := make(map[protocol.InvocationID]int)
	for i := range h.Events {
		e := &h.Events[i]
		switch e.Kind {
		case ValueObserved:
			if e.Entry.Kind != journal.KindAwakeable {
				continue
			}
			a, ok := accepted[slot{e.Invocation, e.Index}]
			switch {
			case !ok:
				vs = append(vs, newViolation(exactlyOnceName, e.Invocation,
					fmt.Sprintf("attempt %d observed %s for awakeable [%d], which was never accepted",
						e.Attempt, e.Result, e.Index),
					i))
			case !e.Result.Equal(h.Events[a].Result):
				vs = append(vs, newViolation(exactlyOnceName, e.Invocation,
					fmt.Sprintf("attempt %d observed %s for awakeable [%d], but the accepted completion is %s",
						e.Attempt, e.Result, e.Index, h.Events[a].Result),
					i, a))
			}
		case InvocationDone:
			first, ok := outputs[e.Invocation]
			if !ok {
				outputs[e.Invocation] = i
				continue
			}
			vs = append(vs, newViolation(exactlyOnceName, e.Invocation,
				fmt.Sprintf("second output %s after %s (one output per invocation)",
					e.Result, h.Events[first].Result),
				first, i))
		}
	}

	sortByFirstEvent(vs)
	return vs
}
