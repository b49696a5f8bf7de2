package checkers

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// invID returns the n-th invocation ID of a test; n > 0 keeps it non-zero.
func invID(n int) protocol.InvocationID {
	var id protocol.InvocationID
	binary.BigEndian.PutUint32(id[12:], uint32(n))
	return id
}

// Invocations the hand-written histories use.
var (
	invA = invID(1)
	invB = invID(2)
)

// val is a successful result carrying s.
func val(s string) journal.Result { return journal.Result{Value: []byte(s)} }

// Journal entries, spelled short.
func input(v string) journal.Entry { return journal.Entry{Kind: journal.KindInput, Result: val(v)} }
func output(v string) journal.Entry {
	return journal.Entry{Kind: journal.KindOutput, Result: val(v)}
}
func run(name, v string) journal.Entry {
	return journal.Entry{Kind: journal.KindRun, Name: name, Result: val(v)}
}
func awk() journal.Entry { return journal.Entry{Kind: journal.KindAwakeable} }
func awkDone(v string) journal.Entry {
	return journal.Entry{Kind: journal.KindAwakeable, Completed: true, Result: val(v)}
}
func completeAwk(target, v string) journal.Entry {
	return journal.Entry{Kind: journal.KindCompleteAwakeable, Target: target, Param: val(v)}
}

// builder appends events to a history one call at a time, a millisecond of virtual time apart
// (plus whatever advance added). Each method returns the index of the event it added.
type builder struct {
	h    History
	skew time.Duration
	// specs are the services declared so far (ServiceDeclared), grown as requests name them.
	specs map[string]*protocol.ServiceSpec
}

func (b *builder) add(e Event) int {
	e.At = b.now()
	b.h.Events = append(b.h.Events, e)
	return len(b.h.Events) - 1
}

// now is the At the next event will get.
func (b *builder) now() time.Duration {
	return time.Duration(len(b.h.Events)+1)*time.Millisecond + b.skew
}

// advance lets d of virtual time pass before the next event.
func (b *builder) advance(d time.Duration) { b.skew += d }

func (b *builder) start(inv protocol.InvocationID, attempt uint32, j ...journal.Entry) int {
	return b.add(Event{Kind: AttemptStarted, Node: "executor", Invocation: inv, Attempt: attempt, Journal: j})
}

func (b *builder) emit(inv protocol.InvocationID, attempt, index uint32, e journal.Entry) int {
	return b.add(Event{Kind: CommandEmitted, Node: "executor", Invocation: inv, Attempt: attempt, Index: index, Entry: e})
}

func (b *builder) observe(inv protocol.InvocationID, attempt, index uint32, k journal.Kind, v string) int {
	return b.add(Event{Kind: ValueObserved, Node: "executor", Invocation: inv, Attempt: attempt, Index: index,
		Entry: journal.Entry{Kind: k}, Result: val(v)})
}

func (b *builder) exec(inv protocol.InvocationID, attempt, index uint32) int {
	return b.add(Event{Kind: RunExecuted, Node: "executor", Invocation: inv, Attempt: attempt, Index: index})
}

// runStep is what an attempt records for a run it executes live: the side effect, the command
// journaling its result, and the handler receiving it.
func (b *builder) runStep(inv protocol.InvocationID, attempt, index uint32, name, v string) {
	b.exec(inv, attempt, index)
	b.emit(inv, attempt, index, run(name, v))
	b.observe(inv, attempt, index, journal.KindRun, v)
}

func (b *builder) ended(inv protocol.InvocationID, attempt uint32, reason string) int {
	return b.add(Event{Kind: AttemptEnded, Node: "executor", Invocation: inv, Attempt: attempt, Reason: reason})
}

func (b *builder) accept(inv protocol.InvocationID, index uint32, v string) int {
	return b.add(Event{Kind: CompletionAccepted, Node: "runtime", Invocation: inv, Index: index,
		Awakeable: protocol.AwakeableID{Invocation: inv, Index: index}.String(), Result: val(v)})
}

func (b *builder) drop(inv protocol.InvocationID, index uint32, v, reason string) int {
	return b.add(Event{Kind: CompletionDropped, Node: "runtime", Invocation: inv, Index: index,
		Awakeable: protocol.AwakeableID{Invocation: inv, Index: index}.String(), Result: val(v), Reason: reason})
}

func (b *builder) done(inv protocol.InvocationID, v string) int {
	return b.add(Event{Kind: InvocationDone, Node: "runtime", Invocation: inv, Result: val(v)})
}

func (b *builder) crash(node, reason string) int {
	return b.add(Event{Kind: NodeCrashed, Node: node, Reason: reason})
}

// firstAttempt records attempt 1 of inv: it runs "charge" (value r1) at [1], creates an
// awakeable at [2] and suspends on it; the awakeable is then accepted with "yes". The next
// attempt's start journal is therefore secondJournal.
func (b *builder) firstAttempt(inv protocol.InvocationID) {
	b.start(inv, 1, input("x"))
	b.runStep(inv, 1, 1, "charge", "r1")
	b.emit(inv, 1, 2, awk())
	b.ended(inv, 1, "suspended")
	b.accept(inv, 2, "yes")
}

// secondJournal is the start journal of the attempt after firstAttempt.
func secondJournal() []journal.Entry {
	return []journal.Entry{input("x"), run("charge", "r1"), awkDone("yes")}
}

// wantViolation is one expected violation: its checker, invocation and part of its message.
type wantViolation struct {
	checker string
	inv     protocol.InvocationID
	msg     string
}

// checkViolations asserts that got is exactly the violations want describes, in order.
func checkViolations(t *testing.T, h History, got []Violation, want []wantViolation) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = got[i].Checker == want[i].checker && got[i].Invocation == want[i].inv &&
			strings.Contains(got[i].Message, want[i].msg)
	}
	if ok {
		return
	}
	var sb strings.Builder
	for _, v := range got {
		sb.WriteString("\n  " + v.String())
	}
	sb.WriteString("\nwant:")
	for _, w := range want {
		sb.WriteString("\n  " + w.checker + ": " + w.inv.String() + ": ..." + w.msg + "...")
	}
	sb.WriteString("\nhistory:")
	for i, e := range h.Events {
		fmt.Fprintf(&sb, "\n  %3d %s", i, strings.TrimSpace(e.String()))
	}
	t.Fatalf("got %d violations:%s", len(got), sb.String())
}

// More invocations, for the checkers of objects, workflows, promises and clients.
var (
	invC = invID(3)
	invD = invID(4)
)

// invoked records the engine accepting inv for service/handler on key as its seq-th invocation;
// kind is the handler's kind ("service", "exclusive", "shared", "workflow").
func (b *builder) invoked(inv protocol.InvocationID, service, handler, key string, seq uint64, kind string) int {
	return b.add(Event{Kind: InvocationAccepted, Node: "runtime", Invocation: inv, Service: service, Handler: handler,
		Key: key, Seq: seq, Reason: kind, HandlerKind: handlerKinds[kind]})
}

func (b *builder) lock(inv protocol.InvocationID, service, key string) int {
	return b.add(Event{Kind: LockAcquired, Node: "runtime", Invocation: inv, Service: service, Key: key})
}

func (b *builder) unlock(inv protocol.InvocationID, service, key string) int {
	return b.add(Event{Kind: LockReleased, Node: "runtime", Invocation: inv, Service: service, Key: key})
}

// arm records a timer of inv armed for deadline; reason is "sleep", "retry" or "retention".
func (b *builder) arm(inv protocol.InvocationID, index uint32, reason string, deadline time.Duration) int {
	return b.add(Event{Kind: TimerArmed, Node: "runtime", Invocation: inv, Index: index, Reason: reason, Timer: timerKinds[reason], Deadline: deadline})
}

func (b *builder) fire(inv protocol.InvocationID, index uint32, reason string, deadline time.Duration) int {
	return b.add(Event{Kind: TimerFired, Node: "runtime", Invocation: inv, Index: index, Reason: reason, Timer: timerKinds[reason], Deadline: deadline})
}

// retain records a retention timer armed for deadline; what names what it will purge (Service,
// Handler, Key, Invocation, IdempotencyKey).
func (b *builder) retain(what Event, deadline time.Duration) int {
	what.Kind, what.Node, what.Reason, what.Timer, what.Deadline = TimerArmed, "runtime", "retention", event.TimerRetention, deadline
	return b.add(what)
}

// purge records the engine forgetting what (Reason "workflow", "invocation" or "idempotency",
// with Service, Handler, Key, Invocation, IdempotencyKey) whose retention ended at deadline.
func (b *builder) purge(what Event, deadline time.Duration) int {
	what.Kind, what.Node, what.Deadline = Purged, "runtime", deadline
	if what.Purge == 0 {
		what.Purge = purgeKinds[what.Reason]
	}
	return b.add(what)
}

// wfPurge purges workflow service/key at its deadline, now.
func (b *builder) wfPurge(service, key string) int {
	return b.purge(Event{Reason: "workflow", Service: service, Key: key}, b.now())
}

// endAfter lets d pass and records one last event, which ends the run.
func (b *builder) endAfter(d time.Duration) int {
	b.advance(d)
	return b.add(Event{Kind: NodeRestarted, Node: "sim"})
}

// request records client request n ("METHOD path") to service/handler/key.
// The request is recorded as a client would send it (method, path, headers), the path built
// from service/key/handler unless route names a /restate/ path; the service is declared.
func (b *builder) request(n uint64, route, service, handler, key, idem string) int {
	method, path, _ := strings.Cut(route, " ")
	if service != "" && !strings.HasPrefix(path, "/restate/") {
		path = "/" + service
		if key != "" {
			path += "/" + key
		}
		path += "/" + handler
		if strings.HasSuffix(route, "/send") {
			path += "/send"
		}
	}
	if service != "" {
		b.declare(service, handler, key != "", handler == "run" || strings.HasPrefix(path, "/restate/workflow/"))
	}
	var hdr []event.Header
	if idem != "" {
		hdr = []event.Header{{Name: "Idempotency-Key", Value: idem}}
	}
	return b.add(Event{Kind: ClientRequest, Node: "client-1", Request: n, Reason: route,
		HTTP: &event.HTTP{Method: method, Path: path, Header: hdr}})
}

// declare records service as declared (once), with handler among its handlers: a workflow
// (handler "run" its run), an object when keyed, a plain service otherwise.
func (b *builder) declare(service, handler string, keyed, workflow bool) *protocol.ServiceSpec {
	if b.specs == nil {
		b.specs = map[string]*protocol.ServiceSpec{}
	}
	sp := b.specs[service]
	if sp == nil {
		sp = &protocol.ServiceSpec{Name: service, Kind: protocol.ServiceStateless}
		switch {
		case workflow:
			sp.Kind = protocol.ServiceWorkflow
		case keyed:
			sp.Kind = protocol.ServiceObject
		}
		b.specs[service] = sp
		b.add(Event{Kind: ServiceDeclared, Node: "sim", Service: service, Spec: sp})
	}
	if handler != "" && !sp.HasHandler(handler) {
		kind := protocol.HandlerExclusive
		if handler == "run" && sp.Kind == protocol.ServiceWorkflow {
			kind = protocol.HandlerWorkflowRun
		}
		sp.Handlers = append(sp.Handlers, protocol.HandlerSpec{Name: handler, Kind: kind})
	}
	return sp
}

// The typed kinds of the words the tests use.
var (
	handlerKinds = map[string]event.HandlerKind{"service": event.HandlerService, "exclusive": event.HandlerExclusive, "shared": event.HandlerShared, "workflow": event.HandlerWorkflow}
	timerKinds   = map[string]event.TimerKind{"sleep": event.TimerSleep, "retry": event.TimerRetry, "retention": event.TimerRetention}
	purgeKinds   = map[string]event.PurgeKind{"workflow": event.PurgeWorkflow, "invocation": event.PurgeInvocation, "idempotency": event.PurgeIdempotency}
)

// respondOutput records a 200 response to request n carrying inv's output v.
func (b *builder) respondOutput(n uint64, inv protocol.InvocationID, v string) int {
	return b.add(Event{Kind: ClientResponse, Node: "client-1", Request: n, Status: 200, Invocation: inv,
		Entry: journal.Entry{Kind: journal.KindOutput}, Result: val(v), Reason: "200 " + v})
}

// respondAccepted records a 202 response to request n naming inv.
func (b *builder) respondAccepted(n uint64, inv protocol.InvocationID) int {
	return b.add(Event{Kind: ClientResponse, Node: "client-1", Request: n, Status: 202, Invocation: inv, Reason: "202"})
}

// respondStatus records a response to request n that carries no output (an error, or 0 for a
// failed connection).
func (b *builder) respondStatus(n uint64, status int) int {
	return b.add(Event{Kind: ClientResponse, Node: "client-1", Request: n, Status: status})
}

// Promise commands, spelled short.
func getPromise(name string) journal.Entry { return journal.Entry{Kind: PromiseKinds.Get, Name: name} }
func peekPromise(name string) journal.Entry {
	return journal.Entry{Kind: PromiseKinds.Peek, Name: name}
}
func completePromise(name, v string) journal.Entry {
	return journal.Entry{Kind: PromiseKinds.Complete, Name: name, Param: val(v)}
}

// observeResult records the handler of inv receiving r for the entry of kind k at index.
func (b *builder) observeResult(inv protocol.InvocationID, attempt, index uint32, k journal.Kind, r journal.Result) int {
	return b.add(Event{Kind: ValueObserved, Node: "executor", Invocation: inv, Attempt: attempt, Index: index,
		Entry: journal.Entry{Kind: k}, Result: r})
}

// Promise outcomes, as handlers see them.
var (
	promiseOK       = journal.Result{}
	promiseEmpty    = journal.Result{}
	promiseConflict = journal.Result{Failure: &journal.Failure{Code: 409, Message: "promise was already completed"}}
)

func (b *builder) promiseCompleted(service, key, name, v string) int {
	return b.add(Event{Kind: PromiseCompleted, Node: "runtime", Service: service, Key: key, Promise: name, Result: val(v)})
}

// checkerCase is one row of a checker's table test: a history and the violations it must give.
type checkerCase struct {
	name  string
	build func(b *builder)
	want  []wantViolation
}

// runCases runs check over each case's history, and checks that every violation names events
// in ascending order and that the history was left as it was.
func runCases(t *testing.T, check func(History) []Violation, cases []checkerCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &builder{}
			tc.build(b)
			before := slices.Clone(b.h.Events)
			got := check(b.h)
			checkViolations(t, b.h, got, tc.want)
			for _, v := range got {
				if len(v.Events) == 0 || !slices.IsSorted(v.Events) {
					t.Errorf("%v: events must be sorted and non-empty", v)
				}
			}
			if !slices.EqualFunc(before, b.h.Events, func(a, b Event) bool { return a.String() == b.String() }) {
				t.Errorf("the checker modified its history")
			}
			if again := check(b.h); len(again) != len(got) {
				t.Errorf("a second call found %d violations, the first %d", len(again), len(got))
			}
		})
	}
}
