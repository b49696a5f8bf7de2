package checkers

import (
	"fmt"

	"github.com/vigilsim/vigil/runtime/journal"
)

const durabilityName = "durability"

// Durability checks that nothing is acknowledged before it is durable, so that no crash can take
// back what a client was told. The engine's facts are recorded when the write that makes them
// true is durable, so every acknowledgement must come after its fact in the history:
//
//   - a 202 that accepts an invocation (a send, a workflow submission) after the invocation's
//     InvocationAccepted;
//   - a 202 to a resolve or reject after a durable fact about that very completion: accepted,
//     dropped, or buffered for an awakeable whose entry had not arrived yet;
//   - a response carrying an invocation's output after its InvocationDone.
//
// Requests whose response never arrived (lost, timed out, connection broken) promised nothing:
// they are in doubt and this checker asks nothing of them. Journal entries acknowledged to the
// executor (acks of runs, completions) are held to the same rule by FinalJournal and Replay: a
// value any attempt observed must be the one every later journal holds.
func Durability(h History) []Violation { return durability(NewIndex(&h)) }

func durability(x *Index) []Violation {
	h := x.H
	// Each acknowledgement is judged against the facts recorded before it: the index's first
	// acceptance and first output of each invocation, and each awakeable's completion facts.
	facts := x.completionFacts()
	var vs []Violation
	for _, i := range x.ofKind(ClientResponse) {
		e := &h.Events[i]
		ri, ok := x.requestBefore(e.Request, i)
		if !ok || e.Status == 0 {
			continue
		}
		req, pr := &h.Events[ri], x.parsed(e.Request)
		switch {
		case e.Entry.Kind == journal.KindOutput:
			if d, ok := x.Done.Lookup(e.Invocation); !ok || d > i {
				vs = append(vs, newViolation(durabilityName, e.Invocation, fmt.Sprintf(
					"request %d got output %s before the invocation's output was durable", e.Request, e.Result), ri, i))
			}
		case e.Status == 202 && (pr.Kind == RequestResolve || pr.Kind == RequestReject):
			if !factBefore(h, facts.get(pr.Awakeable), i, pr.Result) {
				vs = append(vs, newViolation(durabilityName, e.Invocation, fmt.Sprintf(
					"request %d (%s) was acknowledged before its completion %s of %s was durable", e.Request, req.Reason, pr.Result, awakeableName(pr.Awakeable)), ri, i))
			}
		case e.Status == 202 && !e.Invocation.IsZero():
			if a, ok := x.Accepted.Lookup(e.Invocation); !ok || a > i {
				vs = append(vs, newViolation(durabilityName, e.Invocation, fmt.Sprintf(
					"request %d (%s) was acknowledged before the invocation was durably accepted", e.Request, req.Reason), ri, i))
			}
		}
	}
	sortByFirstEvent(vs)
	return vs
}

// factBefore reports whether one of facts (event indices, ascending) before the event i
// carries result r.
func factBefore(h *History, facts []int, i int, r journal.Result) bool {
	for _, f := range facts {
		if f > i {
			return false
		}
		if h.Events[f].Result.Equal(r) {
			return true
		}
	}
	return false
}

// awakeableName names an awakeable by its invocation and journal index.
func awakeableName(s Slot) string { return fmt.Sprintf("awakeable [%d] of %s", s.Index, s.Invocation) }
