package engine

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/mutant"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// keyID names one object or workflow instance.
type keyID struct{ service, key string }

// keyState is everything the engine keeps per object or workflow key.
//
//	                 accept (lock free, inbox empty)
//	exclusive call ──────────────────────────────────► holder ── finish ──► next in inbox
//	       │ lock held or inbox not empty                ▲
//	       └───────────────► inbox (by acceptance) ──────┘
//
// The holder keeps the lock while it waits, suspended or not; shared handlers never take it.
type keyState struct {
	holder *invocation
	// inbox holds pending exclusive invocations in acceptance order.
	inbox []*invocation
	// shared are the key's unfinished shared-handler invocations (volatile: rebuilt on recovery),
	// so that a workflow's purge finds its stragglers without scanning every invocation.
	shared map[protocol.InvocationID]*invocation
	state  map[string][]byte

	// Workflows: the run invocation (zero before the first run and after a purge), when the
	// workflow is purged (zero while run has not finished), and the promises.
	run      protocol.InvocationID
	purgeAt  time.Time
	promises map[string]*promise
}

// promise is a durable promise of one workflow run.
type promise struct {
	completed bool
	result    journal.Result
	// waiters are the get-promise entries waiting for it (volatile: rebuilt from journals).
	waiters []slot
}

// slot names one journal entry.
type slot struct {
	inv   protocol.InvocationID
	index uint32
}

// idemID names one idempotency key.
type idemID struct{ service, handler, key, idemKey string }

func (e *Engine) keyState(service, key string) *keyState {
	id := keyID{service, key}
	ks := e.keys[id]
	if ks == nil {
		if e.keys == nil {
			e.keys = map[keyID]*keyState{}
		}
		ks = &keyState{}
		e.keys[id] = ks
	}
	return ks
}

// trackShared remembers an unfinished shared-handler invocation on its key.
func (e *Engine) trackShared(inv *invocation) {
	ks := e.keyState(inv.service, inv.key)
	if ks.shared == nil {
		ks.shared = map[protocol.InvocationID]*invocation{}
	}
	ks.shared[inv.id] = inv
}

// acquire makes inv the holder of its key and starts it.
func (e *Engine) acquire(ks *keyState, inv *invocation) {
	ks.holder = inv
	e.note(Note{Kind: NoteLockAcquired, Invocation: inv.id, Service: inv.service, Key: inv.key})
	e.startAttempt(inv)
}

// release frees inv's key and hands it to the next invocation in the inbox, in acceptance order.
func (e *Engine) release(inv *invocation) {
	ks := e.keys[keyID{inv.service, inv.key}]
	if ks == nil || ks.holder != inv {
		return
	}
	ks.holder = nil
	e.note(Note{Kind: NoteLockReleased, Invocation: inv.id, Service: inv.service, Key: inv.key})
	e.promoteNext(ks)
}

func (e *Engine) promoteNext(ks *keyState) {
	if ks.holder != nil || len(ks.inbox) == 0 {
		return
	}
	next := ks.inbox[0]
	ks.inbox = slices.Delete(ks.inbox, 0, 1)
	e.acquire(ks, next)
}

// writeState applies a state write of inv, its key's holder.
func (e *Engine) writeState(inv *invocation, en journal.Entry) {
	id := keyID{inv.service, inv.key}
	ks := e.keyState(inv.service, inv.key)
	switch en.Kind {
	case journal.KindSetState:
		if ks.state == nil {
			ks.state = map[string][]byte{}
		}
		ks.state[en.Name] = en.Param.Value
		e.put(stateKey(id.service, id.key, en.Name), en.Param.Value)
	case journal.KindClearState:
		if _, ok := ks.state[en.Name]; ok {
			e.reached(PointStateKeyCleared)
			delete(ks.state, en.Name)
			e.del(stateKey(id.service, id.key, en.Name))
		}
	case journal.KindClearAllState:
		e.reached(PointStateAllCleared)
		for _, name := range sortedKeys(ks.state) {
			e.del(stateKey(id.service, id.key, name))
		}
		clear(ks.state)
	}
}

func (e *Engine) promiseOf(inv *invocation, name string) (*keyState, *promise) {
	ks := e.keyState(inv.service, inv.key)
	if ks.promises == nil {
		ks.promises = map[string]*promise{}
	}
	p := ks.promises[name]
	if p == nil {
		p = &promise{}
		ks.promises[name] = p
	}
	return ks, p
}

// errPromiseCompleted is the failure a second completion of a promise gets, as in Restate.
var errPromiseCompleted = journal.Failure{Code: 409, Message: "promise was already completed"}

// promiseCommand serves a get, peek or complete of a workflow's durable promise.
func (e *Engine) promiseCommand(inv *invocation, i uint32, en journal.Entry) {
	_, p := e.promiseOf(inv, en.Name)
	switch en.Kind {
	case journal.KindGetPromise:
		if p.completed {
			e.reached(PointPromiseBeforeWait)
			e.completeEntry(inv, i, p.result)
			return
		}
		p.waiters = append(p.waiters, slot{inv.id, i})
	case journal.KindPeekPromise:
		if p.completed {
			e.completeEntry(inv, i, p.result)
		} else {
			e.completeEntry(inv, i, journal.Result{})
		}
	case journal.KindCompletePromise:
		if p.completed && !mutant.On(mutant.CompletePromiseTwice) {
			e.reached(PointPromiseCompletedTwice)
			f := errPromiseCompleted
			e.completeEntry(inv, i, journal.Result{Failure: &f})
			return
		}
		p.completed, p.result = true, en.Param
		e.put(promiseKey(inv.service, inv.key, en.Name), journal.MarshalEntry(journal.Entry{Kind: journal.KindGetPromise, Name: en.Name, Completed: true, Result: en.Param}))
		e.note(Note{Kind: NotePromiseCompleted, Service: inv.service, Key: inv.key, Promise: en.Name, Result: en.Param})
		e.completeEntry(inv, i, journal.Result{})
		waiters := p.waiters
		p.waiters = nil
		for _, w := range waiters {
			winv := e.invs[w.inv]
			if winv == nil || winv.status == statusDone || int(w.index) >= len(winv.journal) || winv.journal[w.index].Completed {
				continue
			}
			e.completeEntry(winv, w.index, p.result)
		}
	}
}

// putWorkflow writes the workflow record of service/key.
func (e *Engine) putWorkflow(service, key string, ks *keyState) {
	e.put(workflowKey(service, key), encodeWorkflow(ks))
}

func cmpUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compareKeyIDs(a, b keyID) int {
	if c := strings.Compare(a.service, b.service); c != 0 {
		return c
	}
	return strings.Compare(a.key, b.key)
}

// sortedKeys returns m's keys in ascending order: nil for an empty map, without the iterator
// and collection slices.Sorted(maps.Keys(m)) allocates even then.
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	if len(m) == 0 {
		return nil
	}
	return slices.Sorted(maps.Keys(m))
}

// sortedKeysFunc is sortedKeys ordered by compare.
func sortedKeysFunc[K comparable, V any](m map[K]V, compare func(a, b K) int) []K {
	if len(m) == 0 {
		return nil
	}
	return slices.SortedFunc(maps.Keys(m), compare)
}
