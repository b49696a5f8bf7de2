package engine

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/mutant"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// timeZero is the zero time, named so that "no deadline" reads as such.
var timeZero time.Time

// FireTimer tells the engine that the clock reached t.Deadline. Timers no longer wanted do
// nothing; a timer delivered before its deadline is armed again, never acted on.
func (e *Engine) FireTimer(t Timer) {
	if e.now().Before(t.Deadline) && !mutant.On(mutant.ActOnEarlyTimer) {
		e.reached(PointTimerFiredEarlyRearmed)
		e.addTimer(t)
		return
	}
	switch t.Kind {
	case TimerRetry:
		inv := e.invs[t.Invocation]
		if inv == nil || (inv.status != statusBackingOff && inv.status != statusScheduled) || !inv.retryAt.Equal(t.Deadline) {
			return
		}
		e.note(Note{Kind: NoteTimerFired, Invocation: inv.id, Timer: t, Reason: t.Kind.String()})
		if inv.status == statusScheduled {
			e.reached(PointDelayedSendStarted)
		}
		if inv.status == statusScheduled && inv.holdsKey(e.specOf(inv.service)) {
			inv.retryAt = timeZero
			e.enqueue(inv)
			return
		}
		e.startAttempt(inv)
	case TimerSleep:
		inv := e.invs[t.Invocation]
		if inv == nil || inv.status == statusDone || int(t.Index) >= len(inv.journal) {
			return
		}
		en := inv.journal[t.Index]
		if en.Kind != journal.KindSleep || en.Completed || (en.Deadline != t.Deadline.UnixNano() && !mutant.On(mutant.FireTimerEarlyAfterRestart)) {
			return
		}
		t.Deadline = time.Unix(0, en.Deadline)
		e.reached(PointSleepFired)
		e.note(Note{Kind: NoteTimerFired, Invocation: inv.id, Index: t.Index, Timer: t, Reason: t.Kind.String()})
		e.completeEntry(inv, t.Index, journal.Result{})
	case TimerRetentionSweep:
		e.sweep(t)
	case TimerWorkflowRetention:
		ks := e.keys[keyID{t.Service, t.Key}]
		if ks == nil || ks.run.IsZero() || !ks.purgeAt.Equal(t.Deadline) {
			return
		}
		e.note(Note{Kind: NoteTimerFired, Service: t.Service, Key: t.Key, Timer: t, Reason: t.Kind.String()})
		e.purgeWorkflow(t.Service, t.Key, ks, t)
	}
}

// purgeInvocation forgets a finished invocation: its record, journal and idempotency key.
func (e *Engine) purgeInvocation(inv *invocation, t Timer) {
	e.reached(PointRetentionPurge)
	delete(e.invs, inv.id)
	e.del(e.recordKeyOf(inv))
	e.del(e.invKeyOf(finishedPrefix, inv))
	n := inv.entries
	if inv.journal != nil {
		n = uint32(len(inv.journal))
	}
	for i := range n {
		if mutant.On(mutant.RowLeftAfterPurge) && i == n-1 {
			continue
		}
		e.del(e.indexedKeyOf(inv, journalPrefix, i))
	}
	e.note(Note{Kind: NotePurged, Invocation: inv.id, Service: inv.service, Handler: inv.handler, Key: inv.key, Timer: t, Reason: "invocation"})
	if inv.idemKey != "" {
		id := newIdemID(inv.service, inv.handler, inv.key, inv.idemKey)
		if raw, ok := e.readIdempotency(id); ok && string(raw) == string(inv.id[:]) {
			e.del(e.idempotencyKeyOf(id))
			e.reached(PointIdempotencyKeyExpired)
			e.note(Note{Kind: NotePurged, Invocation: inv.id, Service: inv.service, Handler: inv.handler, Key: inv.key, IdempotencyKey: inv.idemKey, Timer: t, Reason: "idempotency"})
		}
	}
}

// purgeWorkflow forgets a finished workflow: its run, promises and state. The key can run again.
// Shared handlers of the workflow still running then are failed: what they read, waited for or
// completed belonged to the run that is gone, and must not leak into the next one.
func (e *Engine) purgeWorkflow(service, key string, ks *keyState, t Timer) {
	stragglers := slices.Collect(maps.Values(ks.shared))
	slices.SortFunc(stragglers, func(a, b *invocation) int { return cmpUint64(a.seq, b.seq) })
	for _, inv := range stragglers {
		e.finish(inv, journal.Result{Failure: &journal.Failure{Code: 404, Message: fmt.Sprintf("workflow %s with key %q was purged at the end of its retention", service, key)}}, journal.EngineOutput)
	}
	if run := e.invocation(ks.run); run != nil {
		e.purgeInvocation(run, t)
	}
	for _, name := range sortedKeys(ks.promises) {
		if ks.promises[name].completed {
			e.del(promiseKey(service, key, name))
		}
	}
	for _, name := range sortedKeys(ks.state) {
		e.del(stateKey(service, key, name))
	}
	e.del(workflowKey(service, key))
	e.note(Note{Kind: NotePurged, Service: service, Key: key, Invocation: ks.run, Timer: t, Reason: "workflow"})
	ks.run, ks.purgeAt, ks.state, ks.promises = protocol.InvocationID{}, timeZero, nil, nil
	if ks.holder == nil && len(ks.inbox) == 0 && len(ks.shared) == 0 {
		delete(e.keys, keyID{service, key})
	}
}
