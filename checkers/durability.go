package checkers

import (
	"fmt"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
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
	requests := map[uint64]int{}
	accepted := map[protocol.InvocationID]bool{}
	done := map[protocol.InvocationID]bool{}
	type completion struct {
		awakeable Slot
		result    string
	}
	completions := map[completion]bool{}
	var vs []Violation
	for i := range h.Events {
		e := &h.Events[i]
		switch e.Kind {
		case ClientRequest:
			requests[e.Request] = i
		case InvocationAccepted:
			accepted[e.Invocation] = true
		case InvocationDone:
			done[e.Invocation] = true
		case CompletionAccepted, CompletionDropped, CompletionBuffered:
			completions[completion{Slot{e.Invocation, e.Index}, e.Result.String()}] = true
		case ClientResponse:
			ri, ok := requests[e.Request]
			if !ok || e.Status == 0 {
				continue
			}
			req, pr := h.Events[ri], x.Parsed[e.Request]
			switch {
			case e.Entry.Kind == journal.KindOutput:
				if !done[e.Invocation] {
					vs = append(vs, newViolation(durabilityName, e.Invocation, fmt.Sprintf(
						"request %d got output %s before the invocation's output was durable", e.Request, e.Result), ri, i))
				}
			case e.Status == 202 && (pr.Kind == RequestResolve || pr.Kind == RequestReject):
				if !completions[completion{pr.Awakeable, pr.Result.String()}] {
					vs = append(vs, newViolation(durabilityName, e.Invocation, fmt.Sprintf(
						"request %d (%s) was acknowledged before its completion %s of %s was durable", e.Request, req.Reason, pr.Result, awakeableName(pr.Awakeable)), ri, i))
				}
			case e.Status == 202 && !e.Invocation.IsZero():
				if !accepted[e.Invocation] {
					vs = append(vs, newViolation(durabilityName, e.Invocation, fmt.Sprintf(
						"request %d (%s) was acknowledged before the invocation was durably accepted", e.Request, req.Reason), ri, i))
				}
			}
		}
	}
	sortByFirstEvent(vs)
	return vs
}

// awakeableName names an awakeable by its invocation and journal index.
func awakeableName(s Slot) string { return fmt.Sprintf("awakeable [%d] of %s", s.Index, s.Invocation) }
