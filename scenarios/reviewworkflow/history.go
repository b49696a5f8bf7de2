package reviewworkflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// wfHistory indexes what the expected-outcome rules need of one workflow service in a history:
// who each invocation is, when it was accepted and finished, and per workflow key the events that
// change its run (run accepted, run done, workflow purged) and the completions of its promises.
//
// This file is the same in scenarios/reviewworkflow and scenarios/workflowexternal (only the
// package clause differs); it belongs in a shared internal package once one exists.
//
// Order in the history is what the rules reason with, never virtual time: the engine records a
// fact only once it is durable and releases a reply only after every fact it depended on, so
// whatever the engine did while serving a request lies between the request's ClientRequest and
// its ClientResponse.
type wfHistory struct {
	h       *checkers.History
	service string
	// accepted and done are the first InvocationAccepted (of the service) and InvocationDone of
	// each invocation.
	accepted map[protocol.InvocationID]int
	done     map[protocol.InvocationID]int
	// runs lists the run invocations in acceptance order.
	runs []protocol.InvocationID
	// purges, changes and completed are per workflow key: the Purged "workflow" events, the
	// events that change the key's run, and the PromiseCompleted events by promise name.
	purges    map[string][]int
	changes   map[string][]int
	completed map[string]map[string][]int
	// requests and responses are the first ClientRequest and ClientResponse of each request.
	requests  []int
	responses map[uint64]int
	// acceptedBy is, per run, the response that said "Accepted" for it (checkRunResponse).
	acceptedBy map[protocol.InvocationID]int
}

func newWFHistory(h *checkers.History, service string) *wfHistory {
	x := &wfHistory{
		h: h, service: service,
		accepted:   map[protocol.InvocationID]int{},
		done:       map[protocol.InvocationID]int{},
		purges:     map[string][]int{},
		changes:    map[string][]int{},
		completed:  map[string]map[string][]int{},
		responses:  map[uint64]int{},
		acceptedBy: map[protocol.InvocationID]int{},
	}
	seenRequest := map[uint64]bool{}
	for i, e := range h.Events {
		switch e.Kind {
		case checkers.InvocationAccepted:
			if e.Service != service {
				continue
			}
			if _, seen := x.accepted[e.Invocation]; seen {
				continue
			}
			x.accepted[e.Invocation] = i
			if e.Handler == durable.WorkflowRunHandler {
				x.runs = append(x.runs, e.Invocation)
				x.changes[e.Key] = append(x.changes[e.Key], i)
			}
		case checkers.InvocationDone:
			if _, seen := x.done[e.Invocation]; seen {
				continue
			}
			x.done[e.Invocation] = i
			if a, ok := x.accepted[e.Invocation]; ok && h.Events[a].Handler == durable.WorkflowRunHandler {
				k := h.Events[a].Key
				x.changes[k] = append(x.changes[k], i)
			}
		case checkers.Purged:
			if e.Service == service && e.Reason == "workflow" {
				x.purges[e.Key] = append(x.purges[e.Key], i)
				x.changes[e.Key] = append(x.changes[e.Key], i)
			}
		case checkers.PromiseCompleted:
			if e.Service != service {
				continue
			}
			if x.completed[e.Key] == nil {
				x.completed[e.Key] = map[string][]int{}
			}
			x.completed[e.Key][e.Promise] = append(x.completed[e.Key][e.Promise], i)
		case checkers.ClientRequest:
			if !seenRequest[e.Request] {
				seenRequest[e.Request] = true
				x.requests = append(x.requests, i)
			}
		case checkers.ClientResponse:
			if _, seen := x.responses[e.Request]; !seen {
				x.responses[e.Request] = i
			}
		}
	}
	return x
}

// invocation returns the InvocationAccepted event of inv, if it is one of the service's.
func (x *wfHistory) invocation(inv protocol.InvocationID) (checkers.Event, int, bool) {
	a, ok := x.accepted[inv]
	if !ok {
		return checkers.Event{}, -1, false
	}
	return x.h.Events[a], a, true
}

// isRun reports whether inv is a run of key.
func (x *wfHistory) isRun(inv protocol.InvocationID, key string) bool {
	e, _, ok := x.invocation(inv)
	return ok && e.Handler == durable.WorkflowRunHandler && e.Key == key
}

// epoch is the number of purges of key recorded before event i: the workflow epoch i falls in.
func (x *wfHistory) epoch(key string, i int) int {
	n := 0
	for _, p := range x.purges[key] {
		if p < i {
			n++
		}
	}
	return n
}

// nextPurge is the first purge of key recorded after event i, or len(events) if none.
func (x *wfHistory) nextPurge(key string, i int) int {
	for _, p := range x.purges[key] {
		if p > i {
			return p
		}
	}
	return len(x.h.Events)
}

// completions returns the PromiseCompleted events of promise of key in epoch e, in order.
func (x *wfHistory) completions(key, promise string, e int) []int {
	var out []int
	for _, c := range x.completed[key][promise] {
		if x.epoch(key, c) == e {
			out = append(out, c)
		}
	}
	return out
}

// liveDuring returns the completions of promise of key that an operation spanning events from
// to to could have seen: recorded before to, in an epoch that had not ended (been purged) by from.
func (x *wfHistory) liveDuring(key, promise string, from, to int) []int {
	var out []int
	for _, c := range x.completed[key][promise] {
		if c < to && x.nextPurge(key, c) > from {
			out = append(out, c)
		}
	}
	return out
}

// purgedWith reports whether the workflow of key was purged in the same engine step as event d:
// the next purge of key is recorded at the same virtual time as d. The engine fails the shared
// handlers still running on a key as it purges it, recording their outputs just before the purge.
func (x *wfHistory) purgedWith(key string, d int) bool {
	p := x.nextPurge(key, d)
	return p < len(x.h.Events) && x.h.Events[p].At == x.h.Events[d].At
}

// purgedFailure is how the engine ends a shared handler of key still running when the key's
// workflow is purged: what it read, waited for or completed belonged to the purged run.
func (x *wfHistory) purgedFailure(key string) journal.Result {
	return journal.Result{Failure: &journal.Failure{Code: 404, Message: fmt.Sprintf("workflow %s with key %q was purged at the end of its retention", x.service, key)}}
}

// route is which workflow route a ClientRequest took.
type route uint8

const (
	routeOther route = iota
	routeRunCall
	routeRunSend
	routeAttach
	routeOutput
	// routeShared is a call of a shared handler (req.Handler names it).
	routeShared
)

func (x *wfHistory) routeOf(req checkers.Event) route {
	method, path, _ := strings.Cut(req.Reason, " ")
	if req.Service != x.service {
		return routeOther
	}
	switch {
	case method == http.MethodPost && req.Handler == durable.WorkflowRunHandler && strings.HasSuffix(path, "/send"):
		return routeRunSend
	case method == http.MethodPost && req.Handler == durable.WorkflowRunHandler:
		return routeRunCall
	case method == http.MethodPost && req.Handler != "" && !strings.HasSuffix(path, "/send"):
		return routeShared
	case method == http.MethodGet && strings.HasPrefix(path, "/restate/workflow/") && strings.HasSuffix(path, "/attach"):
		return routeAttach
	case method == http.MethodGet && strings.HasPrefix(path, "/restate/workflow/") && strings.HasSuffix(path, "/output"):
		return routeOutput
	}
	return routeOther
}

// failFunc reports a violation about inv, naming events.
type failFunc func(inv protocol.InvocationID, events []int, format string, args ...any)

// eachResponse calls fn for every answered request (not a connection failure) to the service's
// routes, in the order the requests were sent, with the response's body.
func (x *wfHistory) eachResponse(fail failFunc, fn func(rt route, i, j int, req, resp checkers.Event, body []byte)) {
	for _, i := range x.requests {
		req := x.h.Events[i]
		rt := x.routeOf(req)
		j, ok := x.responses[req.Request]
		if rt == routeOther || !ok || x.h.Events[j].Status == 0 {
			continue
		}
		resp := x.h.Events[j]
		body, ok := responseBody(req, resp)
		if !ok {
			fail(resp.Invocation, []int{i, j}, "cannot read the body of %q", resp.Reason)
			continue
		}
		fn(rt, i, j, req, resp, body)
	}
}

// checkRunResponse checks the answer j to request i on a run route against what the key held
// while it was served: a synchronous /run answers 200 only for the run it created, with that
// run's expected output, else 409 "already invoked" while a run existed; /run/send answers 202
// naming a run that existed, "Accepted" only for the request that created it (whose input,
// inputs[client], is the run's input) and at most once per run; attach answers a run's expected
// output or 404 while no run existed; output answers 200 with the expected output of a finished
// run, 470 while the run was unfinished, 404 while there was none. expected maps each run to its
// expected output.
func (x *wfHistory) checkRunResponse(rt route, i, j int, req, resp checkers.Event, body []byte, expected map[protocol.InvocationID]journal.Result, inputs map[string][]byte, fail failFunc) {
	key := req.Key
	alreadyInvoked := ingress.WorkflowAlreadyInvokedResponse().Body
	acceptedBy := x.acceptedBy
	unexpected := func() {
		fail(resp.Invocation, []int{i, j}, "%s got unexpected status %d %s", req.Reason, resp.Status, body)
	}
	// runOut checks a response that carries the output of run inv of key.
	runOut := func(inv protocol.InvocationID) bool {
		if !x.isRun(inv, key) {
			fail(inv, []int{i, j}, "%s got %d naming %s, which is not a run of key %s", req.Reason, resp.Status, inv, key)
			return false
		}
		want, ok := expected[inv]
		if !ok {
			fail(inv, []int{i, j}, "%s got %d %s from a run with no expected output", req.Reason, resp.Status, resp.Result)
			return false
		}
		if resp.Entry.Kind != journal.KindOutput || !want.Equal(resp.Result) {
			fail(inv, []int{i, j}, "%s got %d %s, want the run's output %s", req.Reason, resp.Status, resp.Result, want)
			return false
		}
		return true
	}
	switch rt {
	case routeRunCall:
		switch resp.Status {
		case http.StatusOK:
			if !runOut(resp.Invocation) {
				return
			}
			if a := x.accepted[resp.Invocation]; a < i || a > j {
				fail(resp.Invocation, []int{i, a, j}, "synchronous %s got the output of run %s, which it did not create", req.Reason, resp.Invocation)
			} else {
				x.checkInput(req, i, j, resp.Invocation, inputs, fail)
			}
		case http.StatusConflict:
			if !bytes.Equal(body, alreadyInvoked) {
				fail(resp.Invocation, []int{i, j}, "%s got 409 %s, want %s", req.Reason, body, alreadyInvoked)
			}
			if !x.anyState(key, i, j, func(s runState) bool { return !s.run.IsZero() }) {
				fail(resp.Invocation, []int{i, j}, "%s got 409 already invoked, but key %s held no run while it was served", req.Reason, key)
			}
		default:
			unexpected()
		}
	case routeRunSend:
		if resp.Status != http.StatusAccepted {
			unexpected()
			return
		}
		var ab struct {
			InvocationID string `json:"invocationId"`
			Status       string `json:"status"`
		}
		if err := json.Unmarshal(body, &ab); err != nil {
			fail(resp.Invocation, []int{i, j}, "%s got 202 %s: %v", req.Reason, body, err)
			return
		}
		inv := resp.Invocation
		if !x.isRun(inv, key) {
			fail(inv, []int{i, j}, "%s got 202 naming %s, which is not a run of key %s", req.Reason, inv, key)
			return
		}
		if !x.anyState(key, i, j, func(s runState) bool { return s.run == inv }) {
			fail(inv, []int{i, j}, "%s got 202 naming run %s, which key %s did not hold while it was served", req.Reason, inv, key)
		}
		switch ab.Status {
		case "Accepted":
			if a := x.accepted[inv]; a < i || a > j {
				fail(inv, []int{i, a, j}, "%s got 202 Accepted for run %s, which it did not create (a duplicate must get PreviouslyAccepted)", req.Reason, inv)
			} else {
				x.checkInput(req, i, j, inv, inputs, fail)
			}
			if prev, dup := acceptedBy[inv]; dup {
				fail(inv, []int{prev, j}, "run %s of key %s was Accepted twice", inv, key)
			}
			acceptedBy[inv] = j
		case "PreviouslyAccepted":
		default:
			fail(inv, []int{i, j}, "%s got 202 with status %q", req.Reason, ab.Status)
		}
	case routeAttach:
		switch resp.Status {
		case http.StatusOK:
			inv := resp.Invocation
			if !runOut(inv) {
				return
			}
			if d := x.done[inv]; d > j || !x.anyState(key, i, j, func(s runState) bool { return s.run == inv }) {
				fail(inv, []int{i, j}, "%s got the output of run %s, which key %s did not hold (finished) while it was served", req.Reason, inv, key)
			}
		case http.StatusNotFound:
			if !x.anyState(key, i, j, func(s runState) bool { return s.run.IsZero() }) {
				fail(resp.Invocation, []int{i, j}, "%s got 404, but key %s held a run all the while it was served", req.Reason, key)
			}
		default:
			unexpected()
		}
	case routeOutput:
		switch resp.Status {
		case http.StatusOK:
			inv := resp.Invocation
			if !runOut(inv) {
				return
			}
			if !x.anyState(key, i, j, func(s runState) bool { return s.run == inv && s.done }) {
				fail(inv, []int{i, j}, "%s got the output of run %s, which key %s did not hold finished while it was served", req.Reason, inv, key)
			}
		case ingress.StatusNotReady:
			if !x.anyState(key, i, j, func(s runState) bool { return !s.run.IsZero() && !s.done }) {
				fail(resp.Invocation, []int{i, j}, "%s got 470, but key %s held no unfinished run while it was served", req.Reason, key)
			}
		case http.StatusNotFound:
			if !x.anyState(key, i, j, func(s runState) bool { return s.run.IsZero() }) {
				fail(resp.Invocation, []int{i, j}, "%s got 404, but key %s held a run all the while it was served", req.Reason, key)
			}
		default:
			unexpected()
		}
	}
}

// checkPurgedBody checks that a 404 to a shared handler's call is the failure a purge ends it with.
func (x *wfHistory) checkPurgedBody(i, j int, req, resp checkers.Event, body []byte, fail failFunc) {
	var eb errorBody
	pf := x.purgedFailure(req.Key).Failure
	if json.Unmarshal(body, &eb) != nil || eb.Code != int(pf.Code) || eb.Message != pf.Message || eb.Source != "invocation" {
		fail(resp.Invocation, []int{i, j}, "%s got 404 %s, want the purge failure %q", req.Reason, body, pf.Message)
	}
}

// checkInput checks that run inv, created by request i (answered by j), took that request's
// input (inputs[client], the JSON body that client sent), not a duplicate's.
func (x *wfHistory) checkInput(req checkers.Event, i, j int, inv protocol.InvocationID, inputs map[string][]byte, fail failFunc) {
	in, ok := inputs[req.Node]
	d, done := x.done[inv]
	if !ok || !done {
		return
	}
	j0 := x.h.Events[d].Journal
	if len(j0) == 0 {
		return
	}
	if !bytes.Equal(j0[0].Result.Value, in) {
		fail(inv, []int{i, j, d}, "run %s was created by %s of %s with input %s, but its input is %s", inv, req.Node, req.Reason, in, j0[0].Result)
	}
}

// runState is what a workflow key holds at one moment: its run (zero if none: never started, or
// purged) and whether that run has finished.
type runState struct {
	run  protocol.InvocationID
	done bool
}

// stateAfter is key's state once events 0..j have happened.
func (x *wfHistory) stateAfter(key string, j int) runState {
	var s runState
	for _, c := range x.changes[key] {
		if c > j {
			break
		}
		e := x.h.Events[c]
		switch e.Kind {
		case checkers.InvocationAccepted:
			s = runState{run: e.Invocation}
		case checkers.InvocationDone:
			if e.Invocation == s.run {
				s.done = true
			}
		case checkers.Purged:
			s = runState{}
		}
	}
	return s
}

// statesDuring returns every state key was in at some moment between events from and to.
func (x *wfHistory) statesDuring(key string, from, to int) []runState {
	out := []runState{x.stateAfter(key, from)}
	for _, c := range x.changes[key] {
		if c > from && c < to {
			out = append(out, x.stateAfter(key, c))
		}
	}
	return out
}

// anyState reports whether key was in a state satisfying ok at some moment between from and to.
func (x *wfHistory) anyState(key string, from, to int, ok func(runState) bool) bool {
	for _, s := range x.statesDuring(key, from, to) {
		if ok(s) {
			return true
		}
	}
	return false
}

// responseBody returns the body of a response, which the simulator records in the response's
// Reason as "METHOD path: STATUS body" after the request's "METHOD path".
func responseBody(req, resp checkers.Event) ([]byte, bool) {
	b, ok := strings.CutPrefix(resp.Reason, req.Reason+": "+strconv.Itoa(resp.Status)+" ")
	if !ok && resp.Reason == req.Reason+": "+strconv.Itoa(resp.Status) {
		return nil, true
	}
	return []byte(b), ok
}

// errorBody is Restate's error body.
type errorBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Source  string `json:"source"`
}

func decodeString(b []byte) (string, error) {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return "", fmt.Errorf("%q is not a JSON string: %v", b, err)
	}
	return s, nil
}
