package checkers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

func pr(inv protocol.InvocationID, msg string) wantViolation {
	return wantViolation{checker: promisesName, inv: inv, msg: msg}
}

// noInv marks a violation about a promise rather than one invocation.
var noInv protocol.InvocationID

// workflowK1 records the run of workflow Wf/k1 (A) and three of its shared handlers (B, C, D)
// being accepted.
func (b *builder) workflowK1() {
	b.invoked(invA, "Wf", "run", "k1", 1, "workflow")
	b.invoked(invB, "Wf", "peek", "k1", 2, "shared")
	b.invoked(invC, "Wf", "approve", "k1", 3, "shared")
	b.invoked(invD, "Wf", "reject", "k1", 4, "shared")
}

func TestPromises(t *testing.T) {
	const (
		get      = journal.KindGetPromise
		peek     = journal.KindPeekPromise
		complete = journal.KindCompletePromise
	)
	p1 := `promise "p" of Wf/k1 (epoch 0)`
	runCases(t, Promises, []checkerCase{
		{
			name: "clean: concurrent complete, peek and get",
			build: func(b *builder) {
				b.workflowK1()
				b.emit(invA, 1, 1, getPromise("p"))
				b.emit(invB, 1, 1, peekPromise("p"))
				b.emit(invC, 1, 1, completePromise("p", "v"))
				b.emit(invD, 1, 1, completePromise("p", "w"))
				// The peek ran before C's complete took effect; D lost to C although D's 409
				// came back before C's ok.
				b.observeResult(invB, 1, 1, peek, promiseEmpty)
				b.observeResult(invD, 1, 1, complete, promiseConflict)
				b.promiseCompleted("Wf", "k1", "p", "v")
				b.observeResult(invC, 1, 1, complete, promiseOK)
				b.observe(invA, 1, 1, get, "v")
				// A replays its get in a later attempt; another promise is independent.
				b.emit(invA, 2, 1, getPromise("p"))
				b.observe(invA, 2, 1, get, "v")
				b.emit(invB, 1, 2, peekPromise("q"))
				b.observeResult(invB, 1, 2, peek, promiseEmpty)
			},
		},
		{
			name: "clean: a rejection is a value like any other",
			build: func(b *builder) {
				b.workflowK1()
				rej := journal.Result{Failure: &journal.Failure{Code: 500, Message: "no"}}
				b.emit(invC, 1, 1, journal.Entry{Kind: complete, Name: "p", Param: rej})
				b.observeResult(invC, 1, 1, complete, promiseOK)
				b.add(Event{Kind: PromiseCompleted, Service: "Wf", Key: "k1", Promise: "p", Result: rej})
				b.emit(invA, 1, 1, getPromise("p"))
				b.observeResult(invA, 1, 1, get, rej)
			},
		},
		{
			name: "two completes both got ok",
			build: func(b *builder) {
				b.workflowK1()
				b.emit(invC, 1, 1, completePromise("p", "a"))
				b.emit(invD, 1, 1, completePromise("p", "b"))
				b.observeResult(invC, 1, 1, complete, promiseOK)
				b.promiseCompleted("Wf", "k1", "p", "a")
				b.observeResult(invD, 1, 1, complete, promiseOK)
			},
			want: []wantViolation{
				pr(noInv, p1+": operations are not linearizable as a write-once promise: "+
					invC.String()+"[1] complete(value(a)) -> ok; "+invD.String()+"[1] complete(value(b)) -> ok; "+
					"the longest linearizable prefix is ["+invC.String()+"[1] complete(value(a)) -> ok]"),
				pr(invD, invD.String()+"[1] complete(value(b)) -> ok got ok, but "+p1+" was completed with value(a)"),
			},
		},
		{
			name: "get returned a value before any complete was called",
			build: func(b *builder) {
				b.workflowK1()
				b.emit(invA, 1, 1, getPromise("p"))
				b.observe(invA, 1, 1, get, "v")
				b.emit(invC, 1, 1, completePromise("p", "v"))
				b.observeResult(invC, 1, 1, complete, promiseOK)
				b.promiseCompleted("Wf", "k1", "p", "v")
			},
			want: []wantViolation{pr(noInv, p1+": operations are not linearizable as a write-once promise: "+
				invA.String()+"[1] get -> value(v); "+invC.String()+"[1] complete(value(v)) -> ok; the longest linearizable prefix is []")},
		},
		{
			name: "peek saw nothing after a complete returned ok",
			build: func(b *builder) {
				b.workflowK1()
				b.emit(invC, 1, 1, completePromise("p", "v"))
				b.observeResult(invC, 1, 1, complete, promiseOK)
				b.promiseCompleted("Wf", "k1", "p", "v")
				b.emit(invB, 1, 1, peekPromise("p"))
				b.observeResult(invB, 1, 1, peek, promiseEmpty)
			},
			want: []wantViolation{pr(noInv, p1+": operations are not linearizable as a write-once promise: "+
				invC.String()+"[1] complete(value(v)) -> ok; "+invB.String()+"[1] peek -> empty")},
		},
		{
			name: "clean: a complete nobody saw return explains the get and the 409",
			build: func(b *builder) {
				b.workflowK1()
				b.emit(invC, 1, 1, completePromise("p", "v"))
				b.crash("runtime", "")
				b.ended(invC, 1, "aborted")
				b.promiseCompleted("Wf", "k1", "p", "v")
				b.emit(invA, 1, 1, getPromise("p"))
				b.observe(invA, 1, 1, get, "v")
				b.emit(invD, 1, 1, completePromise("p", "w"))
				b.observeResult(invD, 1, 1, complete, promiseConflict)
			},
		},
		{
			name: "a complete nobody saw return, called too late to explain the get",
			build: func(b *builder) {
				b.workflowK1()
				b.emit(invA, 1, 1, getPromise("p"))
				b.observe(invA, 1, 1, get, "v")
				b.emit(invC, 1, 1, completePromise("p", "v"))
				b.promiseCompleted("Wf", "k1", "p", "v")
			},
			want: []wantViolation{pr(noInv, p1+": operations are not linearizable as a write-once promise: "+
				invA.String()+"[1] get -> value(v); "+invC.String()+"[1] complete(value(v)) -> ? (never seen)")},
		},
		{
			name: "clean: a purge of the workflow starts a new epoch",
			build: func(b *builder) {
				b.workflowK1()
				b.emit(invC, 1, 1, completePromise("p", "a"))
				b.observeResult(invC, 1, 1, complete, promiseOK)
				b.promiseCompleted("Wf", "k1", "p", "a")
				// D's complete was called before the purge: epoch 0, where it lost.
				b.emit(invD, 1, 1, completePromise("p", "late"))
				b.wfPurge("Wf", "k1")
				b.observeResult(invD, 1, 1, complete, promiseConflict)
				b.invoked(invID(5), "Wf", "run", "k1", 5, "workflow")
				b.emit(invB, 1, 1, completePromise("p", "b"))
				b.observeResult(invB, 1, 1, complete, promiseOK)
				b.promiseCompleted("Wf", "k1", "p", "b")
				b.emit(invID(5), 1, 1, getPromise("p"))
				b.observe(invID(5), 1, 1, get, "b")
			},
		},
		{
			name: "a peek after the purge sees the forgotten value",
			build: func(b *builder) {
				b.workflowK1()
				b.emit(invC, 1, 1, completePromise("p", "a"))
				b.observeResult(invC, 1, 1, complete, promiseOK)
				b.promiseCompleted("Wf", "k1", "p", "a")
				b.wfPurge("Wf", "k1")
				b.emit(invB, 1, 1, peekPromise("p"))
				b.observe(invB, 1, 1, peek, "a")
			},
			want: []wantViolation{pr(noInv, `promise "p" of Wf/k1 (epoch 1): operations are not linearizable as a write-once promise: `+
				invB.String()+"[1] peek -> value(a); the longest linearizable prefix is []")},
		},
		{
			name: "clean: a gated attempt journals before the sync that records the purge before its acceptance",
			build: func(b *builder) {
				b.workflowK1()
				b.emit(invC, 1, 1, completePromise("p", "a"))
				b.observeResult(invC, 1, 1, complete, promiseOK)
				b.promiseCompleted("Wf", "k1", "p", "a")
				// E's attempt ran (gated) once the purge and its acceptance were applied, before
				// the sync recorded them: its complete belongs to epoch 1, where it wins.
				e := invID(5)
				b.emit(e, 1, 1, completePromise("p", "b"))
				b.wfPurge("Wf", "k1")
				b.invoked(e, "Wf", "approve", "k1", 5, "shared")
				b.observeResult(e, 1, 1, complete, promiseOK)
				b.promiseCompleted("Wf", "k1", "p", "b")
			},
		},
		{
			name: "a gated attempt of an invocation a crash lost: what it journaled is moot",
			build: func(b *builder) {
				b.workflowK1()
				b.emit(invID(5), 1, 1, getPromise("p"))
			},
		},
		{
			name: "promise command of an invocation never accepted",
			build: func(b *builder) {
				b.emit(invA, 1, 1, getPromise("p"))
				b.observe(invA, 1, 1, get, "v")
			},
			want: []wantViolation{pr(invA, `[1] get -> value(v) on promise "p", but the invocation was never accepted (its workflow is unknown)`)},
		},
		{
			name: "complete saw something other than ok or 409",
			build: func(b *builder) {
				b.workflowK1()
				b.emit(invC, 1, 1, completePromise("p", "v"))
				b.observeResult(invC, 1, 1, complete, journal.Result{Failure: &journal.Failure{Code: 500, Message: "boom"}})
				b.promiseCompleted("Wf", "k1", "p", "v")
			},
			want: []wantViolation{pr(invC, `[1] complete(value(v)) -> failure(500 "boom") on promise "p", neither ok nor 409 already completed`)},
		},
		{
			name: "completed twice",
			build: func(b *builder) {
				b.workflowK1()
				b.emit(invC, 1, 1, completePromise("p", "a"))
				b.observeResult(invC, 1, 1, complete, promiseOK)
				b.promiseCompleted("Wf", "k1", "p", "a")
				b.promiseCompleted("Wf", "k1", "p", "b")
			},
			want: []wantViolation{pr(noInv, p1+" completed a second time with value(b) after value(a)")},
		},
		{
			name: "complete got ok but the completion was never recorded",
			build: func(b *builder) {
				b.workflowK1()
				b.emit(invC, 1, 1, completePromise("p", "a"))
				b.observeResult(invC, 1, 1, complete, promiseOK)
			},
			want: []wantViolation{pr(invC, "[1] complete(value(a)) -> ok got ok, but "+p1+" was never recorded as completed")},
		},
		{
			name: "completed with a value no complete carried",
			build: func(b *builder) {
				b.workflowK1()
				b.promiseCompleted("Wf", "k1", "p", "z")
				b.emit(invC, 1, 1, completePromise("p", "a"))
			},
			want: []wantViolation{pr(noInv, p1+" was completed with value(z), which no complete that may have won carried")},
		},
		{
			name: "get saw another value than the completion, though linearizable",
			build: func(b *builder) {
				b.workflowK1()
				b.emit(invC, 1, 1, completePromise("p", "a"))
				b.emit(invD, 1, 1, completePromise("p", "b"))
				b.promiseCompleted("Wf", "k1", "p", "a")
				b.emit(invA, 1, 1, getPromise("p"))
				b.observe(invA, 1, 1, get, "b")
			},
			want: []wantViolation{pr(invA, "[1] get -> value(b), but "+p1+" was completed with value(a)")},
		},
	})
}

func TestPromisesUndecided(t *testing.T) {
	defer func(d time.Duration) { PromiseCheckTimeout = d }(PromiseCheckTimeout)
	PromiseCheckTimeout = 50 * time.Millisecond

	// Forty completes with forty values that nobody saw return, and a get of a value nobody
	// completed with: porcupine tries every subset of the completes before the get, which takes
	// far longer than the timeout.
	b := &builder{}
	b.invoked(invA, "Wf", "run", "k1", 1, "workflow")
	const n = 40
	for i := range n {
		inv := invID(10 + i)
		b.invoked(inv, "Wf", "look", "k1", uint64(2+i), "shared")
		b.emit(inv, 1, 1, completePromise("p", fmt.Sprint(i)))
	}
	b.emit(invA, 1, 1, getPromise("p"))
	b.observe(invA, 1, 1, journal.KindGetPromise, "z")
	checkViolations(t, b.h, Promises(b.h), []wantViolation{
		pr(noInv, fmt.Sprintf(`promise "p" of Wf/k1 (epoch 0): could not decide within 50ms whether its %d operations are linearizable`, n+1)),
	})
	// The check the report draws says the same: undecided, which is not linearizable either.
	cs := PromiseChecks(b.h)
	if len(cs) != 1 {
		t.Fatalf("PromiseChecks: %d checks, want 1", len(cs))
	}
	if !cs[0].Undecided() || cs[0].Linearizable() {
		t.Errorf("PromiseChecks: result %v, want undecided", cs[0].Result)
	}
}

// Operations never seen to return that cannot change the verdict are left out before porcupine
// searches: reads, and unseen completes of a value an earlier unseen complete carries. Forty of
// them decide at once, either way.
func TestPromisesUnseenOperationsDecideAtOnce(t *testing.T) {
	defer func(d time.Duration) { PromiseCheckTimeout = d }(PromiseCheckTimeout)
	PromiseCheckTimeout = 50 * time.Millisecond
	build := func(got string) *builder {
		b := &builder{}
		b.invoked(invA, "Wf", "run", "k1", 1, "workflow")
		for i := range 40 {
			inv := invID(10 + i)
			b.invoked(inv, "Wf", "look", "k1", uint64(2+i), "shared")
			if i%2 == 0 {
				b.emit(inv, 1, 1, peekPromise("p"))
			} else {
				b.emit(inv, 1, 1, completePromise("p", fmt.Sprint(i%3)))
			}
		}
		b.emit(invA, 1, 1, getPromise("p"))
		b.observe(invA, 1, 1, journal.KindGetPromise, got)
		return b
	}
	ok := build("1")
	checkViolations(t, ok.h, Promises(ok.h), nil)
	bad := build("z")
	checkViolations(t, bad.h, Promises(bad.h), []wantViolation{
		pr(noInv, `promise "p" of Wf/k1 (epoch 0): operations are not linearizable as a write-once promise`),
	})
}

func TestPromiseKindsSwitchable(t *testing.T) {
	// The checker reads PromiseKinds at every call, so a test (or the lead) can point it at other
	// kinds; with the kinds pointed elsewhere, promise commands are not judged at all.
	defer func(k struct{ Get, Peek, Complete journal.Kind }) { PromiseKinds = k }(PromiseKinds)
	b := &builder{}
	b.emit(invA, 1, 1, getPromise("p"))
	b.observe(invA, 1, 1, journal.KindGetPromise, "v")
	if vs := Promises(b.h); len(vs) != 1 || !strings.Contains(vs[0].Message, "never accepted") {
		t.Fatalf("with the default kinds: %v", vs)
	}
	PromiseKinds.Get, PromiseKinds.Peek, PromiseKinds.Complete = 200, 201, 202
	if vs := Promises(b.h); len(vs) != 0 {
		t.Fatalf("with other kinds: %v", vs)
	}
}

func TestReplayAcceptsLivePromiseAndSleepCompletions(t *testing.T) {
	// A get-promise and a sleep pending in a start journal complete live: no CompletionAccepted
	// is recorded for them (that event is for awakeables), and Replay must not ask for one. An
	// awakeable in the same position still needs it.
	b := &builder{}
	b.start(invA, 1, input("x"))
	b.emit(invA, 1, 1, getPromise("p"))
	b.emit(invA, 1, 2, journal.Entry{Kind: journal.KindSleep, Duration: time.Second})
	b.emit(invA, 1, 3, awk())
	b.ended(invA, 1, "suspended")
	b.start(invA, 2, input("x"), getPromise("p"), journal.Entry{Kind: journal.KindSleep, Duration: time.Second}, awk())
	b.observe(invA, 2, 1, journal.KindGetPromise, "v")
	b.observeResult(invA, 2, 2, journal.KindSleep, journal.Result{})
	b.observe(invA, 2, 3, journal.KindAwakeable, "a")
	checkViolations(t, b.h, Replay(b.h), []wantViolation{
		rp(invA, "attempt 2 observed value(a) for [3], which is pending in its start journal and was never completed"),
	})
}
