// Package wfcheck reads a simulation history per workflow key, for the expected outcomes of the
// workflow scenarios (scenarios/reviewworkflow and scenarios/workflowexternal): the workflow
// epochs between purges, the completions of each key's promises, the route each client request
// took and what the key held while it was served. It owns the checks those scenarios share: the
// one-run rule, the answers on the run routes (the clients rule) and the failure a purge ends a
// shared handler with. testing.go holds the helpers their tests share to build and break
// histories.
//
// It imports the checkers' history and the runtime's journal, protocol, durable and ingress
// packages; it must not import the simulator or the scenarios.
package wfcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"strings"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// History indexes what the expected-outcome rules need of one workflow service in a history:
// who each invocation is, when it was accepted and finished, and per workflow key the events that
// change its run (run accepted, run done, workflow purged) and the completions of its promises.
//
// Order in the history is what the rules reason with, never virtual time: the engine records a
// fact only once it is durable and releases a reply only after every fact it depended on, so
// whatever the engine did while serving a request lies between the request's ClientRequest and
// its ClientResponse.
type History struct {
	h       *checkers.History
	service string
	// accepted and done are the first InvocationAccepted (of the service) and InvocationDone of
	// each invocation.
	accepted map[protocol.InvocationID]int
	done     map[protocol.InvocationID]int
	// Runs lists the run invocations in acceptance order.
	Runs []protocol.InvocationID
	// Purges are, per workflow key, the Purged "workflow" events, in order.
	Purges map[string][]int
	// changes are, per workflow key, the events that change the key's run.
	changes map[string][]int
	// Completed are, per workflow key and promise name, the PromiseCompleted events, in order.
	Completed map[string]map[string][]int
	// requests and responses are the first ClientRequest and ClientResponse of each request.
	requests  []int
	responses map[uint64]int
	// acceptedBy is, per run, the response that said "Accepted" for it (checkRunResponse).
	acceptedBy map[protocol.InvocationID]int
}

// New indexes the events of the workflow service called service in h.
func New(h *checkers.History, service string) *History {
	x := &History{
		h: h, service: service,
		accepted:   map[protocol.InvocationID]int{},
		done:       map[protocol.InvocationID]int{},
		Purges:     map[string][]int{},
		changes:    map[string][]int{},
		Completed:  map[string]map[string][]int{},
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
				x.Runs = append(x.Runs, e.Invocation)
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
			if e.Service == service && e.Purge == event.PurgeWorkflow {
				x.Purges[e.Key] = append(x.Purges[e.Key], i)
				x.changes[e.Key] = append(x.changes[e.Key], i)
			}
		case checkers.PromiseCompleted:
			if e.Service != service {
				continue
			}
			if x.Completed[e.Key] == nil {
				x.Completed[e.Key] = map[string][]int{}
			}
			x.Completed[e.Key][e.Promise] = append(x.Completed[e.Key][e.Promise], i)
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

// Invocation returns the InvocationAccepted event of inv and its index, if inv is one of the
// service's.
func (x *History) Invocation(inv protocol.InvocationID) (checkers.Event, int, bool) {
	a, ok := x.accepted[inv]
	if !ok {
		return checkers.Event{}, -1, false
	}
	return x.h.Events[a], a, true
}

// Finished yields, in the order they were accepted, the invocations of the service that
// finished: the index a of each one's first InvocationAccepted and d of its first InvocationDone.
func (x *History) Finished() iter.Seq2[int, int] {
	return func(yield func(a, d int) bool) {
		for i, e := range x.h.Events {
			if e.Kind != checkers.InvocationAccepted || e.Service != x.service || x.accepted[e.Invocation] != i {
				continue
			}
			if d, ok := x.done[e.Invocation]; ok && !yield(i, d) {
				return
			}
		}
	}
}

// isRun reports whether inv is a run of key.
func (x *History) isRun(inv protocol.InvocationID, key string) bool {
	e, _, ok := x.Invocation(inv)
	return ok && e.Handler == durable.WorkflowRunHandler && e.Key == key
}

// Epoch is the number of purges of key recorded before event i: the workflow epoch i falls in.
func (x *History) Epoch(key string, i int) int {
	n := 0
	for _, p := range x.Purges[key] {
		if p < i {
			n++
		}
	}
	return n
}

// NextPurge is the first purge of key recorded after event i, or len(events) if none.
func (x *History) NextPurge(key string, i int) int {
	for _, p := range x.Purges[key] {
		if p > i {
			return p
		}
	}
	return len(x.h.Events)
}

// Completions returns the PromiseCompleted events of promise of key in epoch e, in order.
func (x *History) Completions(key, promise string, e int) []int {
	var out []int
	for _, c := range x.Completed[key][promise] {
		if x.Epoch(key, c) == e {
			out = append(out, c)
		}
	}
	return out
}

// LiveDuring returns the completions of promise of key that an operation spanning events from
// to to could have seen: recorded before to, in an epoch that had not ended (been purged) by from.
func (x *History) LiveDuring(key, promise string, from, to int) []int {
	var out []int
	for _, c := range x.Completed[key][promise] {
		if c < to && x.NextPurge(key, c) > from {
			out = append(out, c)
		}
	}
	return out
}

// PurgedWith reports whether the workflow of key was purged in the same engine step as event d:
// the next purge of key is recorded at the same virtual time as d. The engine fails the shared
// handlers still running on a key as it purges it, recording their outputs just before the purge.
func (x *History) PurgedWith(key string, d int) bool {
	p := x.NextPurge(key, d)
	return p < len(x.h.Events) && x.h.Events[p].At == x.h.Events[d].At
}

// PurgedFailure is how the engine ends a shared handler of key still running when the key's
// workflow is purged: what it read, waited for or completed belonged to the purged run.
func (x *History) PurgedFailure(key string) journal.Result {
	return PurgedFailure(x.service, key)
}

// PurgedFailure is how the engine ends a shared handler of key of the workflow service called
// service still running when the key's workflow is purged (History.PurgedFailure).
func PurgedFailure(service, key string) journal.Result {
	return journal.Result{Failure: &journal.Failure{Code: 404, Message: fmt.Sprintf("workflow %s with key %q was purged at the end of its retention", service, key)}}
}

// FailFunc reports a violation about inv, naming events.
type FailFunc func(inv protocol.InvocationID, events []int, format string, args ...any)

// CheckRuns is the one-run rule: a run is accepted only while its key holds no run (never
// started, or purged); it reports violations with fail. It calls fn, in acceptance order, for
// every run that finished, with the run's InvocationAccepted event acc, its index a and the index
// d of the run's InvocationDone; a run that never finished is left to the liveness check.
func (x *History) CheckRuns(fail FailFunc, fn func(run protocol.InvocationID, acc checkers.Event, a, d int)) {
	for _, run := range x.Runs {
		acc, a, _ := x.Invocation(run)
		if prev := x.StateAfter(acc.Key, a-1); !prev.Run.IsZero() {
			fail(run, []int{a}, "run accepted for key %s while its run %s was not purged", acc.Key, prev.Run)
		}
		if d, ok := x.done[run]; ok {
			fn(run, acc, a, d)
		}
	}
}

// Route is which workflow route a ClientRequest took.
type Route uint8

// The routes of a workflow service.
const (
	// RouteOther is any request that is not to one of the service's routes below.
	RouteOther Route = iota
	// RouteRunCall is a synchronous call of the run handler (POST .../run).
	RouteRunCall
	// RouteRunSend is a send of the run handler (POST .../run/send).
	RouteRunSend
	// RouteAttach is an attach to the key's run (GET /restate/workflow/.../attach).
	RouteAttach
	// RouteOutput is a read of the key's run's output (GET /restate/workflow/.../output).
	RouteOutput
	// RouteShared is a call of a shared handler (req.Handler names it).
	RouteShared
)

// routeOf is the route request req took, read from the request line the client wrote (its HTTP):
// a request recorded without one took no route of the service's.
func (x *History) routeOf(req checkers.Event) Route {
	if req.HTTP == nil || req.Service != x.service {
		return RouteOther
	}
	method, path := req.HTTP.Method, req.HTTP.Path
	switch {
	case method == http.MethodPost && req.Handler == durable.WorkflowRunHandler && strings.HasSuffix(path, "/send"):
		return RouteRunSend
	case method == http.MethodPost && req.Handler == durable.WorkflowRunHandler:
		return RouteRunCall
	case method == http.MethodPost && req.Handler != "" && !strings.HasSuffix(path, "/send"):
		return RouteShared
	case method == http.MethodGet && strings.HasPrefix(path, "/restate/workflow/") && strings.HasSuffix(path, "/attach"):
		return RouteAttach
	case method == http.MethodGet && strings.HasPrefix(path, "/restate/workflow/") && strings.HasSuffix(path, "/output"):
		return RouteOutput
	}
	return RouteOther
}

// EachResponse calls fn for every answered request (not a connection failure) to the service's
// routes, in the order the requests were sent, with the route rt it took, the indexes i of the
// request and j of the response, and the response's body. It reports with fail a response whose
// body it cannot read.
func (x *History) EachResponse(fail FailFunc, fn func(rt Route, i, j int, req, resp checkers.Event, body []byte)) {
	for _, i := range x.requests {
		req := x.h.Events[i]
		rt := x.routeOf(req)
		j, ok := x.responses[req.Request]
		if rt == RouteOther || !ok || x.h.Events[j].Status == 0 {
			continue
		}
		resp := x.h.Events[j]
		body, ok := ResponseBody(resp)
		if !ok {
			fail(resp.Invocation, []int{i, j}, "cannot read the body of %q", resp.Reason)
			continue
		}
		fn(rt, i, j, req, resp, body)
	}
}

// CheckClients is the clients rule as far as the run routes go, reporting violations with fail:
// every answer on a run route says what the key held while it was served (checkRunResponse, with
// expected and inputs). It hands every answer to a shared handler's call to shared, with the
// indexes i of the request and j of the response and the response's body, for the scenario to
// check.
func (x *History) CheckClients(fail FailFunc, expected map[protocol.InvocationID]journal.Result, inputs map[string][]byte, shared func(i, j int, req, resp checkers.Event, body []byte)) {
	x.EachResponse(fail, func(rt Route, i, j int, req, resp checkers.Event, body []byte) {
		if rt != RouteShared {
			x.checkRunResponse(rt, i, j, req, resp, body, expected, inputs, fail)
			return
		}
		shared(i, j, req, resp, body)
	})
}

// checkRunResponse checks the answer j to request i on a run route against what the key held
// while it was served: a synchronous /run answers 200 only for the run it created, with that
// run's expected output, else 409 "already invoked" while a run existed; /run/send answers 202
// naming a run that existed, "Accepted" only for the request that created it (whose input,
// inputs[client], is the run's input) and at most once per run; attach answers a run's expected
// output or 404 while no run existed; output answers 200 with the expected output of a finished
// run, 470 while the run was unfinished, 404 while there was none. expected maps each run to its
// expected output.
func (x *History) checkRunResponse(rt Route, i, j int, req, resp checkers.Event, body []byte, expected map[protocol.InvocationID]journal.Result, inputs map[string][]byte, fail FailFunc) {
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
	case RouteRunCall:
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
			if !x.anyState(key, i, j, func(s RunState) bool { return !s.Run.IsZero() }) {
				fail(resp.Invocation, []int{i, j}, "%s got 409 already invoked, but key %s held no run while it was served", req.Reason, key)
			}
		default:
			unexpected()
		}
	case RouteRunSend:
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
		if !x.anyState(key, i, j, func(s RunState) bool { return s.Run == inv }) {
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
	case RouteAttach:
		switch resp.Status {
		case http.StatusOK:
			inv := resp.Invocation
			if !runOut(inv) {
				return
			}
			if d := x.done[inv]; d > j || !x.anyState(key, i, j, func(s RunState) bool { return s.Run == inv }) {
				fail(inv, []int{i, j}, "%s got the output of run %s, which key %s did not hold (finished) while it was served", req.Reason, inv, key)
			}
		case http.StatusNotFound:
			if !x.anyState(key, i, j, func(s RunState) bool { return s.Run.IsZero() }) {
				fail(resp.Invocation, []int{i, j}, "%s got 404, but key %s held a run all the while it was served", req.Reason, key)
			}
		default:
			unexpected()
		}
	case RouteOutput:
		switch resp.Status {
		case http.StatusOK:
			inv := resp.Invocation
			if !runOut(inv) {
				return
			}
			if !x.anyState(key, i, j, func(s RunState) bool { return s.Run == inv && s.Done }) {
				fail(inv, []int{i, j}, "%s got the output of run %s, which key %s did not hold finished while it was served", req.Reason, inv, key)
			}
		case ingress.StatusNotReady:
			if !x.anyState(key, i, j, func(s RunState) bool { return !s.Run.IsZero() && !s.Done }) {
				fail(resp.Invocation, []int{i, j}, "%s got 470, but key %s held no unfinished run while it was served", req.Reason, key)
			}
		case http.StatusNotFound:
			if !x.anyState(key, i, j, func(s RunState) bool { return s.Run.IsZero() }) {
				fail(resp.Invocation, []int{i, j}, "%s got 404, but key %s held a run all the while it was served", req.Reason, key)
			}
		default:
			unexpected()
		}
	}
}

// CheckPurgedBody checks that a 404 to a shared handler's call (request i, response j) is the
// failure a purge ends it with.
func (x *History) CheckPurgedBody(i, j int, req, resp checkers.Event, body []byte, fail FailFunc) {
	var eb ErrorBody
	pf := x.PurgedFailure(req.Key).Failure
	if json.Unmarshal(body, &eb) != nil || eb.Code != int(pf.Code) || eb.Message != pf.Message || eb.Source != "invocation" {
		fail(resp.Invocation, []int{i, j}, "%s got 404 %s, want the purge failure %q", req.Reason, body, pf.Message)
	}
}

// checkInput checks that run inv, created by request i (answered by j), took that request's
// input (inputs[client], the JSON body that client sent), not a duplicate's.
func (x *History) checkInput(req checkers.Event, i, j int, inv protocol.InvocationID, inputs map[string][]byte, fail FailFunc) {
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

// RunState is what a workflow key holds at one moment: its run (zero if none: never started, or
// purged) and whether that run has finished.
type RunState struct {
	// Run is the key's run, zero if none.
	Run protocol.InvocationID
	// Done reports whether Run has finished.
	Done bool
}

// StateAfter is key's state once events 0..j have happened.
func (x *History) StateAfter(key string, j int) RunState {
	var s RunState
	for _, c := range x.changes[key] {
		if c > j {
			break
		}
		e := x.h.Events[c]
		switch e.Kind {
		case checkers.InvocationAccepted:
			s = RunState{Run: e.Invocation}
		case checkers.InvocationDone:
			if e.Invocation == s.Run {
				s.Done = true
			}
		case checkers.Purged:
			s = RunState{}
		}
	}
	return s
}

// statesDuring returns every state key was in at some moment between events from and to.
func (x *History) statesDuring(key string, from, to int) []RunState {
	out := []RunState{x.StateAfter(key, from)}
	for _, c := range x.changes[key] {
		if c > from && c < to {
			out = append(out, x.StateAfter(key, c))
		}
	}
	return out
}

// anyState reports whether key was in a state satisfying ok at some moment between from and to.
func (x *History) anyState(key string, from, to int, ok func(RunState) bool) bool {
	for _, s := range x.statesDuring(key, from, to) {
		if ok(s) {
			return true
		}
	}
	return false
}

// ResponseBody returns the body of a response as the client received it (the response's HTTP),
// and false when the history holds no bytes of it (a connection that failed has none).
func ResponseBody(resp checkers.Event) ([]byte, bool) {
	if resp.HTTP == nil {
		return nil, false
	}
	return resp.HTTP.Body, true
}

// ErrorBody is Restate's error body.
type ErrorBody struct {
	// Code is the error's HTTP status code.
	Code int `json:"code"`
	// Message is the error's message.
	Message string `json:"message"`
	// Source says who failed: "invocation" for a handler's terminal error, "ingress" for the
	// ingress itself.
	Source string `json:"source"`
}

// DecodeString decodes b, which must be a JSON string.
func DecodeString(b []byte) (string, error) {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return "", fmt.Errorf("%q is not a JSON string: %v", b, err)
	}
	return s, nil
}
