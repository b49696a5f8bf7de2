package executor_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigilsim/vigil/fakeclock"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/executor"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// Every test of this package must leave no coroutine behind but the workers its executors keep
// for later attempts; the tests that abort, suspend or crash attempts also check it on their own
// with noLeak.
func TestMain(m *testing.M) { goleak.VerifyTestMain(idleStopped{m}) }

// idleStopped runs the tests, then ends the workers every executor they made keeps.
type idleStopped struct{ m *testing.M }

func (s idleStopped) Run() int {
	code := s.m.Run()
	stopIdle()
	return code
}

// made are the executors the tests made (newExecutor), for the leak checks.
var made []*executor.Executor

// newExecutor is executor.New, remembered for the leak checks.
func newExecutor(cfg executor.Config) *executor.Executor {
	ex := executor.New(cfg)
	made = append(made, ex)
	return ex
}

// stopIdle ends the workers that the executors made so far keep for later attempts, and those
// that stopped Spares kept for later executors.
func stopIdle() {
	for _, ex := range made {
		executor.StopIdle(ex)
	}
	executor.StopKeptWorkers()
}

// noLeak fails t if a goroutine is left behind but the workers executors keep for later attempts,
// which it ends first: such a worker holds no attempt, while the coroutine of an attempt that
// should have ended (aborted, suspended, crashed) would still be found.
func noLeak(t goleak.TestingT) {
	stopIdle()
	goleak.VerifyNone(t)
}

// tb is what the harness needs of a test: *testing.T, *testing.B and *rapid.T all qualify.
type tb interface {
	Helper()
	Errorf(format string, args ...any)
	FailNow()
}

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// The service and handler names the tests use.
const (
	svcName = "Svc"
	hName   = "h"
)

// call is one Observer call, flattened so tests can compare and filter them.
type call struct {
	Method  string
	Inv     protocol.InvocationID
	Attempt uint32
	Index   uint32
	Kind    journal.Kind
	Result  journal.Result
	Entry   journal.Entry
	How     string
	Journal []journal.Entry
}

// recObserver records every Observer call in order.
type recObserver struct{ calls []call }

func (o *recObserver) AttemptStarted(inv protocol.InvocationID, attempt uint32, j []journal.Entry) {
	o.calls = append(o.calls, call{Method: "AttemptStarted", Inv: inv, Attempt: attempt, Journal: j})
}

func (o *recObserver) CommandEmitted(inv protocol.InvocationID, attempt uint32, index uint32, e journal.Entry) {
	o.calls = append(o.calls, call{Method: "CommandEmitted", Inv: inv, Attempt: attempt, Index: index, Entry: e})
}

func (o *recObserver) ValueObserved(inv protocol.InvocationID, attempt uint32, index uint32, kind journal.Kind, r journal.Result) {
	o.calls = append(o.calls, call{Method: "ValueObserved", Inv: inv, Attempt: attempt, Index: index, Kind: kind, Result: r})
}

func (o *recObserver) RunExecuted(inv protocol.InvocationID, attempt uint32, index uint32) {
	o.calls = append(o.calls, call{Method: "RunExecuted", Inv: inv, Attempt: attempt, Index: index})
}

func (o *recObserver) AttemptEnded(inv protocol.InvocationID, attempt uint32, how string) {
	o.calls = append(o.calls, call{Method: "AttemptEnded", Inv: inv, Attempt: attempt, How: how})
}

// of returns the calls of one method, in order.
func (o *recObserver) of(method string) []call {
	var out []call
	for _, c := range o.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// ended returns how each attempt of inv ended, in order.
func (o *recObserver) ended(inv protocol.InvocationID) []string {
	var out []string
	for _, c := range o.of("AttemptEnded") {
		if c.Inv == inv {
			out = append(out, fmt.Sprintf("#%d %s", c.Attempt, c.How))
		}
	}
	return out
}

// harness is an executor wired to a fake clock, a recording Send and a recording Observer.
type harness struct {
	t        tb
	clock    *fakeclock.Fake
	ex       *executor.Executor
	obs      *recObserver
	sent     []protocol.Message
	timeout  time.Duration
	timeouts int // how often the executor asked for the inactivity timeout
}

// newHarness builds an executor for services whose parked attempts suspend after timeout.
func newHarness(t tb, timeout time.Duration, services ...*durable.Service) *harness {
	h := &harness{t: t, clock: fakeclock.NewFake(epoch), obs: &recObserver{}, timeout: timeout}
	h.ex = newExecutor(executor.Config{
		Services: services,
		Send: func(m protocol.Message) {
			require.False(t, m.Kind.ToExecutor(), "executor sent %s", m)
			h.sent = append(h.sent, m)
		},
		Clock: h.clock,
		InactivityTimeout: func() time.Duration {
			h.timeouts++
			return h.timeout
		},
		Observer: h.obs,
	})
	return h
}

// service is a one-handler service called svcName/hName.
func service[I, O any](fn func(durable.Context, I) (O, error)) *durable.Service {
	return durable.NewService(svcName).Handler(hName, durable.NewServiceHandler(fn))
}

// take returns the messages sent since the last take.
func (h *harness) take() []protocol.Message {
	out := h.sent
	h.sent = nil
	return out
}

// takeOne returns the only message sent since the last take.
func (h *harness) takeOne() protocol.Message {
	h.t.Helper()
	ms := h.take()
	require.Len(h.t, ms, 1, "messages: %v", ms)
	return ms[0]
}

func (h *harness) start(inv protocol.InvocationID, attempt uint32, j ...journal.Entry) {
	h.ex.Deliver(protocol.Message{Kind: protocol.KindStart, Invocation: inv, Attempt: attempt, Service: svcName, Handler: hName, Journal: j})
}

func (h *harness) complete(inv protocol.InvocationID, attempt, index uint32, r journal.Result) {
	h.ex.Deliver(protocol.Message{Kind: protocol.KindCompletion, Invocation: inv, Attempt: attempt, Index: index,
		Entry: journal.Entry{Kind: journal.KindAwakeable, Completed: true, Result: r}})
}

func (h *harness) ack(inv protocol.InvocationID, attempt, index uint32) {
	h.ex.Deliver(protocol.Message{Kind: protocol.KindAck, Invocation: inv, Attempt: attempt, Index: index})
}

func (h *harness) abort(inv protocol.InvocationID, attempt uint32) {
	h.ex.Deliver(protocol.Message{Kind: protocol.KindAbort, Invocation: inv, Attempt: attempt})
}

// jsonOf encodes v, failing the test if it cannot.
func jsonOf(t tb, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func value(t tb, v any) journal.Result { return journal.Result{Value: jsonOf(t, v)} }

func failure(code uint16, msg string) journal.Result {
	return journal.Result{Failure: &journal.Failure{Code: code, Message: msg}}
}

func inputEntry(t tb, v any) journal.Entry {
	return journal.Entry{Kind: journal.KindInput, Result: value(t, v)}
}

func awakeableEntry() journal.Entry { return journal.Entry{Kind: journal.KindAwakeable} }

func completedAwakeable(r journal.Result) journal.Entry {
	return journal.Entry{Kind: journal.KindAwakeable, Completed: true, Result: r}
}

func runEntry(name string, r journal.Result) journal.Entry {
	return journal.Entry{Kind: journal.KindRun, Name: name, Result: r}
}

func invID(b byte) protocol.InvocationID { return protocol.InvocationID{0: 0x10, 15: b} }

func awakeableID(inv protocol.InvocationID, index uint32) string {
	return protocol.AwakeableID{Invocation: inv, Index: index}.String()
}

// command is the Command message an attempt sends for entry e at index.
func command(inv protocol.InvocationID, attempt, index uint32, e journal.Entry) protocol.Message {
	return protocol.Message{Kind: protocol.KindCommand, Invocation: inv, Attempt: attempt, Index: index, Entry: e}
}

func endMsg(inv protocol.InvocationID, attempt, index uint32, r journal.Result) protocol.Message {
	return protocol.Message{Kind: protocol.KindEnd, Invocation: inv, Attempt: attempt, Index: index,
		Entry: journal.Entry{Kind: journal.KindOutput, Result: r}}
}

func suspendMsg(inv protocol.InvocationID, attempt, index uint32, waiting ...uint32) protocol.Message {
	return protocol.Message{Kind: protocol.KindSuspend, Invocation: inv, Attempt: attempt, Index: index, WaitingOn: waiting}
}

// requireError checks that m is a retryable Error of inv's attempt and returns its text.
func requireError(t tb, m protocol.Message, inv protocol.InvocationID, attempt uint32) string {
	t.Helper()
	require.Equal(t, protocol.KindError, m.Kind, "message %s", m)
	require.Equal(t, inv, m.Invocation)
	require.Equal(t, attempt, m.Attempt)
	require.True(t, m.Retryable, "message %s", m)
	return m.Message
}

// approval is the seed's human-approval handler with hooks for tests: it creates an awakeable,
// hands its ID out inside a Run (counted in runs), waits for the decision and returns it.
type approval struct {
	runs     int      // executions of the side effect
	defers   int      // handler defers that ran
	handed   []string // IDs handed out by the side effect
	acked    int      // times the handler got past the Run
	seenErr  error    // the error the awakeable gave the handler, if any
	catchErr bool     // return a value instead of the awakeable's error
}

type request struct {
	Document string `json:"document"`
}

func (a *approval) service() *durable.Service {
	return service(func(ctx durable.Context, req request) (string, error) {
		defer func() { a.defers++ }()
		aw := durable.Awakeable[string](ctx)
		id, err := durable.Run(ctx, func(durable.RunContext) (string, error) {
			a.runs++
			a.handed = append(a.handed, aw.ID())
			return aw.ID(), nil
		}, durable.WithName("hand-out"))
		if err != nil {
			return "", err
		}
		if id != aw.ID() {
			return "", fmt.Errorf("run returned %q, want the awakeable's id %q", id, aw.ID())
		}
		a.acked++
		decision, err := aw.Result()
		if err != nil {
			a.seenErr = err
			if a.catchErr {
				return "rejected: " + err.Error(), nil
			}
			return "", err
		}
		return "review of " + req.Document + ": " + decision, nil
	})
}

// catchPanic runs f and returns what it panicked with, or nil.
func catchPanic(f func()) (r any) {
	defer func() { r = recover() }()
	f()
	return nil
}

var errFlaky = errors.New("flaky side effect")
