package idempotency

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/scenarios/internal/wfcheck"
)

// CheckerName is the Checker of the violations Check reports.
const CheckerName = "idempotency"

// invocation is what the history shows of one invocation: its acceptance a, its first output d
// and the forgetting of its idempotency key p (-1 when none).
type invocation struct {
	target Target
	idem   string
	a, d   int
	p      int
}

// index reads the history once for Check.
type index struct {
	h    *checkers.History
	invs map[protocol.InvocationID]*invocation
	// byKey lists, per target and idempotency key, its invocations in acceptance order.
	byKey map[Target]map[string][]protocol.InvocationID
	// started is each invocation's first AttemptStarted; timers its retry TimerFired events.
	started map[protocol.InvocationID]int
	timers  map[protocol.InvocationID][]int
	// tries lists, per target and key, every call and send of them: request and answer (-1:
	// none, or a connection error).
	tries map[opKey][]try
	// acceptedBy is, per invocation, the send answer that said "Accepted" for it.
	acceptedBy map[protocol.InvocationID]int
}

type opKey struct {
	target Target
	idem   string
}

type try struct{ i, j int }

func newIndex(h *checkers.History) *index {
	x := &index{h: h, invs: map[protocol.InvocationID]*invocation{}, byKey: map[Target]map[string][]protocol.InvocationID{},
		started: map[protocol.InvocationID]int{}, timers: map[protocol.InvocationID][]int{},
		tries: map[opKey][]try{}, acceptedBy: map[protocol.InvocationID]int{}}
	for i, e := range h.Events {
		switch e.Kind {
		case checkers.InvocationAccepted:
			if x.invs[e.Invocation] != nil {
				continue
			}
			t := Target{e.Service, e.Handler, e.Key}
			x.invs[e.Invocation] = &invocation{target: t, idem: e.IdempotencyKey, a: i, d: -1, p: -1}
			if e.IdempotencyKey != "" {
				if x.byKey[t] == nil {
					x.byKey[t] = map[string][]protocol.InvocationID{}
				}
				x.byKey[t][e.IdempotencyKey] = append(x.byKey[t][e.IdempotencyKey], e.Invocation)
			}
		case checkers.InvocationDone:
			if inv := x.invs[e.Invocation]; inv != nil && inv.d < 0 {
				inv.d = i
			}
		case checkers.Purged:
			if inv := x.invs[e.Invocation]; inv != nil && e.Purge == event.PurgeIdempotency && inv.p < 0 {
				inv.p = i
			}
		case checkers.AttemptStarted:
			if _, ok := x.started[e.Invocation]; !ok {
				x.started[e.Invocation] = i
			}
		case checkers.TimerFired:
			if e.Timer == event.TimerRetry {
				x.timers[e.Invocation] = append(x.timers[e.Invocation], i)
			}
		}
	}
	return x
}

// indexTries fills x.tries from the requests of ops.
func (x *index) indexTries(ops map[string]op) {
	at := map[uint64]int{}
	for k, e := range x.h.Events {
		o, mine := ops[e.Node]
		if !mine || (o.kind != opCall && o.kind != opSend) {
			continue
		}
		key := opKey{o.target, o.idem}
		switch e.Kind {
		case checkers.ClientRequest:
			at[e.Request] = len(x.tries[key])
			x.tries[key] = append(x.tries[key], try{k, -1})
		case checkers.ClientResponse:
			if n, ok := at[e.Request]; ok && e.Status != 0 {
				x.tries[key][n].j = k
			}
		}
	}
}

// held reports whether an invocation of t held key idem at event i: accepted at or before i,
// its key not yet forgotten.
func (x *index) held(t Target, idem string, i int) bool {
	for _, id := range x.byKey[t][idem] {
		inv := x.invs[id]
		if inv.a <= i && (inv.p < 0 || inv.p > i) {
			return true
		}
	}
	return false
}

// Check states the scenario's expected outcome over a recorded history. ops maps each client to
// the request it sent (its target, idempotency key and delay, as the workload built it); skew is
// the fault plan's bound on the runtime clock's error. The rules, each named in its violations:
//
//   - scope: a call or send with a key is answered with an invocation of the very target it
//     addressed (service, handler and object key), accepted with that key: one key sent to two
//     targets gives two invocations;
//   - remembered: an answer with an invocation the request did not create names one whose key
//     had not been forgotten before the request was sent;
//   - fresh: a request that created an invocation found no invocation of its target holding its
//     key: each earlier one's key was forgotten before the new one was accepted;
//   - expiry: a key is forgotten no earlier than IdempotencyRetention after its invocation
//     finished, by the runtime's clock;
//   - send-status: a send is answered "Accepted" exactly when it created the invocation, else
//     "PreviouslyAccepted";
//   - output: a 200 carries the output of the invocation it names, which finished before it;
//     attach and output by key name an invocation of their target and key that held it while
//     they were served; 470 only while such an invocation was unfinished; 404 only when at some
//     moment while they were served no invocation held the key;
//   - delay: a delayed send's invocation starts no earlier than the delay the client sent after
//     the request, in true time less twice the clock's skew bound, and by the runtime's clock its
//     start was decided at least the delay after its acceptance.
func Check(h *checkers.History, ops map[string]op, skew time.Duration) []checkers.Violation {
	x := newIndex(h)
	x.indexTries(ops)
	var vs []checkers.Violation
	fail := func(inv protocol.InvocationID, events []int, rule, format string, args ...any) {
		vs = append(vs, checkers.Violation{Checker: CheckerName, Invocation: inv, Message: rule + ": " + fmt.Sprintf(format, args...), Events: events})
	}
	for id, inv := range x.invs {
		if inv.p >= 0 && inv.d >= 0 {
			done, purged := h.Events[inv.d], h.Events[inv.p]
			if purged.NodeClock() < done.NodeClock()+IdempotencyRetention {
				fail(id, []int{inv.d, inv.p}, "expiry", "key %q of %s forgotten %s after its invocation finished, before the declared %s", inv.idem, inv.target, purged.NodeClock()-done.NodeClock(), IdempotencyRetention)
			}
		}
	}
	requests := map[uint64]int{}
	for j, resp := range h.Events {
		switch resp.Kind {
		case checkers.ClientRequest:
			requests[resp.Request] = j
			continue
		case checkers.ClientResponse:
		default:
			continue
		}
		o, mine := ops[resp.Node]
		i, sent := requests[resp.Request]
		if !mine || !sent || resp.Status == 0 {
			continue
		}
		body, ok := wfcheck.ResponseBody(resp)
		if !ok {
			fail(resp.Invocation, []int{i, j}, "output", "cannot read the body of %q", resp.Reason)
			continue
		}
		switch o.kind {
		case opCall, opSend:
			x.checkInvoke(o, i, j, body, fail)
		default:
			x.checkLookup(o, i, j, body, fail)
		}
	}
	x.checkDelays(ops, requests, skew, fail)
	return vs
}

type failFunc func(inv protocol.InvocationID, events []int, rule, format string, args ...any)

// checkInvoke judges the answer j to a call or send i.
func (x *index) checkInvoke(o op, i, j int, body []byte, fail failFunc) {
	h := x.h
	resp := &h.Events[j]
	wantStatus := http.StatusOK
	if o.kind == opSend {
		wantStatus = http.StatusAccepted
	}
	if resp.Status != wantStatus {
		fail(resp.Invocation, []int{i, j}, "output", "%s %s got unexpected status %d %s", o.target, o.idem, resp.Status, body)
		return
	}
	id := resp.Invocation
	inv := x.invs[id]
	if inv == nil {
		fail(id, []int{i, j}, "scope", "%s answered with %s, which was never accepted", h.Events[i].Reason, id)
		return
	}
	if inv.target != o.target || (o.idem != "" && inv.idem != o.idem) {
		fail(id, []int{i, j}, "scope", "%s with key %q was answered with an invocation of %s with key %q", o.target, o.idem, inv.target, inv.idem)
		return
	}
	created := i < inv.a && inv.a < j
	switch {
	case created && o.idem != "":
		for _, other := range x.byKey[o.target][o.idem] {
			if prev := x.invs[other]; other != id && prev.a < inv.a && (prev.p < 0 || prev.p > inv.a) {
				fail(id, []int{prev.a, i, inv.a, j}, "fresh", "%s with key %q started a fresh invocation while %s still held the key", o.target, o.idem, other)
			}
		}
	case !created && o.idem == "":
		fail(id, []int{i, inv.a, j}, "scope", "%s without a key was answered with %s, which it did not create", o.target, id)
	case !created:
		if inv.a > j {
			fail(id, []int{i, j, inv.a}, "remembered", "%s was answered with %s, accepted only later", o.target, id)
		} else if inv.p >= 0 && inv.p < i {
			fail(id, []int{inv.p, i, j}, "remembered", "%s with key %q was answered with %s, whose key was forgotten before the request", o.target, o.idem, id)
		}
	}
	if o.kind == opSend {
		var ab struct {
			Status string `json:"status"`
		}
		_ = json.Unmarshal(body, &ab)
		switch {
		case ab.Status == "Accepted" && !created:
			fail(id, []int{i, inv.a, j}, "send-status", "%s with key %q got Accepted for %s, which it did not create", o.target, o.idem, id)
		case ab.Status == "Accepted" && x.wasAccepted(id):
			fail(id, []int{x.acceptedBy[id], j}, "send-status", "%s was Accepted twice", id)
		case ab.Status == "Accepted":
			x.acceptedBy[id] = j
		case ab.Status != "PreviouslyAccepted":
			fail(id, []int{i, j}, "send-status", "%s with key %q got status %q", o.target, o.idem, ab.Status)
		case created && o.idem != "" && x.contenders(o, inv.a) == 1:
			fail(id, []int{i, inv.a, j}, "send-status", "%s with key %q got PreviouslyAccepted for %s, which it alone can have created", o.target, o.idem, id)
		}
		return
	}
	x.checkOutput(id, inv, i, j, fail)
}

// wasAccepted reports whether a send answer already said "Accepted" for id.
func (x *index) wasAccepted(id protocol.InvocationID) bool {
	_, ok := x.acceptedBy[id]
	return ok
}

// contenders counts the requests of o's target and key that were in flight at event a: sent
// before it and not answered before it. Several of them can have created the invocation a
// accepted; one alone must have.
func (x *index) contenders(o op, a int) int {
	n := 0
	for _, r := range x.tries[opKey{o.target, o.idem}] {
		if r.i < a && (r.j < 0 || r.j > a) {
			n++
		}
	}
	return n
}

// checkOutput judges a 200 answer j to request i that names inv.
func (x *index) checkOutput(id protocol.InvocationID, inv *invocation, i, j int, fail failFunc) {
	resp := &x.h.Events[j]
	if inv.d < 0 || inv.d > j {
		fail(id, []int{i, j}, "output", "%s got 200 for %s, which had not finished", x.h.Events[i].Reason, id)
		return
	}
	if out := x.h.Events[inv.d].Result; !out.Equal(resp.Result) {
		fail(id, []int{inv.d, i, j}, "output", "%s got %s, the output of %s is %s", x.h.Events[i].Reason, resp.Result, id, out)
	}
}

// checkLookup judges the answer j to an attach or output by idempotency key i.
func (x *index) checkLookup(o op, i, j int, body []byte, fail failFunc) {
	resp := &x.h.Events[j]
	switch resp.Status {
	case http.StatusOK:
		inv := x.invs[resp.Invocation]
		if inv == nil || inv.target != o.target || inv.idem != o.idem {
			fail(resp.Invocation, []int{i, j}, "output", "%s got 200 naming %s, not an invocation of %s with key %q", x.h.Events[i].Reason, resp.Invocation, o.target, o.idem)
			return
		}
		if inv.p >= 0 && inv.p < i {
			fail(resp.Invocation, []int{inv.p, i, j}, "output", "%s answered from %s, whose key was forgotten before the request", x.h.Events[i].Reason, resp.Invocation)
		}
		x.checkOutput(resp.Invocation, inv, i, j, fail)
	case ingress.StatusNotReady:
		unfinished := false
		for _, id := range x.byKey[o.target][o.idem] {
			inv := x.invs[id]
			unfinished = unfinished || (inv.a < j && (inv.d < 0 || inv.d > i))
		}
		if o.kind != opOutput || !unfinished {
			fail(resp.Invocation, []int{i, j}, "output", "%s got 470, but no invocation of %s with key %q was unfinished while it was served", x.h.Events[i].Reason, o.target, o.idem)
		}
	case http.StatusNotFound:
		for k := i; k <= j; k++ {
			if !x.held(o.target, o.idem, k) {
				return
			}
		}
		fail(resp.Invocation, []int{i, j}, "output", "%s got 404 %s, but an invocation of %s held key %q all the while it was served", x.h.Events[i].Reason, body, o.target, o.idem)
	default:
		fail(resp.Invocation, []int{i, j}, "output", "%s got unexpected status %d %s", x.h.Events[i].Reason, resp.Status, body)
	}
}

// checkDelays judges every delayed send that created its invocation: the invocation's first
// attempt started no earlier than the delay allows.
func (x *index) checkDelays(ops map[string]op, requests map[uint64]int, skew time.Duration, fail failFunc) {
	h := x.h
	for j, resp := range h.Events {
		o, mine := ops[resp.Node]
		if resp.Kind != checkers.ClientResponse || !mine || o.delay == 0 || resp.Status != http.StatusAccepted {
			continue
		}
		i := requests[resp.Request]
		inv := x.invs[resp.Invocation]
		if inv == nil || inv.a < i || inv.a > j {
			continue // not created by this request: judged above
		}
		s, ok := x.started[resp.Invocation]
		if !ok {
			continue // never started: the liveness check's to report
		}
		if early := h.Events[i].At + o.delay - skew*2 - h.Events[s].At; early > 0 {
			fail(resp.Invocation, []int{i, s}, "delay", "sent with delay %s, it started %s after the request (%s early)", o.delay, h.Events[s].At-h.Events[i].At, early)
		}
		acc := &h.Events[inv.a]
		decided := false
		for _, t := range x.timers[resp.Invocation] {
			if t < s && h.Events[t].NodeClock() >= acc.NodeClock()+o.delay {
				decided = true
			}
		}
		if !decided {
			fail(resp.Invocation, []int{inv.a, s}, "delay", "sent with delay %s, it started with no retry timer acted on %s after its acceptance by the runtime's clock", o.delay, o.delay)
		}
	}
}

// Check judges a run against the scenario's expected outcome.
func (wl *workload) Check(h *checkers.History) []checkers.Violation {
	return Check(h, wl.ops, wl.w.Plan().ClockSkewMax)
}
