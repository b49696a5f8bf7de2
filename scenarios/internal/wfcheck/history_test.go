package wfcheck

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

const (
	service = "W"
	key     = "k"
)

// history is one key over two epochs: run r1 accepted and finished, "p" completed in between, a
// purge, then run r2 accepted (unfinished) and "p" completed again; around them a send, an
// output read and a shared call, answered.
func history() (*History, map[string]int) {
	b := Builder{Service: service}
	r1, r2, s := ID(1), ID(2), ID(3)
	at := map[string]int{}
	send := b.Request("c-1", http.MethodPost, "/W/k/run/send", durable.WorkflowRunHandler, key)
	at["accept r1"] = b.Add(checkers.Event{Kind: checkers.InvocationAccepted, Invocation: r1, Service: service, Handler: durable.WorkflowRunHandler, Key: key})
	send(http.StatusAccepted, r1, []byte(`{"invocationId":"x","status":"Accepted"}`), nil)
	at["complete 1"] = b.Add(checkers.Event{Kind: checkers.PromiseCompleted, Service: service, Key: key, Promise: "p", Result: journal.Result{Value: []byte(`"a"`)}})
	at["done r1"] = b.Add(checkers.Event{Kind: checkers.InvocationDone, Invocation: r1})
	read := b.Request("c-2", http.MethodGet, "/restate/workflow/W/k/output", "", key)
	read(http.StatusOK, r1, []byte(`"out"`), nil)
	call := b.Request("c-3", http.MethodPost, "/W/k/peek", "peek", key)
	b.Add(checkers.Event{Kind: checkers.InvocationAccepted, Invocation: s, Service: service, Handler: "peek", Key: key})
	b.Add(checkers.Event{Kind: checkers.InvocationDone, Invocation: s})
	call(http.StatusOK, s, nil, nil)
	at["purge"] = b.Add(checkers.Event{Kind: checkers.Purged, Service: service, Key: key, Invocation: r1, Purge: event.PurgeWorkflow})
	at["accept r2"] = b.Add(checkers.Event{Kind: checkers.InvocationAccepted, Invocation: r2, Service: service, Handler: durable.WorkflowRunHandler, Key: key})
	at["complete 2"] = b.Add(checkers.Event{Kind: checkers.PromiseCompleted, Service: service, Key: key, Promise: "p", Result: journal.Result{Value: []byte(`"b"`)}})
	return New(&b.H, service), at
}

func TestEpochsAndStates(t *testing.T) {
	x, at := history()
	if got := len(x.Runs); got != 2 {
		t.Fatalf("Runs = %v, want 2 runs", x.Runs)
	}
	if e0, e1 := x.Epoch(key, at["complete 1"]), x.Epoch(key, at["complete 2"]); e0 != 0 || e1 != 1 {
		t.Errorf("epochs of the completions = %d, %d, want 0, 1", e0, e1)
	}
	if got := x.NextPurge(key, at["complete 1"]); got != at["purge"] {
		t.Errorf("NextPurge after the first completion = %d, want %d", got, at["purge"])
	}
	if got := x.Completions(key, "p", 1); len(got) != 1 || got[0] != at["complete 2"] {
		t.Errorf("Completions in epoch 1 = %v, want [%d]", got, at["complete 2"])
	}
	if got := x.LiveDuring(key, "p", at["purge"]+1, len(x.h.Events)); len(got) != 1 || got[0] != at["complete 2"] {
		t.Errorf("LiveDuring after the purge = %v, want only the second completion", got)
	}
	if s := x.StateAfter(key, at["done r1"]); s.Run != ID(1) || !s.Done {
		t.Errorf("state after r1 finished = %+v", s)
	}
	if s := x.StateAfter(key, at["purge"]); !s.Run.IsZero() {
		t.Errorf("state after the purge = %+v, want no run", s)
	}
	var finished []int
	for a := range x.Finished() {
		finished = append(finished, a)
	}
	if len(finished) != 2 || finished[0] != at["accept r1"] {
		t.Errorf("Finished = %v, want r1's and the shared call's acceptances", finished)
	}
}

func TestChecks(t *testing.T) {
	x, _ := history()
	r := NewReport("wf")
	var ran []protocol.InvocationID
	x.CheckRuns(r.Rule("one-run"), func(run protocol.InvocationID, _ checkers.Event, _, _ int) { ran = append(ran, run) })
	if len(ran) != 1 || ran[0] != ID(1) {
		t.Errorf("CheckRuns called fn for %v, want the finished run only", ran)
	}
	expected := map[protocol.InvocationID]journal.Result{ID(1): {Value: []byte(`"out"`)}}
	var shared []int
	x.CheckClients(r.Rule("clients"), expected, nil, func(i, _ int, _, _ checkers.Event, _ []byte) {
		shared = append(shared, i)
	})
	if len(shared) != 1 {
		t.Errorf("CheckClients handed %d shared calls on, want 1", len(shared))
	}
	// The output read carries no output entry: the clients rule reports it, and nothing else.
	vs := r.Violations()
	if len(vs) != 1 || vs[0].Checker != "wf" || !strings.HasPrefix(vs[0].Message, `clients: GET /restate/workflow/W/k/output got 200 value(), want the run's output value("out")`) {
		t.Fatalf("violations = %v, want one of the clients rule", vs)
	}
}

func TestResponseBody(t *testing.T) {
	for _, tc := range []struct {
		http *event.HTTP
		body string
		ok   bool
	}{
		{&event.HTTP{Status: 200, Body: []byte("{}")}, "{}", true},
		{&event.HTTP{Status: 404}, "", true},
		// The words say a body; only the bytes the client received count.
		{nil, "", false},
	} {
		b, ok := ResponseBody(checkers.Event{Reason: "GET /p: 200 {}", Status: 200, HTTP: tc.http})
		if ok != tc.ok || ok && string(b) != tc.body {
			t.Errorf("ResponseBody(%v) = %q, %v, want %q, %v", tc.http, b, ok, tc.body, tc.ok)
		}
	}
	if s, err := DecodeString([]byte(`"x"`)); err != nil || s != "x" {
		t.Errorf(`DecodeString("x") = %q, %v`, s, err)
	}
	if _, err := DecodeString([]byte(`1`)); err == nil {
		t.Error("DecodeString(1) succeeded")
	}
	if got := PurgedFailure(service, key); got.Failure == nil || got.Failure.Code != 404 {
		t.Errorf("PurgedFailure = %s", got)
	}
}
