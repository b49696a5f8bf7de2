package checkers

import (
	"fmt"
	"time"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// retentionName is the Checker name of Retention's violations.
const retentionName = "retention"

// DefaultRetention is the retention and idempotency retention of a service that declares none:
// a day, Restate's default and the engine's (RESTATE.md, "Suspension, retries, retention").
const DefaultRetention = 24 * time.Hour

// RetentionSlack is how far past its declared end, on the runtime's own clock, a retention may
// still be carried out. The simulator hands the engine a timer at the true time at which the
// engine's clock was predicted, when the timer was armed, to reach the deadline; a clock step in
// between (fault plans keep the runtime's clock within 10 s of the true time, so a step moves it
// by at most 20 s) makes the engine act that much later by its own clock. A second on top covers
// the sweep's own delivery (sync and send delays are tens of milliseconds). Stretches in which
// the runtime was paused or down excuse any lateness: it could act on nothing then.
const RetentionSlack = 21 * time.Second

// Retention checks that what a finished invocation leaves behind is forgotten when the
// scenario's declared configuration says, and that what was forgotten stays gone (DESIGN.md,
// "What the checkers prove", item 5). The expected end of a retention comes from the services'
// declarations (ServiceDeclared: Retention and IdempotencyRetention, DefaultRetention when zero)
// and the invocation's finish (its first InvocationDone, on the runtime's clock), never from the
// deadlines the engine announced:
//
//   - a workflow's run is purged with its workflow (PurgeWorkflow naming the run) at finish +
//     Retention; any other invocation's output (PurgeInvocation) at finish + Retention, or
//   - max(Retention, IdempotencyRetention) when it was called with an idempotency key (the
//     key is kept as long as the output it answers with); its key (PurgeIdempotency) with it;
//   - never early: a purge whose clock reading is before that end;
//   - never late: a purge more than RetentionSlack after it, unless the runtime was paused or
//     down in between;
//   - never missing: an end + RetentionSlack before the end of the run with no purge;
//   - reads after a purge find nothing: a request sent after a PurgeInvocation of X whose
//     response carries X's output; and a workflow attach or output of Service/Key sent after a
//     PurgeWorkflow of it whose response carries the output of a run the purge forgot. Either is
//     excused when the same invocation was accepted again between the purge and the response.
//
// Invocations of services nobody declared (histories written by hand) are judged by the last
// rule only. Violations are sorted by their first event index.
func Retention(h History) []Violation { return retention(NewIndex(&h)) }

func retention(x *Index) []Violation {
	h := x.H
	var vs []Violation
	// purged lists, per invocation, its purges of each kind, in history order.
	type purgeKey struct {
		inv  protocol.InvocationID
		kind event.PurgeKind
	}
	purged := map[purgeKey][]int{}
	invPurges := map[protocol.InvocationID][]int{}
	wfPurges := map[workflowKey][]int{}
	for _, p := range x.Purges {
		e := &h.Events[p]
		purged[purgeKey{e.Invocation, e.Purge}] = append(purged[purgeKey{e.Invocation, e.Purge}], p)
		switch e.Purge {
		case event.PurgeInvocation:
			invPurges[e.Invocation] = append(invPurges[e.Invocation], p)
		case event.PurgeWorkflow:
			k := workflowKey{e.Service, e.Key}
			wfPurges[k] = append(wfPurges[k], p)
		}
	}
	idempotent := idempotentInvocations(x)
	for _, inv := range x.DoneOrder {
		d := x.Done.Get(inv)
		a, ok := x.Accepted.Lookup(inv)
		if !ok {
			continue
		}
		acc := &h.Events[a]
		spec := x.Specs[acc.Service]
		if spec == nil {
			continue
		}
		run := acc.HandlerKind == event.HandlerWorkflow
		ret, why := declaredRetention(spec, run, idempotent.get(inv) || acc.IdempotencyKey != "")
		due := h.Events[d].NodeClock() + ret
		kinds := []event.PurgeKind{event.PurgeInvocation, event.PurgeIdempotency}
		if run {
			kinds = []event.PurgeKind{event.PurgeWorkflow}
		}
		purgedAny := false
		for _, kind := range kinds {
			for _, p := range purged[purgeKey{inv, kind}] {
				if p < d {
					continue
				}
				purgedAny = true
				vs = append(vs, judgePurge(x, inv, d, p, due, why)...)
			}
		}
		if !purgedAny && due+RetentionSlack < x.End {
			vs = append(vs, newViolation(retentionName, inv,
				fmt.Sprintf("finished at %v (runtime clock) with %s, so due to be purged at %v, but never purged (the run ended at %v, past the slack of %v)",
					h.Events[d].NodeClock(), why, due, x.End, RetentionSlack), d))
		}
	}
	vs = append(vs, readsAfterPurge(x, invPurges, wfPurges)...)
	sortByFirstEvent(vs)
	return vs
}

// declaredRetention is how long a finished invocation of spec is kept, by the declaration, and
// what says why (spelled out only in a violation's message, not for every finished invocation).
func declaredRetention(spec *protocol.ServiceSpec, run, idempotent bool) (time.Duration, retentionWhy) {
	ret, idem := spec.Retention, spec.IdempotencyRetention
	if ret <= 0 {
		ret = DefaultRetention
	}
	if idem <= 0 {
		idem = DefaultRetention
	}
	if !run && idempotent && idem > ret {
		return idem, retentionWhy{idem, true, spec.Name}
	}
	return ret, retentionWhy{ret, false, spec.Name}
}

// retentionWhy is the declaration a retention comes from: the retention d of service, its
// idempotency retention when idem.
type retentionWhy struct {
	d       time.Duration
	idem    bool
	service string
}

func (w retentionWhy) String() string {
	if w.idem {
		return fmt.Sprintf("the declared idempotency retention %v of %s", w.d, w.service)
	}
	return fmt.Sprintf("the declared retention %v of %s", w.d, w.service)
}

// judgePurge holds the purge p of inv (finished at event d) to the declared end due.
func judgePurge(x *Index, inv protocol.InvocationID, d, p int, due time.Duration, why retentionWhy) []Violation {
	e := &x.H.Events[p]
	c := e.NodeClock()
	switch {
	case c < due:
		return []Violation{newViolation(retentionName, inv,
			fmt.Sprintf("%s purged at %v (runtime clock), %v before the end of %s: due at %v, the finish at %v plus that",
				purgeTarget(*e), c, due-c, why, due, x.H.Events[d].NodeClock()), d, p)}
	case c > due+RetentionSlack && !Overlaps(x.RuntimeHeld, x.H.Events[d].At, e.At):
		return []Violation{newViolation(retentionName, inv,
			fmt.Sprintf("%s purged at %v (runtime clock), %v after the end of %s at %v, past the slack of %v",
				purgeTarget(*e), c, c-due, why, due, RetentionSlack), d, p)}
	}
	return nil
}

// idempotentInvocations are the invocations some client called with an idempotency key, as the
// client sent it: the invocation its response named. The map is the index's room: valid until
// the next call.
func idempotentInvocations(x *Index) *smallMap[protocol.InvocationID, bool] {
	out := &x.room.idempotent
	out.reset()
	for _, n := range x.RequestOrder {
		r := x.entry(n)
		if pr := &r.parsed; pr.IdempotencyKey == "" || (pr.Kind != RequestCall && pr.Kind != RequestSend) {
			continue
		}
		if r := r.response; r >= 0 && !x.H.Events[r].Invocation.IsZero() {
			out.set(x.H.Events[r].Invocation, true)
		}
	}
	return out
}

// readsAfterPurge reports outputs read after they were purged.
func readsAfterPurge(x *Index, invPurges map[protocol.InvocationID][]int, wfPurges map[workflowKey][]int) []Violation {
	// Every violation below reads after a purge of invPurges or of wfPurges (lastBefore finds
	// one): with neither, there is none to find, and most histories purge nothing.
	if len(invPurges) == 0 && len(wfPurges) == 0 {
		return nil
	}
	h := x.H
	var vs []Violation
	runs := map[workflowKey][]int{}
	accepted := map[protocol.InvocationID][]int{}
	// An invocation's first acceptance takes one element of one, capped so that an append (a
	// repeated acceptance) moves its list out instead of writing over the next: one allocation
	// instead of one per invocation.
	accs := x.ofKind(event.InvocationAccepted)
	first := reuse(x.room.accFirst, len(accs))
	x.room.accFirst = first
	for _, i := range accs {
		e := &h.Events[i]
		if prev, ok := accepted[e.Invocation]; ok {
			accepted[e.Invocation] = append(prev, i)
		} else {
			first[0] = i
			accepted[e.Invocation], first = first[:1:1], first[1:]
		}
		if e.HandlerKind == event.HandlerWorkflow {
			k := workflowKey{e.Service, e.Key}
			runs[k] = append(runs[k], i)
		}
	}
	for _, n := range x.RequestOrder {
		q := x.entry(n)
		i, r := q.request, q.response
		if r < 0 {
			continue
		}
		e, resp, pr := &h.Events[i], &h.Events[r], &q.parsed
		if resp.Entry.Kind != journal.KindOutput || resp.Invocation.IsZero() {
			continue
		}
		inv := resp.Invocation
		if p, ok := lastBefore(invPurges[inv], i); ok && !purgedBetween(accepted[inv], p, r) {
			vs = append(vs, newViolation(retentionName, inv,
				fmt.Sprintf("request %d (%s) sent at %v, after the invocation's output was purged at %v, got its output %s",
					n, e.Reason, e.At, h.Events[p].At, resp.Result), p, i, r))
			continue
		}
		if pr.Kind != RequestWorkflowAttach && pr.Kind != RequestWorkflowOutput {
			continue
		}
		wk := workflowKey{pr.Service, pr.Key}
		p, ok := lastBefore(wfPurges[wk], i)
		if !ok || purgedBetween(accepted[inv], p, r) {
			continue
		}
		forgot := h.Events[p].Invocation == inv
		for _, a := range runs[wk] {
			if a < p && h.Events[a].Invocation == inv {
				forgot = true
			}
		}
		if forgot {
			vs = append(vs, newViolation(retentionName, inv,
				fmt.Sprintf("request %d (%s) sent at %v, after workflow %s/%s was purged at %v, got its run's output %s",
					n, e.Reason, e.At, wk.service, wk.key, h.Events[p].At, resp.Result), p, i, r))
		}
	}
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

// purgeTarget names what a Purged event forgot.
func purgeTarget(e Event) string {
	switch e.Purge {
	case event.PurgeIdempotency:
		return idempotencyTargetOf(e).String()
	case event.PurgeWorkflow:
		return fmt.Sprintf("workflow %s/%s", e.Service, e.Key)
	case event.PurgeInvocation:
		return "the invocation's output"
	default:
		return e.Purge.String()
	}
}
