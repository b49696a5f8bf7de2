package engine

import (
	"slices"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// Cancellation, as Restate has it. An invocation that has not started (queued behind its key's
// lock, or waiting out a delay) ends at once with the terminal error 409 "Cancelled". One that
// has started gets the cancellation where it waits: every entry it waits on that is not complete
// yet (awakeable, timer, promise, call) completes with that error, and the calls among them are
// cancelled in turn; when it waits on nothing at that moment, its next await gets the error
// instead (cancelPending, durable). The handler sees a terminal error it may catch: compensation
// code runs as any code does, and later awaits work as usual. A finished invocation is untouched.

// errCancelled is what a cancelled await fails with.
var errCancelled = journal.Failure{Code: 409, Message: "Cancelled"}

// cancel cancels inv (see above).
func (e *Engine) cancel(inv *invocation) {
	if inv.status == statusDone {
		return
	}
	e.reached(PointCancelled)
	switch inv.status {
	case statusPending, statusScheduled:
		if ks := e.keys[keyID{inv.service, inv.key}]; ks != nil {
			if i := slices.Index(ks.inbox, inv); i >= 0 {
				ks.inbox = slices.Delete(ks.inbox, i, i+1)
			}
		}
		f := errCancelled
		e.finish(inv, journal.Result{Failure: &f}, journal.EngineOutput)
		return
	}
	hit := false
	for i := range inv.journal {
		if inv.status == statusDone {
			return // completing an entry can end nothing, but stay safe
		}
		if en := inv.journal[i]; en.Kind.Completable() && !en.Completed {
			hit = true
			e.cancelEntry(inv, uint32(i))
		}
	}
	if !hit && !inv.cancelPending {
		inv.cancelPending = true
		e.markDirty(inv)
	}
}

// cancelEntry fails entry i of inv with errCancelled, cancelling the callee of a call.
func (e *Engine) cancelEntry(inv *invocation, i uint32) {
	if inv.journal[i].Kind == journal.KindCall {
		if callee := e.calleeOf(inv.id, i); callee != nil {
			defer e.cancel(callee)
		}
	}
	f := errCancelled
	r := journal.Result{Failure: &f}
	if inv.journal[i].Kind == journal.KindAwakeable {
		// The cancellation is the awakeable's completion: it wins over any resolve that comes
		// later, and the history must say so for the checkers to judge it.
		e.note(Note{Kind: NoteCompletionAccepted, Invocation: inv.id, Index: i, Result: r, Reason: "cancelled"})
	}
	e.completeEntry(inv, i, r)
}

// cancelOnAwait delivers a pending cancellation to the completable entry just journaled.
func (e *Engine) cancelOnAwait(inv *invocation, i uint32) {
	if !inv.cancelPending || inv.status == statusDone || !inv.journal[i].Kind.Completable() || inv.journal[i].Completed {
		return
	}
	inv.cancelPending = false
	e.markDirty(inv)
	e.cancelEntry(inv, i)
}

// calleeOf finds the live invocation whose output goes to entry index of caller. Cancellation is
// rare, so a scan of the live invocations beats an index kept up for every call.
func (e *Engine) calleeOf(caller protocol.InvocationID, index uint32) *invocation {
	var found *invocation
	for _, inv := range e.invs {
		if inv.caller == (slot{caller, index}) && inv.status != statusDone {
			found = inv // one at most: a call entry starts one callee
		}
	}
	return found
}

// cancelByID cancels the live invocation named id; it reports whether there was one (finished
// ones included).
func (e *Engine) cancelByID(id protocol.InvocationID) bool {
	if inv := e.invs[id]; inv != nil {
		e.cancel(inv)
		return true
	}
	return e.finished(id)
}
