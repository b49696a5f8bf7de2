package engine

import (
	"fmt"
	"slices"

	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/mutant"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// Ingress takes one decoded ingress request. Its reply comes in a later Ready (for calls and
// attaches, once the invocation is done).
func (e *Engine) Ingress(id RequestID, req ingress.Request) {
	switch req.Kind {
	case ingress.Call, ingress.Send:
		e.invoke(id, &req)
	case ingress.Attach, ingress.Output:
		inv, resp := e.lookup(&req)
		if inv == nil {
			e.reply(id, resp)
			return
		}
		e.answerOutput(id, inv, req.Kind == ingress.Attach)
	case ingress.WorkflowAttach, ingress.WorkflowOutput:
		ks := e.keys[keyID{req.Service, req.Key}]
		var inv *invocation
		if ks != nil && !ks.run.IsZero() {
			inv = e.invocation(ks.run)
		}
		if inv == nil && ks != nil {
			e.reached(PointReadAfterPurge)
		}
		if inv == nil {
			e.reply(id, ingress.ErrorResponse(404, fmt.Sprintf("workflow %s with key %q not found", req.Service, req.Key)))
			return
		}
		e.answerOutput(id, inv, req.Kind == ingress.WorkflowAttach)
	case ingress.Cancel:
		invID, err := protocol.ParseInvocationID(req.InvocationID)
		switch {
		case err != nil:
			e.reply(id, ingress.ErrorResponse(400, err.Error()))
		case !e.cancelByID(invID):
			e.reply(id, ingress.ErrorResponse(404, fmt.Sprintf("invocation %s not found", req.InvocationID)))
		default:
			e.reply(id, ingress.AwakeableAcceptedResponse())
		}
	case ingress.ResolveAwakeable, ingress.RejectAwakeable:
		aid, err := protocol.ParseAwakeableID(req.AwakeableID)
		if err != nil {
			e.reply(id, ingress.ErrorResponse(400, err.Error()))
			return
		}
		r := journal.Result{Value: req.Body}
		if req.Kind == ingress.RejectAwakeable {
			r = journal.Result{Failure: e.keepFailure(500, e.keepString(req.Body))}
		}
		e.completeAwakeable(aid, req.AwakeableID, r)
		e.reply(id, ingress.AwakeableAcceptedResponse())
	default:
		e.reply(id, ingress.ErrorResponse(400, fmt.Sprintf("unsupported ingress request %s", req.Kind)))
	}
}

// answerOutput replies with inv's output now, with 470 if it is not done (output), or once it is
// done (attach).
func (e *Engine) answerOutput(id RequestID, inv *invocation, wait bool) {
	switch {
	case inv.status == statusDone:
		e.reply(id, e.outputResponse(inv))
	case !wait:
		e.reply(id, ingress.ErrorResponse(ingress.StatusNotReady, "the invocation exists but has not completed yet"))
	default:
		e.await(inv, id)
	}
}

// lookup finds the target of an attach or output: by invocation ID, or by idempotency key.
func (e *Engine) lookup(req *ingress.Request) (*invocation, ingress.Response) {
	if req.InvocationID == "" {
		if inv := e.idempotent(newIdemID(req.Service, req.Handler, req.Key, req.IdempotencyKey)); inv != nil {
			e.reached(PointLookupByIdempotencyKey)
			return inv, ingress.Response{}
		}
		return nil, ingress.ErrorResponse(404, fmt.Sprintf("no invocation of %s/%s with idempotency key %q", req.Service, req.Handler, req.IdempotencyKey))
	}
	invID, err := protocol.ParseInvocationID(req.InvocationID)
	if err != nil {
		return nil, ingress.ErrorResponse(400, err.Error())
	}
	inv := e.invocation(invID)
	if inv == nil {
		return nil, ingress.ErrorResponse(404, fmt.Sprintf("invocation %s not found", req.InvocationID))
	}
	return inv, ingress.Response{}
}

func (e *Engine) invoke(id RequestID, req *ingress.Request) {
	spec, hspec, refusal := e.admit(req)
	if refusal != nil {
		e.reply(id, refusal.Response())
		return
	}
	// A repeated idempotent call gets the first call's invocation.
	if req.IdempotencyKey != "" {
		idem := newIdemID(req.Service, req.Handler, req.Key, req.IdempotencyKey)
		if prev := e.idempotent(idem); prev != nil && !mutant.On(mutant.IgnoreIdempotencyKey) {
			e.reached(PointIdempotentRetry)
			e.repeat(id, req, prev)
			return
		}
	}
	// A workflow runs at most once per key (until its retention ends).
	if prev := e.previousRun(hspec, req); prev != nil {
		if req.Kind == ingress.Send {
			e.reply(id, e.acceptedResponse(prev, true))
		} else {
			e.reply(id, ingress.WorkflowAlreadyInvokedResponse())
		}
		return
	}
	inv := e.create(req, spec, hspec, slot{})
	if req.Kind == ingress.Send {
		e.reply(id, e.acceptedResponse(inv, false))
	} else {
		e.await(inv, id)
	}
}

// admit checks a request to start an invocation, from a client or a handler: the service and
// handler exist, the key fits the service, the limits hold. It returns the specs, or the refusal.
func (e *Engine) admit(req *ingress.Request) (protocol.ServiceSpec, protocol.HandlerSpec, *ingress.Error) {
	refuse := func(status int, msg string) (protocol.ServiceSpec, protocol.HandlerSpec, *ingress.Error) {
		return protocol.ServiceSpec{}, protocol.HandlerSpec{}, &ingress.Error{Status: status, Message: msg}
	}
	spec, ok := e.spec(req.Service)
	if !ok {
		return refuse(404, fmt.Sprintf("service '%s' not found", req.Service))
	}
	hspec, ok := spec.Handler(req.Handler)
	if !ok {
		return refuse(404, fmt.Sprintf("handler '%s' not found on service '%s'", req.Handler, req.Service))
	}
	if err := checkInvokeLimits(req); err != nil {
		e.reached(PointRequestRefused)
		return refuse(400, err.Error())
	}
	if spec.Keyed() != (req.Key != "") {
		if spec.Keyed() {
			return refuse(400, fmt.Sprintf("%s %s needs a key", spec.Kind, req.Service))
		}
		return refuse(400, fmt.Sprintf("service %s has no keys", req.Service))
	}
	return spec, hspec, nil
}

// previousRun returns the run of the workflow key that req would submit again, or nil.
func (e *Engine) previousRun(hspec protocol.HandlerSpec, req *ingress.Request) *invocation {
	if hspec.Kind != protocol.HandlerWorkflowRun {
		return nil
	}
	ks := e.keys[keyID{req.Service, req.Key}]
	if ks == nil || ks.run.IsZero() {
		return nil
	}
	prev := e.invocation(ks.run)
	if prev != nil {
		e.reached(PointWorkflowResubmitted)
	}
	return prev
}

// initialJournalRoom is how many entries a new invocation's journal has room for.
const initialJournalRoom = 4

// invocationWithRoom is a new invocation with its journal's first room and room for the one
// request that usually waits for it: one allocation where three were made. A journal or a
// waiter list that outgrows its room moves out and leaves it unused.
type invocationWithRoom struct {
	invocation invocation
	journal    [initialJournalRoom]journal.Entry
	waiters    [1]RequestID
}

// create accepts a new invocation of req and starts it, queues it behind its key's lock, or
// schedules it after its delay. caller, when set, is the call entry that waits for its output.
func (e *Engine) create(req *ingress.Request, spec protocol.ServiceSpec, hspec protocol.HandlerSpec, caller slot) *invocation {
	invID := e.cfg.NewID()
	if _, dup := e.invs[invID]; dup || invID.IsZero() || e.finished(invID) {
		panic(fmt.Sprintf("engine: ID source returned %s twice (or the zero ID)", invID))
	}
	e.seq++
	e.putSeq()
	// Room for the input and the first few commands, which a journal of one entry would
	// reallocate for at its second and third, in the invocation's own allocation.
	room := new(invocationWithRoom)
	j := room.journal[:1:initialJournalRoom]
	j[0] = journal.Entry{Kind: journal.KindInput, Result: journal.Result{Value: req.Body}}
	inv := &room.invocation
	*inv = invocation{
		id:      invID,
		service: req.Service,
		handler: req.Handler,
		key:     req.Key,
		kind:    hspec.Kind,
		seq:     e.seq,
		idemKey: req.IdempotencyKey,
		caller:  caller,
		journal: j,
		waiters: room.waiters[:0:1],
		fresh:   true,
	}
	e.invs[invID] = inv
	e.putEntry(inv, 0)
	e.note(Note{Kind: NoteInvocationAccepted, Invocation: invID, Service: inv.service, Handler: inv.handler, Key: inv.key, Seq: inv.seq, IdempotencyKey: inv.idemKey, Reason: handlerKindName(spec, hspec)})
	if req.IdempotencyKey != "" {
		// The invocation's own ID as the value: a slice of the local invID would move it to
		// the heap at every create. inv.id is never changed.
		e.put(e.idempotencyKeyOf(newIdemID(req.Service, req.Handler, req.Key, req.IdempotencyKey)), inv.id[:])
	}
	if hspec.Kind == protocol.HandlerWorkflowRun {
		ks := e.keyState(inv.service, inv.key)
		ks.run, ks.purgeAt = invID, timeZero
		e.putWorkflow(inv.service, inv.key, ks)
	}
	if spec.Keyed() && hspec.Kind == protocol.HandlerShared {
		e.trackShared(inv)
	}
	switch {
	case req.Delay > 0:
		// A delayed send is accepted now and starts (or joins its key's inbox) when the delay ends.
		inv.status = statusScheduled
		inv.retryAt = e.now().Add(req.Delay)
		e.markDirty(inv)
		e.arm(Timer{Kind: TimerRetry, Invocation: invID, Deadline: inv.retryAt})
	case inv.holdsKey(spec):
		e.enqueue(inv)
	default:
		e.startAttempt(inv)
	}
	return inv
}

// checkInvokeLimits refuses what would make a record the store cannot take, or a deadline past
// what anyone means: the ingress refuses all of it at the door already, and the engine checks
// again because it is the one that writes, whoever its driver is.
func checkInvokeLimits(req *ingress.Request) error {
	if err := protocol.CheckKey("object or workflow key", req.Key); err != nil {
		return err
	}
	if err := protocol.CheckKey("idempotency key", req.IdempotencyKey); err != nil {
		return err
	}
	if len(req.Body) > ingress.MaxBodyBytes {
		return fmt.Errorf("the request body is %d bytes long, over the limit of %d bytes", len(req.Body), ingress.MaxBodyBytes)
	}
	if req.Delay > ingress.MaxDelay {
		return fmt.Errorf("the delay %s is past the limit of %s", req.Delay, ingress.MaxDelay)
	}
	return nil
}

// enqueue puts an exclusive invocation in its key's inbox and starts it if the key is free. A
// delayed send joins the inbox when its delay ends, behind what was queued by then.
func (e *Engine) enqueue(inv *invocation) {
	ks := e.keyState(inv.service, inv.key)
	inv.status = statusPending
	e.markDirty(inv)
	if ks.holder != nil || len(ks.inbox) > 0 {
		e.reached(PointExclusiveQueued)
	}
	ks.inbox = append(ks.inbox, inv)
	e.promoteNext(ks)
}

// repeat answers a call or send that repeats an idempotency key: the first call's invocation.
func (e *Engine) repeat(id RequestID, req *ingress.Request, prev *invocation) {
	if req.Kind == ingress.Send {
		e.reply(id, e.acceptedResponse(prev, true))
		return
	}
	e.answerOutput(id, prev, true)
}

// handlerKindName names a handler's kind as history events do.
func handlerKindName(spec protocol.ServiceSpec, h protocol.HandlerSpec) string {
	if !spec.Keyed() {
		return "service"
	}
	return h.Kind.String()
}

// await makes request id wait for inv's output.
func (e *Engine) await(inv *invocation, id RequestID) {
	inv.waiters = append(inv.waiters, id)
	e.waitingOn.Put(id, inv.id)
}

// Forget drops request id from whatever invocation it waits on: its client went away, so no
// reply is wanted. It changes nothing durable; the invocation itself goes on (as in Restate, a
// call whose client gave up still runs).
func (e *Engine) Forget(id RequestID) {
	invID, ok := e.waitingOn.Take(id)
	if !ok {
		return
	}
	if inv := e.invs[invID]; inv != nil {
		if i := slices.Index(inv.waiters, id); i >= 0 {
			inv.waiters = slices.Delete(inv.waiters, i, i+1)
		}
	}
}
