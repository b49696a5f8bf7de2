package checkers

import (
	"fmt"

	"github.com/vigilsim/vigil/runtime/journal"
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
//   - at most one InvocationDone per invocation: a second output is a violation whatever its value;
//   - an acceptance of Restate's cancellation failure (409 "Cancelled"), which no resolve or
//     reject carries, follows a cancellation: a cancel request for that invocation that reached
//     the runtime (read from the client's bytes), or, for an invocation cancelled through its
//     caller or by a handler, some cancel request or cancel command earlier in the run.
//
// Violations are sorted by their first event index.
func ExactlyOnce(h History) []Violation { return exactlyOnce(NewIndex(&h)) }

func exactlyOnce(x *Index) []Violation {
	h := x.H
	var vs []Violation

	// The first acceptance of each awakeable (the index's Completed) is its winner; later ones
	// are violations.
	accepted := &x.Completed
	for _, i := range x.ofKind(CompletionAccepted) {
		e := &h.Events[i]
		first := accepted.Get(slot{e.Invocation, e.Index})
		if first == i {
			continue
		}
		vs = append(vs, newViolation(exactlyOnceName, e.Invocation,
			fmt.Sprintf("awakeable [%d] accepted a second completion %s after %s",
				e.Index, e.Result, h.Events[first].Result),
			first, i))
	}

	vs = append(vs, unexplainedCancellations(x, accepted)...)

	// The observations, then the outputs: a violation of either kind names an event of its
	// own kind first, so none ties with one of the other, and the sort orders them as one walk
	// of the history would.
	for _, i := range x.ofKind(ValueObserved) {
		e := &h.Events[i]
		if e.Entry.Kind != journal.KindAwakeable {
			continue
		}
		a, ok := accepted.Lookup(slot{e.Invocation, e.Index})
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
	}
	// The index's Done is each invocation's first output; any other is a second.
	for _, i := range x.ofKind(InvocationDone) {
		e := &h.Events[i]
		if first := x.Done.Get(e.Invocation); first != i {
			vs = append(vs, newViolation(exactlyOnceName, e.Invocation,
				fmt.Sprintf("second output %s after %s (one output per invocation)",
					e.Result, h.Events[first].Result),
				first, i))
		}
	}

	sortByFirstEvent(vs)
	return vs
}

// cancelledFailure is the failure a cancelled await completes with, as Restate reports it.
var cancelledFailure = journal.Failure{Code: 409, Message: "Cancelled"}

// unexplainedCancellations returns a violation for each accepted cancellation of an awakeable
// that no earlier cancellation explains (see ExactlyOnce).
func unexplainedCancellations(x *Index, accepted *IndexMap[slot, int]) []Violation {
	h := x.H
	var vs []Violation
	anyCancel, found := -1, false
	// Each awakeable's first acceptance, in history order. Most complete with no cancellation
	// failure, and are told apart by it first: the map lookup and the search for the first
	// cancel are made only for those that do.
	for _, a := range x.ofKind(CompletionAccepted) {
		e := &h.Events[a]
		if f := e.Result.Failure; f == nil || *f != cancelledFailure {
			continue
		}
		if accepted.Get(slot{e.Invocation, e.Index}) != a {
			continue
		}
		if !found {
			anyCancel, found = firstCancel(x), true
		}
		if anyCancel >= 0 && anyCancel < a {
			continue
		}
		vs = append(vs, newViolation(exactlyOnceName, e.Invocation,
			fmt.Sprintf("awakeable [%d] accepted %s, Restate's cancellation failure, but nothing cancelled the invocation before", e.Index, e.Result),
			a))
	}
	return vs
}

// firstCancel returns the index of the first cancel of any kind in x's history, -1 when there
// is none: the first cancel explains every later cancellation, a cancel request for the
// invocation itself included (it is a cancel too), so one index is all the rule needs.
func firstCancel(x *Index) int {
	h := x.H
	anyCancel := -1
	for _, d := range x.Deliveries { // in history order: the first found is the earliest
		if x.parsed(h.Events[d].Request).Kind == RequestCancel {
			anyCancel = d
			break
		}
	}
	for _, i := range x.ofKind(CommandEmitted) {
		if e := &h.Events[i]; e.Entry.Kind == journal.KindCancel {
			if anyCancel < 0 || i < anyCancel {
				anyCancel = i
			}
			break
		}
	}
	return anyCancel
}
