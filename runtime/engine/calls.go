package engine

import (
	"fmt"
	"strings"

	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/journal"
)

// Calls between handlers. A call or send is a command like any other: the engine starts the
// callee in the batch that journals the command, so the callee exists exactly when the command
// is durable, and a repeated command (a retry, a replay, a duplicate on the wire) is caught by
// its index before it could start a second callee. A call's callee remembers its caller's entry
// (invocation.caller), durably, and its output completes that entry when it finishes: a running
// caller gets a completion, a suspended one waiting on it a new attempt.
//
//	caller: call [i] ──────────────► callee accepted (starts, or queues behind its key's lock)
//	        │ waits, may suspend               │ ... runs, retries ...
//	        ◄──── completion of [i] ◄──── callee finishes: output or terminal failure

// callCommand starts the callee of a call or send that inv journaled at index i.
func (e *Engine) callCommand(inv *invocation, i uint32, en journal.Entry) {
	service, handler, _ := strings.Cut(en.Target, "/")
	req := ingress.Request{Kind: ingress.Call, Service: service, Handler: handler, Key: en.Name, Body: en.Param.Value}
	if en.Kind == journal.KindSend {
		req.Kind, req.Delay = ingress.Send, en.Duration
	}
	spec, hspec, refusal := e.admit(&req)
	if refusal == nil {
		if prev := e.previousRun(hspec, &req); prev != nil {
			// As from outside: a second submission of a workflow key changes nothing; a call waits
			// on nothing and fails as a synchronous call from outside does.
			if en.Kind != journal.KindCall {
				return
			}
			refusal = &ingress.Error{Status: 409, Message: "the workflow method was already invoked"}
		}
	}
	if refusal != nil {
		f := journal.Failure{Code: uint16(refusal.Status), Message: fmt.Sprintf("%s %s: %s", en.Kind, en.Target, refusal.Message)}
		if en.Kind == journal.KindCall {
			e.completeEntry(inv, i, journal.Result{Failure: &f})
			return
		}
		// A send has no result to carry the refusal: the caller fails, as Restate fails an
		// invocation whose send names no handler.
		e.finish(inv, journal.Result{Failure: &f}, journal.EngineOutput)
		return
	}
	var caller slot
	if en.Kind == journal.KindCall {
		caller = slot{inv.id, i}
	}
	e.reached(PointCallStarted)
	e.create(&req, spec, hspec, caller)
}

// returnToCaller completes the call entry waiting for a finished callee's output, if its caller
// still waits for it.
func (e *Engine) returnToCaller(callee *invocation, out journal.Result) {
	if callee.caller.inv.IsZero() {
		return
	}
	c := e.invs[callee.caller.inv]
	i := callee.caller.index
	if c == nil || c.status == statusDone || int(i) >= len(c.journal) || c.journal[i].Kind != journal.KindCall || c.journal[i].Completed {
		return // the caller finished (or was purged) without waiting for this output
	}
	e.reached(PointCallReturned)
	e.completeEntry(c, i, out)
}

// describeCall names the callee a call entry waits for, for Describe.
func (e *Engine) describeCall(en journal.Entry, index uint32) string {
	target := en.Target
	if en.Name != "" {
		service, handler, _ := strings.Cut(en.Target, "/")
		target = service + "/" + en.Name + "/" + handler
	}
	return fmt.Sprintf("call of %s [%d]: the callee must finish", target, index)
}
