package checkers

import (
	"fmt"
	"slices"
)

// firstCompletionName is the Checker name of FirstCompletion's violations.
const firstCompletionName = "first-completion"

// FirstCompletion checks that the first completion of an awakeable to reach the runtime wins
// (DESIGN.md, "Semantics to get right"; RESTATE.md: "the first completion processed wins"),
// judged by the order in which the simulator delivered the requests to the runtime
// (RequestDelivered) and what each request carried as its client sent it — never by which
// completion the engine says it accepted, buffered or dropped:
//
//   - the first resolve or reject of awakeable A to reach the runtime with no runtime crash
//     between its arrival and the engine's first CompletionAccepted of A carries another result
//     than the one accepted. Without a crash, the engine handled the earlier request first and made it
//     durable before the later acceptance, so it had to win — whether it was applied at once or
//     buffered because A's entry was not journaled yet.
//
// A crash between the two excuses it — the earlier completion may have been lost with the
// unsynced writes, its client told nothing but a broken connection — unless the runtime recorded
// a durable fact about that completion (accepted, buffered or dropped) before the crash: then it
// survived, and it still had to win. A cancel of the invocation that reached the runtime
// before the resolve competes as a completion: its cancellation failure may win. Completions sent by handlers
// (complete-awakeable commands) are not ordered here. Violations are sorted by first event.
func FirstCompletion(h History) []Violation { return firstCompletion(NewIndex(&h)) }

func firstCompletion(x *Index) []Violation {
	h := x.H
	crashes := x.runtimeCrashes()
	facts := x.completionFacts()
	// survived reports whether the completion delivered at d is known to have outlived the first
	// crash after it: the engine recorded a durable fact about that very completion in between.
	survived := func(d int, pr *ParsedRequest) bool {
		n, _ := slices.BinarySearch(crashes, d)
		for _, f := range facts.get(pr.Awakeable) {
			if f > d && (n == len(crashes) || f < crashes[n]) && h.Events[f].Result.Equal(pr.Result) {
				return true
			}
		}
		return false
	}
	var vs []Violation
	// judged marks the awakeables whose first surviving delivery was already compared: only the
	// first one has to win; the later ones must lose.
	judged := &x.room.judged
	judged.reset()
	// cancels holds the first cancel of each invocation to reach the runtime: a cancellation
	// completes what the invocation waits on, so it competes with the resolves that come later.
	cancels := &x.room.cancels
	cancels.reset()
	for _, d := range x.Deliveries {
		n := h.Events[d].Request
		pr := x.parsed(n)
		if pr.Kind == RequestCancel {
			if cancels.find(pr.Invocation) < 0 {
				cancels.vals[cancels.insert(pr.Invocation)] = d
			}
			continue
		}
		if pr.Kind != RequestResolve && pr.Kind != RequestReject {
			continue
		}
		a, ok := x.Completed.Lookup(pr.Awakeable)
		if !ok || a < d || judged.has(pr.Awakeable) || (purgedBetween(crashes, d, a) && !survived(d, pr)) {
			continue
		}
		judged.set(pr.Awakeable, true)
		won := h.Events[a].Result
		if won.Equal(pr.Result) {
			continue
		}
		if f := won.Failure; f != nil && *f == cancelledFailure {
			if c, ok := cancels.lookup(pr.Awakeable.Invocation); ok && c < d {
				continue // the cancel reached the runtime first, and won
			}
		}
		req, _ := x.FirstRequest(n)
		vs = append(vs, newViolation(firstCompletionName, pr.Awakeable.Invocation,
			fmt.Sprintf("request %d (%s) reached the runtime at %v with %s for awakeable [%d], the first completion to arrive, but the engine accepted %s at %v with no crash between",
				n, h.Events[req].Reason, h.Events[d].At, pr.Result, pr.Awakeable.Index, won, h.Events[a].At),
			req, d, a))
	}
	sortByFirstEvent(vs)
	return vs
}
