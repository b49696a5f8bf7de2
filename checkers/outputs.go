package checkers

import (
	"fmt"
	"slices"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// outputsName is the Checker name of Outputs' violations.
const outputsName = "outputs"

// Outputs checks that every client sees an invocation's one output, and that idempotent and
// workflow submissions reach one invocation (DESIGN.md, "What the checkers prove", item 4):
//
//   - a ClientResponse that carries an output (Entry.Kind is journal.KindOutput) names an
//     Invocation, that invocation has an InvocationDone, and the output equals the Result of its
//     first one (ExactlyOnce judges any further one). The InvocationDone may be recorded anywhere
//     in the history: whether the reply left before its output was durable is durability's
//     question, not this one;
//   - idempotent retries: the responses that name an Invocation, to ClientRequests whose
//     bytes (ParseClientRequest) name the same non-empty (Service, Handler, Key, Idempotency-Key), all name the same invocation, unless the
//     idempotency key was purged (PurgeIdempotency of that tuple) between them;
//   - workflow submissions: the responses that name an Invocation, to calls and sends of a
//     workflow's run, for one Service/Key, all name the same invocation, unless the workflow was purged
//     (PurgeWorkflow) between them.
//
// "Between" two requests is generous, because the engine may have handled each request at any
// time from its sending to its response: a purge recorded after the earlier request was sent and
// before the later of the two responses arrived excuses a new invocation. Each submission is
// compared with the previous one of its group (in the order the requests were sent), so one
// stray invocation is reported where it appears and again where the group returns to the old one.
//
// Only the first ClientRequest and the first ClientResponse recorded per Request number count.
// Violations are sorted by their first event index.
func Outputs(h History) []Violation { return outputs(NewIndex(&h)) }

func outputs(x *Index) []Violation {
	h := x.H
	var vs []Violation

	done := &x.Done
	idemPurges := make(map[idempotencyTarget][]int)
	wfPurges := make(map[workflowKey][]int)
	for _, i := range x.Purges {
		e := &h.Events[i]
		switch e.Purge {
		case event.PurgeIdempotency:
			k := idempotencyTargetOf(*e)
			idemPurges[k] = append(idemPurges[k], i)
		case event.PurgeWorkflow:
			k := workflowKey{e.Service, e.Key}
			wfPurges[k] = append(wfPurges[k], i)
		}
	}

	// Every output a client received is the invocation's one output.
	for _, i := range x.ofKind(ClientResponse) {
		e := &h.Events[i]
		if first, _ := x.FirstResponse(e.Request); e.Entry.Kind != journal.KindOutput || first != i {
			continue
		}
		var buf [3]int // the events a violation names, on the stack: most responses make none
		evs := append(buf[:0], i)
		if r, ok := x.FirstRequest(e.Request); ok {
			evs = append(evs, r)
		}
		d, ok := done.Lookup(e.Invocation)
		switch {
		case e.Invocation.IsZero():
			vs = append(vs, newViolation(outputsName, e.Invocation,
				fmt.Sprintf("response to request %d (status %d) carries output %s but names no invocation",
					e.Request, e.Status, e.Result),
				evs...))
		case !ok:
			vs = append(vs, newViolation(outputsName, e.Invocation,
				fmt.Sprintf("response to request %d (status %d) carries output %s, but the invocation never finished (no invocation-done)",
					e.Request, e.Status, e.Result),
				evs...))
		case !e.Result.Equal(h.Events[d].Result):
			vs = append(vs, newViolation(outputsName, e.Invocation,
				fmt.Sprintf("response to request %d (status %d) carries output %s, but the invocation's output is %s",
					e.Request, e.Status, e.Result, h.Events[d].Result),
				append(evs, d)...))
		}
	}

	// Group the submissions that must reach one invocation, in the order the requests were sent,
	// by what the client sent (never by what the runtime made of it).
	// A history's few keys are found by a short search: hashing four strings per request cost
	// more. The map is the index's room, emptied here.
	idem := &x.room.idem
	idem.reset()
	var idemOrder []idempotencyTarget
	var firsts []submission
	wf := make(map[workflowKey][]submission)
	var wfOrder []workflowKey
	for _, n := range x.RequestOrder {
		pr := x.parsed(n)
		if pr.Kind != RequestCall && pr.Kind != RequestSend {
			continue
		}
		r, ok := x.FirstResponse(n)
		if !ok || h.Events[r].Invocation.IsZero() {
			continue
		}
		req, _ := x.FirstRequest(n)
		s := submission{req: req, resp: r, inv: h.Events[r].Invocation}
		if pr.IdempotencyKey != "" {
			k := idempotencyTarget{pr.Service, pr.Handler, pr.Key, pr.IdempotencyKey}
			if n := idem.find(k); n >= 0 {
				idem.vals[n] = append(idem.vals[n], s)
			} else {
				// A key's first submission takes one element of one, capped so that its
				// second moves the list out: one allocation for the keys sent once, and
				// their order's room made once.
				if firsts == nil {
					n := keyed(x)
					firsts, idemOrder = reuse(x.room.firsts, n), reuse(x.room.idemOrder, n)[:0]
					x.room.firsts, x.room.idemOrder = firsts, idemOrder
				}
				firsts[0] = s
				idem.vals[idem.insert(k)], firsts = firsts[:1:1], firsts[1:]
				idemOrder = append(idemOrder, k)
			}
		}
		if pr.Workflow {
			k := workflowKey{pr.Service, pr.Key}
			if wf[k] == nil {
				wfOrder = append(wfOrder, k)
			}
			wf[k] = append(wf[k], s)
		}
	}
	for _, k := range idemOrder {
		vs = append(vs, sameInvocation(*h, idem.get(k), idemPurges[k], func(a, b submission) string {
			return fmt.Sprintf("idempotent retry: request %d to %s got invocation %s, but request %d with the same idempotency key got %s, and the key was not purged between them",
				h.Events[b.req].Request, k, b.inv, h.Events[a.req].Request, a.inv)
		})...)
	}
	for _, k := range wfOrder {
		vs = append(vs, sameInvocation(*h, wf[k], wfPurges[k], func(a, b submission) string {
			return fmt.Sprintf("workflow %s/%s: run request %d got invocation %s, but run request %d got %s, and the workflow was not purged between them",
				k.service, k.key, h.Events[b.req].Request, b.inv, h.Events[a.req].Request, a.inv)
		})...)
	}

	sortByFirstEvent(vs)
	return vs
}

// keyed counts the calls and sends sent with an idempotency key: at most that many keys.
func keyed(x *Index) int {
	n := 0
	for _, r := range x.RequestOrder {
		if e := x.entry(r); e != nil && (e.parsed.Kind == RequestCall || e.parsed.Kind == RequestSend) && e.parsed.IdempotencyKey != "" {
			n++
		}
	}
	return n
}

// workflowKey names one workflow (or one object key): its service and its key.
type workflowKey struct {
	service, key string
}

// idempotencyTarget is what an idempotency key is scoped to, with the key itself.
type idempotencyTarget struct {
	service, handler, key, idempotencyKey string
}

func idempotencyTargetOf(e Event) idempotencyTarget {
	return idempotencyTarget{e.Service, e.Handler, e.Key, e.IdempotencyKey}
}

// String renders the target as service/handler[/key] with the idempotency key quoted.
func (t idempotencyTarget) String() string {
	s := t.service + "/" + t.handler
	if t.key != "" {
		s += "/" + t.key
	}
	return fmt.Sprintf("%s (idempotency key %q)", s, t.idempotencyKey)
}

// submission is a request whose response named an invocation.
type submission struct {
	req, resp int
	inv       protocol.InvocationID
}

// sameInvocation reports each submission that names another invocation than the previous one
// of its group, unless one of purges (event indices, ascending) lies after the earlier request
// was sent and before the later of the two responses arrived.
func sameInvocation(h History, subs []submission, purges []int, msg func(prev, cur submission) string) []Violation {
	var vs []Violation
	for n := 1; n < len(subs); n++ {
		a, b := subs[n-1], subs[n]
		if a.inv == b.inv || purgedBetween(purges, a.req, max(a.resp, b.resp)) {
			continue
		}
		vs = append(vs, newViolation(outputsName, b.inv, msg(a, b), a.req, a.resp, b.req, b.resp))
	}
	return vs
}

// purgedBetween reports whether one of purges (event indices, ascending) lies strictly between
// the events lo and hi.
func purgedBetween(purges []int, lo, hi int) bool {
	n, _ := slices.BinarySearch(purges, lo+1)
	return n < len(purges) && purges[n] < hi
}
