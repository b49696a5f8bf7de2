package wfcheck

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// This file holds what the workflow scenarios' tests share to build a history by hand and break
// it in one place; nothing else uses it.

// Builder builds a history of a workflow service event by event, one millisecond apart.
type Builder struct {
	// H is the history built so far.
	H checkers.History
	// Service is the workflow service the requests address.
	Service string
	req     uint64
}

// Add appends e one millisecond after the previous event and returns its index.
func (b *Builder) Add(e checkers.Event) int {
	e.At = time.Duration(len(b.H.Events)) * time.Millisecond
	b.H.Events = append(b.H.Events, e)
	return len(b.H.Events) - 1
}

// Request records a request of node to handler of key (method path) and returns a function that
// records its response: the status, the invocation it names, its body and the output it carries
// (nil: none).
func (b *Builder) Request(node, method, path, handler, key string) func(status int, inv protocol.InvocationID, body []byte, out *journal.Result) {
	b.req++
	n := b.req
	reason := method + " " + path
	b.Add(checkers.Event{Kind: checkers.ClientRequest, Node: node, Request: n, Reason: reason, Service: b.Service, Handler: handler, Key: key,
		HTTP: &event.HTTP{Method: method, Path: path}})
	return func(status int, inv protocol.InvocationID, body []byte, out *journal.Result) {
		e := checkers.Event{Kind: checkers.ClientResponse, Node: node, Request: n, Status: status, Invocation: inv,
			Reason: fmt.Sprintf("%s: %d %s", reason, status, body), HTTP: &event.HTTP{Status: status, Body: body}}
		if out != nil {
			e.Entry, e.Result = journal.Entry{Kind: journal.KindOutput}, *out
		}
		b.Add(e)
	}
}

// ID is the invocation ID numbered n.
func ID(n byte) protocol.InvocationID { return protocol.InvocationID{7: n, 15: n} }

// Find returns the index of the only event of h satisfying ok; it fails t if none or several do.
func Find(t testing.TB, h *checkers.History, ok func(checkers.Event) bool) int {
	t.Helper()
	at := -1
	for i, e := range h.Events {
		if ok(e) {
			if at != -1 {
				t.Fatalf("two events match: %d and %d", at, i)
			}
			at = i
		}
	}
	if at == -1 {
		t.Fatal("no event matches")
	}
	return at
}

// KindInv matches the events of kind k about inv.
func KindInv(k checkers.EventKind, inv protocol.InvocationID) func(checkers.Event) bool {
	return func(e checkers.Event) bool { return e.Kind == k && e.Invocation == inv }
}

// Move moves event from of h to stand before the event now at to.
func Move(h *checkers.History, from, to int) {
	e := h.Events[from]
	h.Events = slices.Delete(h.Events, from, from+1)
	if to > from {
		to--
	}
	h.Events = slices.Insert(h.Events, to, e)
}

// SetResponse rewrites response i of h to status and body, as the client received them (HTTP),
// and its Reason as the simulator words it.
func SetResponse(h *checkers.History, i, status int, body []byte) {
	e := &h.Events[i]
	for _, r := range h.Events {
		if r.Kind == checkers.ClientRequest && r.Request == e.Request {
			e.Status = status
			e.HTTP = &event.HTTP{Status: status, Body: body}
			e.Reason = fmt.Sprintf("%s: %d %s", r.Reason, status, body)
			return
		}
	}
	panic("no request")
}

// WantViolation fails t unless every violation of vs carries the Checker name checker and one of
// them has a message containing want.
func WantViolation(t testing.TB, vs []checkers.Violation, checker, want string) {
	t.Helper()
	t.Logf("%d violations: %v", len(vs), vs)
	var msgs []string
	for _, v := range vs {
		if v.Checker != checker {
			t.Fatalf("violation %v is %q's, want %q's", v, v.Checker, checker)
		}
		msgs = append(msgs, v.Message)
	}
	if !slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(m, want) }) {
		t.Fatalf("want a violation containing %q, got:\n%s", want, strings.Join(msgs, "\n"))
	}
}
