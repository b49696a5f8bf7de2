package checkers

import (
	"fmt"
	"strings"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// retentionName is the Checker name of Retention's violations.
const retentionName = "retention"

// Retention checks that retention is neither early nor missing, and that what it purged stays
// gone (DESIGN.md, "What the checkers prove", item 5):
//
//   - never early: a Purged whose At is before its Deadline;
//   - never missing: a retention TimerArmed (Reason "retention") whose Deadline + TimerGrace is
//     before the end of the run, with no later Purged of the same thing at the same Deadline. A
//     timer naming an IdempotencyKey is kept by a Purged "idempotency" of the same
//     Service/Handler/Key/IdempotencyKey; otherwise a timer naming a Service is kept by a Purged
//     "workflow" of that Service/Key, and a timer naming an Invocation by a Purged "invocation"
//     of it (a timer naming both is kept by either);
//   - reads after a purge find nothing: a ClientRequest sent after a Purged "invocation" of X
//     whose response carries X's output; and a request to /restate/workflow/{Service}/{Key}/output
//     or /attach (Service and Key set on the request) sent after a Purged "workflow" of that
//     Service/Key whose response carries the output of a run invocation the purge forgot (the
//     purge's Invocation, and every "run" of that key accepted before it). Either is excused when
//     the same invocation ID was accepted again between the purge and the response (a fresh run
//     that happens to reuse a deterministic ID).
//
// Violations are sorted by their first event index.
func Retention(h History) []Violation {
	var vs []Violation
	end := h.End()

	armed := make(map[retentionKey]int)
	var armedOrder []retentionKey
	var purges []int
	invPurges := make(map[protocol.InvocationID][]int)
	wfPurges := make(map[workflowKey][]int)
	// accepted lists, per invocation, the events that accepted it; runs lists, per workflow,
	// the events that accepted a run of it.
	accepted := make(map[protocol.InvocationID][]int)
	runs := make(map[workflowKey][]int)
	responses := make(map[uint64]int)
	for i, e := range h.Events {
		switch e.Kind {
		case InvocationAccepted:
			accepted[e.Invocation] = append(accepted[e.Invocation], i)
			if e.Handler == "run" {
				k := workflowKey{e.Service, e.Key}
				runs[k] = append(runs[k], i)
			}
		case ClientResponse:
			if _, ok := responses[e.Request]; !ok {
				responses[e.Request] = i
			}
		case TimerArmed:
			if e.Reason != timerRetention {
				continue
			}
			k := retentionKeyOf(e)
			if _, ok := armed[k]; !ok {
				armed[k] = i
				armedOrder = append(armedOrder, k)
			}
		case Purged:
			purges = append(purges, i)
			if c := e.clock(); c < e.Deadline {
				vs = append(vs, newViolation(retentionName, e.Invocation,
					fmt.Sprintf("%s purged at %v, %v before its retention deadline %v",
						purgeTarget(e), c, e.Deadline-c, e.Deadline),
					i))
			}
			switch e.Reason {
			case purgeInvocation:
				invPurges[e.Invocation] = append(invPurges[e.Invocation], i)
			case purgeWorkflow:
				k := workflowKey{e.Service, e.Key}
				wfPurges[k] = append(wfPurges[k], i)
			}
		}
	}

	// Every retention that fell due was carried out.
	for _, k := range armedOrder {
		a := armed[k]
		if k.deadline+TimerGrace >= end {
			continue
		}
		kept := false
		for _, p := range purges {
			if p > a && k.keptBy(h.Events[p]) {
				kept = true
				break
			}
		}
		if !kept {
			vs = append(vs, newViolation(retentionName, k.inv,
				fmt.Sprintf("retention of %s due at %v never purged it (the run ended at %v, past the deadline and the grace of %v)",
					k, k.deadline, end, TimerGrace),
				a))
		}
	}

	// Nothing purged is read again. acceptedBetween reports a new acceptance of inv strictly
	// between the events lo and hi.
	acceptedBetween := func(inv protocol.InvocationID, lo, hi int) bool {
		return purgedBetween(accepted[inv], lo, hi)
	}
	for i, e := range h.Events {
		if e.Kind != ClientRequest {
			continue
		}
		r, ok := responses[e.Request]
		if !ok {
			continue
		}
		resp := h.Events[r]
		if resp.Entry.Kind != journal.KindOutput || resp.Invocation.IsZero() {
			continue
		}
		x := resp.Invocation
		if p, ok := lastBefore(invPurges[x], i); ok && !acceptedBetween(x, p, r) {
			vs = append(vs, newViolation(retentionName, x,
				fmt.Sprintf("request %d (%s) sent at %v, after the invocation's output was purged at %v, got its output %s",
					e.Request, e.Reason, e.At, h.Events[p].At, resp.Result),
				p, i, r))
			continue
		}
		if !isWorkflowRead(e.Reason) {
			continue
		}
		wk := workflowKey{e.Service, e.Key}
		p, ok := lastBefore(wfPurges[wk], i)
		if !ok || acceptedBetween(x, p, r) {
			continue
		}
		forgot := h.Events[p].Invocation == x
		for _, a := range runs[wk] {
			if a < p && h.Events[a].Invocation == x {
				forgot = true
			}
		}
		if forgot {
			vs = append(vs, newViolation(retentionName, x,
				fmt.Sprintf("request %d (%s) sent at %v, after workflow %s/%s was purged at %v, got its run's output %s",
					e.Request, e.Reason, e.At, wk.service, wk.key, h.Events[p].At, resp.Result),
				p, i, r))
		}
	}

	sortByFirstEvent(vs)
	return vs
}

// lastBefore returns the last of evs (event indices, ascending) before the event i.
func lastBefore(evs []int, i int) (int, bool) {
	last, ok := 0, false
	for _, p := range evs {
		if p >= i {
			break
		}
		last, ok = p, true
	}
	return last, ok
}

// isWorkflowRead reports whether a request's "METHOD path" reads a workflow's output:
// /restate/workflow/{Service}/{Key}/output or /attach.
func isWorkflowRead(reason string) bool {
	_, path, ok := strings.Cut(reason, " ")
	if !ok {
		path = reason
	}
	path, _, _ = strings.Cut(path, "?")
	return strings.HasPrefix(path, "/restate/workflow/") &&
		(strings.HasSuffix(path, "/output") || strings.HasSuffix(path, "/attach"))
}

// retentionKey names one retention timer: repeats of a TimerArmed share it.
type retentionKey struct {
	inv                                   protocol.InvocationID
	index                                 uint32
	deadline                              time.Duration
	service, handler, key, idempotencyKey string
}

func retentionKeyOf(e Event) retentionKey {
	return retentionKey{e.Invocation, e.Index, e.Deadline, e.Service, e.Handler, e.Key, e.IdempotencyKey}
}

// keptBy reports whether the Purged event p carries out the retention k.
func (k retentionKey) keptBy(p Event) bool {
	if p.Deadline != k.deadline {
		return false
	}
	switch p.Reason {
	case purgeIdempotency:
		return k.idempotencyKey != "" && idempotencyTargetOf(p) == idempotencyTarget{k.service, k.handler, k.key, k.idempotencyKey}
	case purgeWorkflow:
		return k.idempotencyKey == "" && k.service != "" && p.Service == k.service && p.Key == k.key
	case purgeInvocation:
		return k.idempotencyKey == "" && !k.inv.IsZero() && p.Invocation == k.inv
	}
	return false
}

// String names what the retention timer will purge.
func (k retentionKey) String() string {
	switch {
	case k.idempotencyKey != "":
		return idempotencyTarget{k.service, k.handler, k.key, k.idempotencyKey}.String()
	case k.service != "":
		return fmt.Sprintf("workflow %s/%s", k.service, k.key)
	default:
		return fmt.Sprintf("the output of %s", k.inv)
	}
}

// purgeTarget names what a Purged event forgot.
func purgeTarget(e Event) string {
	switch e.Reason {
	case purgeIdempotency:
		return idempotencyTargetOf(e).String()
	case purgeWorkflow:
		return fmt.Sprintf("workflow %s/%s", e.Service, e.Key)
	case purgeInvocation:
		return "the invocation's output"
	default:
		return fmt.Sprintf("%q", e.Reason)
	}
}
