package engine_test

import (
	"encoding/binary"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/fakeclock"
	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store/mem"
)

// epoch is the fake clock's start, the simulator's epoch.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// The services every harness declares.
var testServices = []protocol.ServiceSpec{
	{Name: "Greeter", Handlers: []protocol.HandlerSpec{{Name: "greet"}, {Name: "approve"}}},
	{Name: "Other", Handlers: []protocol.HandlerSpec{{Name: "run"}}},
}

// harness drives one engine the way the production driver does: take Ready, apply its batch to
// the store and sync it, and only then hand its messages, replies, timers and notes to the test.
type harness struct {
	t       testingT
	clock   *fakeclock.Fake
	store   *mem.Store
	cfg     engine.Config
	eng     *engine.Engine
	nextID  uint64
	nextReq engine.RequestID
	// reuse makes a crash recover over the crashed engine (engine.RecoverOver), as the
	// simulator does, instead of into a new one.
	reuse bool
}

// testingT is what the harness needs of a test: *testing.T and *rapid.T both have it.
type testingT interface {
	Helper()
	Errorf(format string, args ...any)
	FailNow()
}

// newHarness returns a harness on an empty store; opts may change the config before the engine
// is built (the retry policy, say).
func newHarness(t testingT, opts ...func(*engine.Config)) *harness {
	return newHarnessAt(t, epoch, opts...)
}

// newHarnessAt is newHarness with the fake clock starting at start.
func newHarnessAt(t testingT, start time.Time, opts ...func(*engine.Config)) *harness {
	h := &harness{t: t, clock: fakeclock.NewFake(start), store: mem.New()}
	h.cfg = engine.Config{Services: testServices, Store: h.store, Clock: h.clock, NewID: h.newID}
	for _, o := range opts {
		o(&h.cfg)
	}
	h.eng = engine.New(h.cfg)
	return h
}

// idN is the N-th ID the harness's counter hands out.
func idN(n uint64) protocol.InvocationID {
	var id protocol.InvocationID
	binary.BigEndian.PutUint64(id[8:], n)
	return id
}

// newID is the deterministic ID source: a counter that survives crashes, as the driver's would.
func (h *harness) newID() protocol.InvocationID {
	h.nextID++
	return idN(h.nextID)
}

// step takes Ready, applies its batch and syncs it, and returns it for assertions.
func (h *harness) step() engine.Ready {
	h.t.Helper()
	r := h.eng.Ready()
	require.NoError(h.t, h.store.Apply(r.Batch))
	require.NoError(h.t, h.store.Sync())
	return r
}

// stepUnsynced takes Ready and applies its batch without syncing it: a crash may lose it.
func (h *harness) stepUnsynced() engine.Ready {
	h.t.Helper()
	r := h.eng.Ready()
	require.NoError(h.t, h.store.Apply(r.Batch))
	return r
}

// crash throws the engine away and recovers a new one from the store. Everything applied is
// synced by step, so nothing is lost; use crashKeeping for that. The recovered engine's first
// Ready is left for the next step.
func (h *harness) crash() {
	h.t.Helper()
	h.crashKeeping(h.store.Unsynced())
}

// crashKeeping crashes the store keeping the first keep unsynced batches, then recovers.
func (h *harness) crashKeeping(keep int) {
	h.t.Helper()
	h.store.Crash(keep)
	var eng *engine.Engine
	var err error
	if h.reuse {
		eng, err = engine.RecoverOver(h.cfg, h.eng)
	} else {
		eng, err = engine.Recover(h.cfg)
	}
	require.NoError(h.t, err)
	h.eng = eng
}

// ingress sends one ingress request and returns its request ID.
func (h *harness) ingress(req ingress.Request) engine.RequestID {
	h.nextReq++
	h.eng.Ingress(h.nextReq, req)
	return h.nextReq
}

func (h *harness) call(service, handler, body string) engine.RequestID {
	return h.ingress(ingress.Request{Kind: ingress.Call, Service: service, Handler: handler, Body: []byte(body)})
}

func (h *harness) send(service, handler, body string) engine.RequestID {
	return h.ingress(ingress.Request{Kind: ingress.Send, Service: service, Handler: handler, Body: []byte(body)})
}

func (h *harness) attach(id protocol.InvocationID) engine.RequestID {
	return h.ingress(ingress.Request{Kind: ingress.Attach, InvocationID: id.String()})
}

func (h *harness) output(id protocol.InvocationID) engine.RequestID {
	return h.ingress(ingress.Request{Kind: ingress.Output, InvocationID: id.String()})
}

func (h *harness) resolve(id protocol.InvocationID, index uint32, body string) engine.RequestID {
	return h.ingress(ingress.Request{Kind: ingress.ResolveAwakeable, AwakeableID: awk(id, index), Body: []byte(body)})
}

func (h *harness) reject(id protocol.InvocationID, index uint32, reason string) engine.RequestID {
	return h.ingress(ingress.Request{Kind: ingress.RejectAwakeable, AwakeableID: awk(id, index), Body: []byte(reason)})
}

// awk is the awakeable ID of entry index of invocation id.
func awk(id protocol.InvocationID, index uint32) string {
	return protocol.AwakeableID{Invocation: id, Index: index}.String()
}

// Executor messages.

func cmd(id protocol.InvocationID, attempt, index uint32, en journal.Entry) protocol.Message {
	return protocol.Message{Kind: protocol.KindCommand, Invocation: id, Attempt: attempt, Index: index, Entry: en}
}

func suspendMsg(id protocol.InvocationID, attempt, index uint32, waiting ...uint32) protocol.Message {
	return protocol.Message{Kind: protocol.KindSuspend, Invocation: id, Attempt: attempt, Index: index, WaitingOn: waiting}
}

func endMsg(id protocol.InvocationID, attempt, index uint32, value string) protocol.Message {
	return protocol.Message{Kind: protocol.KindEnd, Invocation: id, Attempt: attempt, Index: index,
		Entry: journal.Entry{Kind: journal.KindOutput, Result: journal.Result{Value: []byte(value)}}}
}

func errorMsg(id protocol.InvocationID, attempt uint32, retryable bool, msg string) protocol.Message {
	return protocol.Message{Kind: protocol.KindError, Invocation: id, Attempt: attempt, Retryable: retryable, Message: msg}
}

// Journal entries as an executor sends them.

func awakeableEntry() journal.Entry { return journal.Entry{Kind: journal.KindAwakeable} }

func runEntry(name, value string) journal.Entry {
	return journal.Entry{Kind: journal.KindRun, Name: name, Result: journal.Result{Value: []byte(value)}}
}

func completeEntry(target, value string) journal.Entry {
	return journal.Entry{Kind: journal.KindCompleteAwakeable, Target: target, Param: journal.Result{Value: []byte(value)}}
}

func value(s string) journal.Result { return journal.Result{Value: []byte(s)} }

func failure(code uint16, msg string) journal.Result {
	return journal.Result{Failure: &journal.Failure{Code: code, Message: msg}}
}

// Ready inspection.

func messagesOf(r engine.Ready, kind protocol.Kind) []protocol.Message {
	var out []protocol.Message
	for _, m := range r.Messages {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

func notesOf(r engine.Ready, kind engine.NoteKind) []engine.Note {
	var out []engine.Note
	for _, n := range r.Notes {
		if n.Kind == kind {
			out = append(out, n)
		}
	}
	return out
}

func timersOf(r engine.Ready, kind engine.TimerKind) []engine.Timer {
	var out []engine.Timer
	for _, tm := range r.Timers {
		if tm.Kind == kind {
			out = append(out, tm)
		}
	}
	return out
}

// quiet reports whether r carries nothing but bookkeeping: no writes, messages, replies or
// timers, and no note about completions or outputs.
func quiet(r engine.Ready) bool {
	for _, n := range r.Notes {
		switch n.Kind {
		case engine.NoteCompletionAccepted, engine.NoteCompletionDropped, engine.NoteInvocationDone:
			return false
		}
	}
	return len(r.Batch) == 0 && len(r.Messages) == 0 && len(r.Replies) == 0 && len(r.Timers) == 0
}

// replyTo returns the reply to request id in r, failing the test if there is none or several.
func replyTo(t testingT, r engine.Ready, id engine.RequestID) ingress.Response {
	t.Helper()
	var found []ingress.Response
	for _, rep := range r.Replies {
		if rep.Request == id {
			found = append(found, rep.Response)
		}
	}
	require.Len(t, found, 1, "replies to request %d in %+v", id, r.Replies)
	return found[0]
}

// noReplyTo asserts that r does not answer request id.
func noReplyTo(t testingT, r engine.Ready, id engine.RequestID) {
	t.Helper()
	for _, rep := range r.Replies {
		require.NotEqual(t, id, rep.Request, "unexpected reply %+v", rep)
	}
}

// onlyStart returns the single Start message in r.
func onlyStart(t testingT, r engine.Ready) protocol.Message {
	t.Helper()
	starts := messagesOf(r, protocol.KindStart)
	require.Len(t, starts, 1, "start messages in %v", r.Messages)
	return starts[0]
}

// started calls Service/Handler and returns the new invocation's ID after its first step.
func (h *harness) started(body string) protocol.InvocationID {
	h.t.Helper()
	h.call("Greeter", "greet", body)
	r := h.step()
	return onlyStart(h.t, r).Invocation
}

// withAwakeable starts an invocation whose attempt 1 journals an awakeable at index 1.
func (h *harness) withAwakeable() protocol.InvocationID {
	h.t.Helper()
	id := h.started(`"in"`)
	h.eng.Receive(cmd(id, 1, 1, awakeableEntry()))
	h.step()
	return id
}

// outputOf asks the engine for id's output and returns the response.
func (h *harness) outputOf(id protocol.InvocationID) ingress.Response {
	h.t.Helper()
	req := h.output(id)
	return replyTo(h.t, h.step(), req)
}

// entries renders a journal for comparison in failure messages.
func entries(j []journal.Entry) []string {
	out := make([]string, len(j))
	for i, e := range j {
		out[i] = e.String()
	}
	return out
}
