package engine_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// restateError is Restate's error body.
type restateError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Source  string `json:"source"`
}

func decodeError(t testing.TB, resp ingress.Response) restateError {
	t.Helper()
	var e restateError
	require.NoError(t, json.Unmarshal(resp.Body, &e), "body %q", resp.Body)
	return e
}

func TestCallStartsAttemptOne(t *testing.T) {
	h := newHarness(t)
	req := h.call("Greeter", "greet", `"world"`)
	r := h.step()

	start := onlyStart(t, r)
	assert.Equal(t, idN(1), start.Invocation)
	assert.Equal(t, uint32(1), start.Attempt)
	assert.Equal(t, "Greeter", start.Service)
	assert.Equal(t, "greet", start.Handler)
	require.Len(t, start.Journal, 1)
	assert.True(t, start.Journal[0].Equal(journal.Entry{Kind: journal.KindInput, Result: value(`"world"`)}), "%s", start.Journal[0])
	// A call is answered when the invocation ends, not before.
	noReplyTo(t, r, req)
	require.Len(t, r.Notes, 1)
	assert.Equal(t, engine.NoteInvocationAccepted, r.Notes[0].Kind)
	assert.Equal(t, start.Invocation, r.Notes[0].Invocation)
	assert.Equal(t, "Greeter", r.Notes[0].Service)
	assert.Equal(t, "greet", r.Notes[0].Handler)
	assert.Equal(t, uint64(1), r.Notes[0].Seq)
	// The Start leaves with the batch that makes the invocation and its attempt durable.
	assertBatchHas(t, r, engine.InvocationKey(start.Invocation), engine.EntryKey(start.Invocation, 0))
	assert.Equal(t, "running", engine.Status(h.eng, start.Invocation))
	assert.Equal(t, []protocol.InvocationID{start.Invocation}, h.eng.Unfinished())
	assert.Equal(t, 1, h.eng.Invocations())
}

// assertBatchHas asserts that r's batch writes every key.
func assertBatchHas(t testing.TB, r engine.Ready, keys ...string) {
	t.Helper()
	written := map[string]bool{}
	for _, op := range r.Batch {
		if !op.Delete {
			written[op.Key] = true
		}
	}
	for _, k := range keys {
		assert.True(t, written[k], "batch does not write %s", k)
	}
}

func TestSendAnswers202WithInvocationID(t *testing.T) {
	h := newHarness(t)
	req := h.send("Greeter", "greet", `"x"`)
	r := h.step()

	start := onlyStart(t, r)
	resp := replyTo(t, r, req)
	assert.Equal(t, http.StatusAccepted, resp.Status)
	assert.Equal(t, start.Invocation.String(), resp.InvocationID)
	var body struct{ InvocationID, Status string }
	require.NoError(t, json.Unmarshal(resp.Body, &body))
	assert.Equal(t, start.Invocation.String(), body.InvocationID)
	assert.Equal(t, "Accepted", body.Status)
	// The 202 is released in the Ready whose batch holds the invocation.
	assertBatchHas(t, r, engine.InvocationKey(start.Invocation), engine.EntryKey(start.Invocation, 0))
}

func TestIngressErrors(t *testing.T) {
	done := func(h *harness) protocol.InvocationID {
		id := h.started(`"in"`)
		h.eng.Receive(endMsg(id, 1, 1, `"out"`))
		h.step()
		return id
	}
	tests := []struct {
		name    string
		setup   func(h *harness) protocol.InvocationID
		req     func(id protocol.InvocationID) ingress.Request
		status  int
		message string
	}{
		{
			name: "unknown service",
			req: func(protocol.InvocationID) ingress.Request {
				return ingress.Request{Kind: ingress.Call, Service: "Nope", Handler: "greet"}
			},
			status:  404,
			message: "service 'Nope' not found",
		},
		{
			name: "unknown handler (send)",
			req: func(protocol.InvocationID) ingress.Request {
				return ingress.Request{Kind: ingress.Send, Service: "Greeter", Handler: "nope"}
			},
			status:  404,
			message: "handler 'nope' not found on service 'Greeter'",
		},
		{
			name: "attach of unknown id",
			req: func(protocol.InvocationID) ingress.Request {
				return ingress.Request{Kind: ingress.Attach, InvocationID: idN(99).String()}
			},
			status:  404,
			message: "invocation " + idN(99).String() + " not found",
		},
		{
			name: "output of unknown id",
			req: func(protocol.InvocationID) ingress.Request {
				return ingress.Request{Kind: ingress.Output, InvocationID: idN(99).String()}
			},
			status:  404,
			message: "invocation " + idN(99).String() + " not found",
		},
		{
			name: "output of malformed id",
			req: func(protocol.InvocationID) ingress.Request {
				return ingress.Request{Kind: ingress.Output, InvocationID: "inv_nothex"}
			},
			status: 400,
		},
		{
			name:  "output while running",
			setup: func(h *harness) protocol.InvocationID { return h.started(`"in"`) },
			req: func(id protocol.InvocationID) ingress.Request {
				return ingress.Request{Kind: ingress.Output, InvocationID: id.String()}
			},
			status:  ingress.StatusNotReady,
			message: "the invocation exists but has not completed yet",
		},
		{
			name: "malformed awakeable id",
			req: func(protocol.InvocationID) ingress.Request {
				return ingress.Request{Kind: ingress.ResolveAwakeable, AwakeableID: "sign_1!!", Body: []byte("1")}
			},
			status: 400,
		},
		{
			name: "awakeable id of the wrong length",
			req: func(protocol.InvocationID) ingress.Request {
				return ingress.Request{Kind: ingress.RejectAwakeable, AwakeableID: "sign_1AAAA"}
			},
			status: 400,
		},
		{
			name:   "unknown request kind",
			req:    func(protocol.InvocationID) ingress.Request { return ingress.Request{Kind: 99} },
			status: 400,
		},
		{
			name:  "output after done is 200, not an error",
			setup: done,
			req: func(id protocol.InvocationID) ingress.Request {
				return ingress.Request{Kind: ingress.Output, InvocationID: id.String()}
			},
			status: 200,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			var id protocol.InvocationID
			if tt.setup != nil {
				id = tt.setup(h)
			}
			req := h.ingress(tt.req(id))
			r := h.step()
			resp := replyTo(t, r, req)
			assert.Equal(t, tt.status, resp.Status)
			assert.Empty(t, r.Batch, "a refused request writes nothing")
			assert.Empty(t, r.Messages)
			if tt.status >= 400 {
				e := decodeError(t, resp)
				assert.Equal(t, tt.status, e.Code)
				assert.Equal(t, "ingress", e.Source)
				assert.Equal(t, "application/json", resp.ContentType)
				if tt.message != "" {
					assert.Equal(t, tt.message, e.Message)
				} else {
					assert.NotEmpty(t, e.Message)
				}
			}
		})
	}
}

func TestMalformedAwakeableIDNamesTheID(t *testing.T) {
	h := newHarness(t)
	req := h.ingress(ingress.Request{Kind: ingress.ResolveAwakeable, AwakeableID: "prom_1abc", Body: []byte("1")})
	r := h.step()
	e := decodeError(t, replyTo(t, r, req))
	assert.Contains(t, e.Message, "prom_1abc")
	assert.Empty(t, r.Notes, "a malformed ID is refused at the door, not dropped")
}

func TestEndRepliesToCallerAndAttachers(t *testing.T) {
	h := newHarness(t)
	callReq := h.call("Greeter", "greet", `"in"`)
	id := onlyStart(t, h.step()).Invocation

	attach1 := h.attach(id)
	attach2 := h.attach(id)
	r := h.step()
	assert.Empty(t, r.Replies, "attach waits while the invocation runs")

	h.eng.Receive(endMsg(id, 1, 1, `"out"`))
	r = h.step()
	done := notesOf(r, engine.NoteInvocationDone)
	require.Len(t, done, 1)
	assert.Equal(t, id, done[0].Invocation)
	assert.Equal(t, uint32(1), done[0].Index)
	assert.True(t, done[0].Result.Equal(value(`"out"`)))
	assertBatchHas(t, r, engine.FinishedKey(id), engine.EntryKey(id, 1))
	assertBatchDeletes(t, r, engine.InvocationKey(id)) // moved to fin/, out of the recovery scan
	for _, req := range []engine.RequestID{callReq, attach1, attach2} {
		resp := replyTo(t, r, req)
		assert.Equal(t, 200, resp.Status)
		assert.Equal(t, `"out"`, string(resp.Body))
		assert.Equal(t, id.String(), resp.InvocationID)
	}
	assert.Empty(t, h.eng.Unfinished())

	// Output and attach after done answer at once with the same output.
	for _, ask := range []func(protocol.InvocationID) engine.RequestID{h.output, h.attach} {
		req := ask(id)
		resp := replyTo(t, h.step(), req)
		assert.Equal(t, 200, resp.Status)
		assert.Equal(t, `"out"`, string(resp.Body))
		assert.Equal(t, id.String(), resp.InvocationID)
	}

	// A duplicate End changes nothing.
	h.eng.Receive(endMsg(id, 1, 1, `"other"`))
	assert.True(t, func() bool { r := h.step(); return r.Empty() }())
}

func TestEmptyOutputHasNoBody(t *testing.T) {
	h := newHarness(t)
	id := h.started(`""`)
	h.eng.Receive(endMsg(id, 1, 1, ``))
	h.step()
	resp := h.outputOf(id)
	assert.Equal(t, 200, resp.Status)
	assert.Empty(t, resp.Body)
	assert.Empty(t, resp.ContentType)
}

func TestAwakeableResolveOverIngress(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"in"`)

	h.eng.Receive(cmd(id, 1, 1, awakeableEntry()))
	r := h.step()
	assert.Empty(t, r.Messages, "an awakeable gets no ack")
	assertBatchHas(t, r, engine.EntryKey(id, 1))

	req := h.resolve(id, 1, `"yes"`)
	r = h.step()
	assert.Equal(t, 202, replyTo(t, r, req).Status)
	assert.Empty(t, replyTo(t, r, req).Body)
	comps := messagesOf(r, protocol.KindCompletion)
	require.Len(t, comps, 1)
	assert.Equal(t, id, comps[0].Invocation)
	assert.Equal(t, uint32(1), comps[0].Attempt)
	assert.Equal(t, uint32(1), comps[0].Index)
	assert.True(t, comps[0].Entry.Completed)
	assert.True(t, comps[0].Entry.Result.Equal(value(`"yes"`)))
	acc := notesOf(r, engine.NoteCompletionAccepted)
	require.Len(t, acc, 1)
	assert.Equal(t, engine.Note{Kind: engine.NoteCompletionAccepted, Invocation: id, Index: 1, Awakeable: awk(id, 1), Result: value(`"yes"`), Clock: h.clock.Now()}, acc[0])
	assertBatchHas(t, r, engine.EntryKey(id, 1))

	// A second resolve (or a reject) is accepted at the door and dropped.
	for _, late := range []func() engine.RequestID{
		func() engine.RequestID { return h.resolve(id, 1, `"no"`) },
		func() engine.RequestID { return h.reject(id, 1, "nope") },
	} {
		req := late()
		r = h.step()
		assert.Equal(t, 202, replyTo(t, r, req).Status)
		assert.Empty(t, r.Messages)
		assert.Empty(t, r.Batch)
		drops := notesOf(r, engine.NoteCompletionDropped)
		require.Len(t, drops, 1)
		assert.Equal(t, "already completed", drops[0].Reason)
		assert.Equal(t, awk(id, 1), drops[0].Awakeable)
	}
}

func TestAwakeableReject(t *testing.T) {
	h := newHarness(t)
	id := h.withAwakeable()
	req := h.reject(id, 1, "the reviewer said no")
	r := h.step()
	assert.Equal(t, 202, replyTo(t, r, req).Status)
	comps := messagesOf(r, protocol.KindCompletion)
	require.Len(t, comps, 1)
	want := failure(500, "the reviewer said no")
	assert.True(t, comps[0].Entry.Result.Equal(want), "%s", comps[0].Entry.Result)
	acc := notesOf(r, engine.NoteCompletionAccepted)
	require.Len(t, acc, 1)
	assert.True(t, acc[0].Result.Equal(want))
}

func TestEarlyCompletionAppliedWhenCommandArrives(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"in"`)

	// The ID reached a resolver before the command that created the awakeable reached the engine.
	req := h.resolve(id, 1, `"early"`)
	r := h.step()
	assert.Equal(t, 202, replyTo(t, r, req).Status)
	assert.Empty(t, r.Messages, "nothing to complete yet")
	assert.Empty(t, notesOf(r, engine.NoteCompletionAccepted), "the early completion is neither accepted ...")
	assert.Empty(t, notesOf(r, engine.NoteCompletionDropped), "... nor dropped yet")
	held := notesOf(r, engine.NoteCompletionBuffered)
	require.Len(t, held, 1, "but its arrival is in the history")
	assert.Equal(t, uint32(1), held[0].Index)
	assert.True(t, held[0].Result.Equal(value(`"early"`)))
	assertBatchHas(t, r, engine.EarlyKey(id, 1)) // kept durably, apart from the record
	assert.Len(t, r.Batch, 1, "one small write, whatever the invocation holds")

	// A second early resolve of the same index loses.
	req2 := h.resolve(id, 1, `"late"`)
	r = h.step()
	assert.Equal(t, 202, replyTo(t, r, req2).Status)
	drops := notesOf(r, engine.NoteCompletionDropped)
	require.Len(t, drops, 1)
	assert.Equal(t, "already completed", drops[0].Reason)

	h.eng.Receive(cmd(id, 1, 1, awakeableEntry()))
	r = h.step()
	comps := messagesOf(r, protocol.KindCompletion)
	require.Len(t, comps, 1)
	assert.True(t, comps[0].Entry.Result.Equal(value(`"early"`)))
	acc := notesOf(r, engine.NoteCompletionAccepted)
	require.Len(t, acc, 1)
	assert.True(t, acc[0].Result.Equal(value(`"early"`)))
	assertBatchHas(t, r, engine.EntryKey(id, 1))
	assertBatchDeletes(t, r, engine.EarlyKey(id, 1))
}

func TestEarlyCompletionOfANonAwakeableIsDropped(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"in"`)
	h.resolve(id, 1, `"early"`)
	h.step()
	h.eng.Receive(cmd(id, 1, 1, runEntry("r", `1`)))
	r := h.step()
	assert.Len(t, messagesOf(r, protocol.KindAck), 1)
	assert.Empty(t, messagesOf(r, protocol.KindCompletion))
	drops := notesOf(r, engine.NoteCompletionDropped)
	require.Len(t, drops, 1)
	assert.Equal(t, "entry 1 is a run, not an awakeable", drops[0].Reason)
	assertBatchDeletes(t, r, engine.EarlyKey(id, 1))
}

func TestEarlyCompletionsDroppedWhenInvocationEnds(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"in"`)
	h.resolve(id, 3, `"a"`)
	h.resolve(id, 2, `"b"`)
	h.step()
	h.eng.Receive(endMsg(id, 1, 1, `"out"`))
	r := h.step()
	drops := notesOf(r, engine.NoteCompletionDropped)
	require.Len(t, drops, 2)
	assert.Equal(t, uint32(2), drops[0].Index, "dropped in index order")
	assert.Equal(t, uint32(3), drops[1].Index)
	for _, d := range drops {
		assert.Equal(t, "invocation finished", d.Reason)
	}
}

func TestResolveOfUnknownInvocation(t *testing.T) {
	h := newHarness(t)
	req := h.resolve(idN(42), 1, `"x"`)
	r := h.step()
	assert.Equal(t, 202, replyTo(t, r, req).Status)
	assert.Empty(t, r.Batch)
	assert.Empty(t, r.Messages)
	drops := notesOf(r, engine.NoteCompletionDropped)
	require.Len(t, drops, 1)
	assert.Equal(t, engine.Note{Kind: engine.NoteCompletionDropped, Invocation: idN(42), Index: 1, Awakeable: awk(idN(42), 1), Result: value(`"x"`), Reason: "unknown invocation", Clock: h.clock.Now()}, drops[0])
}

func TestResolveAfterDone(t *testing.T) {
	h := newHarness(t)
	id := h.withAwakeable()
	h.eng.Receive(endMsg(id, 1, 2, `"out"`))
	h.step()
	req := h.resolve(id, 1, `"x"`)
	r := h.step()
	assert.Equal(t, 202, replyTo(t, r, req).Status)
	assert.Empty(t, r.Batch)
	drops := notesOf(r, engine.NoteCompletionDropped)
	require.Len(t, drops, 1)
	assert.Equal(t, "invocation finished", drops[0].Reason)
}

func TestResolveOfANonAwakeableEntry(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"in"`)
	h.eng.Receive(cmd(id, 1, 1, runEntry("r", "1")))
	h.step()
	for idx, kind := range map[uint32]string{0: "input", 1: "run"} {
		req := h.resolve(id, idx, `"x"`)
		r := h.step()
		assert.Equal(t, 202, replyTo(t, r, req).Status)
		drops := notesOf(r, engine.NoteCompletionDropped)
		require.Len(t, drops, 1)
		assert.Contains(t, drops[0].Reason, "is a "+kind+", not an awakeable")
		assert.Empty(t, r.Batch)
	}
}

func TestRunCommandAcked(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"in"`)
	h.eng.Receive(cmd(id, 1, 1, runEntry("charge", `{"ok":true}`)))
	r := h.step()
	acks := messagesOf(r, protocol.KindAck)
	require.Len(t, acks, 1)
	assert.Equal(t, protocol.Message{Kind: protocol.KindAck, Invocation: id, Attempt: 1, Index: 1}, acks[0])
	assertBatchHas(t, r, engine.EntryKey(id, 1))
	assert.Equal(t, 2, engine.JournalLen(h.eng, id))

	// The duplicate is acked again (the first ack may have been lost) but journals nothing.
	h.eng.Receive(cmd(id, 1, 1, runEntry("charge", `{"ok":true}`)))
	r = h.step()
	acks = messagesOf(r, protocol.KindAck)
	require.Len(t, acks, 1)
	assert.Equal(t, uint32(1), acks[0].Index)
	assert.Empty(t, r.Batch)
	assert.Equal(t, 2, engine.JournalLen(h.eng, id))

	// A different command at a journaled index is not acked: it is not the same command.
	h.eng.Receive(cmd(id, 1, 1, runEntry("refund", `1`)))
	r = h.step()
	assert.True(t, r.Empty(), "%+v", r)
}

func TestDuplicateAwakeableCommandIsIgnored(t *testing.T) {
	h := newHarness(t)
	id := h.withAwakeable()
	h.resolve(id, 1, `"v"`)
	h.step()
	// A duplicate command must not reset the completion.
	h.eng.Receive(cmd(id, 1, 1, awakeableEntry()))
	r := h.step()
	assert.True(t, r.Empty())
	h.eng.Receive(suspendMsg(id, 1, 2, 1))
	start := onlyStart(t, h.step())
	assert.True(t, start.Journal[1].Completed)
	assert.True(t, start.Journal[1].Result.Equal(value(`"v"`)))
}

func TestAwakeableCommandCannotCompleteItself(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"in"`)
	en := awakeableEntry()
	en.Completed, en.Result = true, value(`"forged"`)
	h.eng.Receive(cmd(id, 1, 1, en))
	h.step()
	req := h.resolve(id, 1, `"real"`)
	r := h.step()
	assert.Equal(t, 202, replyTo(t, r, req).Status)
	acc := notesOf(r, engine.NoteCompletionAccepted)
	require.Len(t, acc, 1, "the executor's completed flag must not count")
	assert.True(t, acc[0].Result.Equal(value(`"real"`)))
}

func TestCommandsOutOfOrderAreBuffered(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"in"`)

	h.eng.Receive(cmd(id, 1, 3, runEntry("c", "3")))
	h.eng.Receive(cmd(id, 1, 2, runEntry("b", "2")))
	r := h.step()
	assert.True(t, r.Empty(), "nothing applies ahead of the gap: %+v", r)
	assert.Equal(t, 1, engine.JournalLen(h.eng, id))

	h.eng.Receive(cmd(id, 1, 1, awakeableEntry()))
	r = h.step()
	assert.Equal(t, 4, engine.JournalLen(h.eng, id))
	acks := messagesOf(r, protocol.KindAck)
	require.Len(t, acks, 2)
	assert.Equal(t, uint32(2), acks[0].Index, "applied in index order")
	assert.Equal(t, uint32(3), acks[1].Index)
	assertBatchHas(t, r, engine.EntryKey(id, 1), engine.EntryKey(id, 2), engine.EntryKey(id, 3))

	// The journal the next attempt sees is in index order.
	h.eng.Receive(errorMsg(id, 1, true, "boom"))
	h.step()
	h.clock.Advance(time.Minute)
	h.eng.FireTimer(engine.Timer{Invocation: id, Deadline: epoch.Add(500 * time.Millisecond)})
	start := onlyStart(t, h.step())
	assert.Equal(t, []string{`input value("in")`, "awakeable (pending)", `run name="b" value(2)`, `run name="c" value(3)`}, entries(start.Journal))
}

func TestSuspendAheadOfItsCommandIsBuffered(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"in"`)
	h.eng.Receive(suspendMsg(id, 1, 2, 1))
	r := h.step()
	assert.True(t, r.Empty())
	assert.Equal(t, "running", engine.Status(h.eng, id))

	h.eng.Receive(cmd(id, 1, 1, awakeableEntry()))
	r = h.step()
	assert.Empty(t, r.Messages)
	assert.Equal(t, "suspended", engine.Status(h.eng, id))
	assertBatchHas(t, r, engine.InvocationKey(id), engine.EntryKey(id, 1))
}

func TestEndAheadOfItsCommandIsBuffered(t *testing.T) {
	h := newHarness(t)
	callReq := h.call("Greeter", "greet", `"in"`)
	id := onlyStart(t, h.step()).Invocation
	h.eng.Receive(endMsg(id, 1, 2, `"out"`))
	r := h.step()
	assert.True(t, r.Empty())
	h.eng.Receive(cmd(id, 1, 1, runEntry("r", "1")))
	r = h.step()
	assert.Len(t, notesOf(r, engine.NoteInvocationDone), 1)
	assert.Equal(t, `"out"`, string(replyTo(t, r, callReq).Body))
}

func TestSuspendAndResume(t *testing.T) {
	h := newHarness(t)
	id := h.withAwakeable()
	h.eng.Receive(suspendMsg(id, 1, 2, 1))
	r := h.step()
	assert.Empty(t, r.Messages)
	assertBatchHas(t, r, engine.InvocationKey(id))
	assert.Equal(t, "suspended", engine.Status(h.eng, id))

	// Messages of the suspended attempt are dropped.
	h.eng.Receive(cmd(id, 1, 2, runEntry("late", "1")))
	assert.True(t, func() bool { r := h.step(); return r.Empty() }())

	h.resolve(id, 1, `"ok"`)
	r = h.step()
	assert.Empty(t, messagesOf(r, protocol.KindCompletion), "nobody to send a completion to")
	start := onlyStart(t, r)
	assert.Equal(t, uint32(2), start.Attempt)
	require.Len(t, start.Journal, 2)
	assert.True(t, start.Journal[1].Completed)
	assert.True(t, start.Journal[1].Result.Equal(value(`"ok"`)))
	assert.Len(t, notesOf(r, engine.NoteCompletionAccepted), 1)
	assertBatchHas(t, r, engine.InvocationKey(id), engine.EntryKey(id, 1))
	assert.Equal(t, "running", engine.Status(h.eng, id))
}

func TestCompletionOfAnEntryNotWaitedOnKeepsSuspended(t *testing.T) {
	h := newHarness(t)
	id := h.withAwakeable()
	h.eng.Receive(cmd(id, 1, 2, awakeableEntry()))
	h.eng.Receive(suspendMsg(id, 1, 3, 2))
	h.step()
	h.resolve(id, 1, `"one"`)
	r := h.step()
	assert.Empty(t, r.Messages)
	assert.Len(t, notesOf(r, engine.NoteCompletionAccepted), 1)
	assert.Equal(t, "suspended", engine.Status(h.eng, id))

	h.resolve(id, 2, `"two"`)
	start := onlyStart(t, h.step())
	assert.Equal(t, uint32(2), start.Attempt)
	assert.True(t, start.Journal[1].Result.Equal(value(`"one"`)))
	assert.True(t, start.Journal[2].Result.Equal(value(`"two"`)))
}

func TestSuspendWaitingOnSeveralResumesOnAny(t *testing.T) {
	h := newHarness(t)
	id := h.withAwakeable()
	h.eng.Receive(cmd(id, 1, 2, awakeableEntry()))
	h.eng.Receive(suspendMsg(id, 1, 3, 1, 2))
	h.step()
	h.resolve(id, 2, `"two"`)
	start := onlyStart(t, h.step())
	assert.Equal(t, uint32(2), start.Attempt)
}

func TestSuspendCrossingACompletionResumesAtOnce(t *testing.T) {
	h := newHarness(t)
	id := h.withAwakeable()
	// The completion is journaled and sent to attempt 1 ...
	h.resolve(id, 1, `"v"`)
	r := h.step()
	require.Len(t, messagesOf(r, protocol.KindCompletion), 1)
	// ... while attempt 1, which had not seen it, suspends on it.
	h.eng.Receive(suspendMsg(id, 1, 2, 1))
	r = h.step()
	start := onlyStart(t, r)
	assert.Equal(t, uint32(2), start.Attempt)
	assert.True(t, start.Journal[1].Result.Equal(value(`"v"`)))
	assert.Equal(t, "running", engine.Status(h.eng, id))
}

func TestSuspendOnAnEarlyCompletedEntryResumesAtOnce(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"in"`)
	// Suspend and the resolve both overtake the awakeable command.
	h.eng.Receive(suspendMsg(id, 1, 2, 1))
	h.resolve(id, 1, `"v"`)
	h.step()
	h.eng.Receive(cmd(id, 1, 1, awakeableEntry()))
	r := h.step()
	// The completion goes to attempt 1 (still running when the command applied), then the
	// buffered suspend finds the entry complete and starts attempt 2.
	assert.Len(t, notesOf(r, engine.NoteCompletionAccepted), 1)
	start := onlyStart(t, r)
	assert.Equal(t, uint32(2), start.Attempt)
	assert.True(t, start.Journal[1].Result.Equal(value(`"v"`)))
}

func TestSuspendPastTheJournalIsAFailedAttempt(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"in"`)
	h.eng.Receive(suspendMsg(id, 1, 1, 5))
	r := h.step()
	require.Len(t, r.Timers, 1)
	assert.Equal(t, "backing-off", engine.Status(h.eng, id))
}

func TestCommandOfAnEngineKindIsAFailedAttempt(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"in"`)
	h.eng.Receive(cmd(id, 1, 1, journal.Entry{Kind: journal.KindOutput}))
	r := h.step()
	require.Len(t, r.Timers, 1)
	assert.Equal(t, "backing-off", engine.Status(h.eng, id))
	assert.Equal(t, 1, engine.JournalLen(h.eng, id))
}

func TestRetryBackoffSchedule(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"in"`)
	want := []time.Duration{
		500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 32 * time.Second, time.Minute, time.Minute, time.Minute,
	}
	for i, d := range want {
		attempt := uint32(i + 1)
		h.eng.Receive(errorMsg(id, attempt, true, "transient"))
		r := h.step()
		require.Len(t, r.Timers, 1, "failure %d", i+1)
		deadline := h.clock.Now().Add(d)
		assert.True(t, r.Timers[0].Deadline.Equal(deadline), "failure %d: deadline %v, want now+%v", i+1, r.Timers[0].Deadline, d)
		assert.Equal(t, id, r.Timers[0].Invocation)
		assert.Empty(t, r.Messages)
		assert.Equal(t, "backing-off", engine.Status(h.eng, id))

		// Early: nothing but the same timer again.
		h.clock.Advance(d - time.Nanosecond)
		h.eng.FireTimer(r.Timers[0])
		early := h.step()
		assert.Empty(t, early.Messages)
		assert.Empty(t, early.Batch)
		require.Len(t, early.Timers, 1)
		assert.True(t, early.Timers[0].Deadline.Equal(deadline))

		// Errors while backing off are not failures of any attempt.
		h.eng.Receive(errorMsg(id, attempt, true, "dup"))
		require.True(t, func() bool { r := h.step(); return r.Empty() }())

		h.clock.Advance(time.Nanosecond)
		h.eng.FireTimer(r.Timers[0])
		r = h.step()
		start := onlyStart(t, r)
		assert.Equal(t, attempt+1, start.Attempt)

		// A second firing of the same timer does nothing.
		h.eng.FireTimer(early.Timers[0])
		require.True(t, func() bool { r := h.step(); return r.Empty() }())
	}
}

func TestBackoffPolicy(t *testing.T) {
	tests := []struct {
		name     string
		policy   engine.RetryPolicy
		failures uint32
		want     time.Duration
	}{
		{"default first", engine.RetryPolicy{}, 1, 500 * time.Millisecond},
		{"default second", engine.RetryPolicy{}, 2, time.Second},
		{"default capped", engine.RetryPolicy{}, 69, time.Minute},
		{"default far past the cap", engine.RetryPolicy{}, 1 << 31, time.Minute},
		{"factor one", engine.RetryPolicy{Factor: 1, InitialInterval: time.Second}, 10, time.Second},
		{"factor below one takes the default", engine.RetryPolicy{Factor: 0.5}, 2, time.Second},
		{"custom", engine.RetryPolicy{InitialInterval: 10 * time.Millisecond, Factor: 3, MaxInterval: time.Second}, 4, 270 * time.Millisecond},
		{"custom capped", engine.RetryPolicy{InitialInterval: 10 * time.Millisecond, Factor: 3, MaxInterval: time.Second}, 6, time.Second},
		{"initial above max", engine.RetryPolicy{InitialInterval: time.Hour}, 1, time.Minute},
		// A large factor overflows int64 nanoseconds before the cap applies.
		{"huge factor", engine.RetryPolicy{Factor: 1e12}, 2, time.Minute},
		{"huge max", engine.RetryPolicy{MaxInterval: 1<<63 - 1, InitialInterval: time.Hour}, 100, 1<<63 - 1},
		{"infinite factor", engine.RetryPolicy{Factor: math.Inf(1)}, 2, time.Minute},
		{"NaN factor takes the default", engine.RetryPolicy{Factor: math.NaN()}, 2, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, engine.BackoffOf(tt.policy, tt.failures))
		})
	}
}

// TestLargeBackoffFactorNeverRetriesEarly: the cap must hold whatever the factor. With a factor
// large enough to overflow int64 nanoseconds, the wait came out negative and the retry was due at
// once instead of after MaxInterval.
func TestLargeBackoffFactorNeverRetriesEarly(t *testing.T) {
	h := newHarness(t, func(c *engine.Config) { c.Retry.Factor = 1e12 })
	id := h.started(`"in"`)
	for attempt := uint32(1); attempt <= 3; attempt++ {
		h.eng.Receive(errorMsg(id, attempt, true, "x"))
		r := h.step()
		require.Len(t, r.Timers, 1)
		wait := r.Timers[0].Deadline.Sub(h.clock.Now())
		require.Positive(t, wait, "failure %d: retry due at %v, before now %v", attempt, r.Timers[0].Deadline, h.clock.Now())
		require.LessOrEqual(t, wait, time.Minute)
		h.clock.Set(r.Timers[0].Deadline)
		h.eng.FireTimer(r.Timers[0])
		onlyStart(t, h.step())
	}
}

func TestRetriesExhausted(t *testing.T) {
	h := newHarness(t, func(c *engine.Config) { c.Retry.MaxAttempts = 3 })
	callReq := h.call("Greeter", "greet", `"in"`)
	id := onlyStart(t, h.step()).Invocation
	for attempt := uint32(1); attempt <= 2; attempt++ {
		h.eng.Receive(errorMsg(id, attempt, true, "flaky"))
		r := h.step()
		require.Len(t, r.Timers, 1)
		h.clock.Set(r.Timers[0].Deadline)
		h.eng.FireTimer(r.Timers[0])
		assert.Equal(t, attempt+1, onlyStart(t, h.step()).Attempt)
	}
	h.eng.Receive(errorMsg(id, 3, true, "flaky again"))
	r := h.step()
	assert.Empty(t, timersOf(r, engine.TimerRetry))
	done := notesOf(r, engine.NoteInvocationDone)
	require.Len(t, done, 1)
	require.NotNil(t, done[0].Result.Failure)
	assert.Equal(t, uint16(500), done[0].Result.Failure.Code)
	assert.Equal(t, "gave up after 3 failed attempts; last error: flaky again", done[0].Result.Failure.Message)
	resp := replyTo(t, r, callReq)
	assert.Equal(t, 500, resp.Status)
	assert.Equal(t, id.String(), resp.InvocationID)
	e := decodeError(t, resp)
	assert.Equal(t, "invocation", e.Source)
	assert.Equal(t, done[0].Result.Failure.Message, e.Message)
	assert.Equal(t, "done", engine.Status(h.eng, id))
}

func TestNonRetryableErrorFails(t *testing.T) {
	h := newHarness(t)
	callReq := h.call("Greeter", "greet", `"in"`)
	id := onlyStart(t, h.step()).Invocation
	h.eng.Receive(errorMsg(id, 1, false, "bad input"))
	r := h.step()
	assert.Empty(t, timersOf(r, engine.TimerRetry))
	resp := replyTo(t, r, callReq)
	assert.Equal(t, 500, resp.Status)
	assert.Equal(t, restateError{Code: 500, Message: "bad input", Source: "invocation"}, decodeError(t, resp))
	assertBatchHas(t, r, engine.EntryKey(id, 1))
}

func TestTerminalFailureOutput(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"in"`)
	h.eng.Receive(protocol.Message{Kind: protocol.KindEnd, Invocation: id, Attempt: 1, Index: 1,
		Entry: journal.Entry{Kind: journal.KindOutput, Result: failure(409, "already done")}})
	h.step()
	resp := h.outputOf(id)
	assert.Equal(t, 409, resp.Status)
	assert.Equal(t, restateError{Code: 409, Message: "already done", Source: "invocation"}, decodeError(t, resp))
}

func TestStaleAttemptMessagesDropped(t *testing.T) {
	h := newHarness(t)
	id := h.withAwakeable()
	h.eng.Receive(suspendMsg(id, 1, 2, 1))
	h.step()
	h.resolve(id, 1, `"v"`)
	require.Equal(t, uint32(2), onlyStart(t, h.step()).Attempt)

	stale := []protocol.Message{
		cmd(id, 1, 2, runEntry("r", "1")),
		cmd(id, 1, 2, awakeableEntry()),
		suspendMsg(id, 1, 2, 1),
		endMsg(id, 1, 2, `"stale"`),
		errorMsg(id, 1, true, "stale"),
		errorMsg(id, 1, false, "stale"),
		// A future attempt is no better than a past one.
		cmd(id, 3, 2, runEntry("r", "1")),
		endMsg(id, 3, 2, `"future"`),
	}
	for _, m := range stale {
		h.eng.Receive(m)
		r := h.step()
		assert.True(t, r.Empty(), "%s produced %+v", m, r)
	}
	assert.Equal(t, "running", engine.Status(h.eng, id))
	assert.Equal(t, 2, engine.JournalLen(h.eng, id))

	// The current attempt still works.
	h.eng.Receive(endMsg(id, 2, 2, `"fresh"`))
	assert.Len(t, notesOf(h.step(), engine.NoteInvocationDone), 1)
}

func TestEngineBoundMessagesFromExecutorIgnored(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"in"`)
	for _, k := range []protocol.Kind{protocol.KindStart, protocol.KindCompletion, protocol.KindAck, protocol.KindAbort, 99} {
		h.eng.Receive(protocol.Message{Kind: k, Invocation: id, Attempt: 1, Index: 1, Entry: awakeableEntry()})
		assert.True(t, func() bool { r := h.step(); return r.Empty() }(), "kind %s", k)
	}
	h.eng.Receive(cmd(idN(77), 1, 1, runEntry("r", "1")))
	assert.True(t, func() bool { r := h.step(); return r.Empty() }(), "unknown invocation")
}

func TestCompleteAwakeableCommandResolvesAnotherInvocation(t *testing.T) {
	h := newHarness(t)
	waiter := h.withAwakeable()
	h.eng.Receive(suspendMsg(waiter, 1, 2, 1))
	h.step()

	resolver := h.started(`"resolver"`)
	h.eng.Receive(cmd(resolver, 1, 1, completeEntry(awk(waiter, 1), `"approved"`)))
	r := h.step()
	assertBatchHas(t, r, engine.EntryKey(resolver, 1), engine.EntryKey(waiter, 1), engine.InvocationKey(waiter))
	acc := notesOf(r, engine.NoteCompletionAccepted)
	require.Len(t, acc, 1)
	assert.Equal(t, waiter, acc[0].Invocation)
	assert.Equal(t, awk(waiter, 1), acc[0].Awakeable)
	start := onlyStart(t, r)
	assert.Equal(t, waiter, start.Invocation)
	assert.Equal(t, uint32(2), start.Attempt)
	assert.True(t, start.Journal[1].Result.Equal(value(`"approved"`)))
	assert.Empty(t, messagesOf(r, protocol.KindAck), "complete-awakeable gets no ack")

	// The resolver's duplicate command must not complete anything twice; a second resolver is
	// dropped like any late completion.
	h.eng.Receive(cmd(resolver, 1, 1, completeEntry(awk(waiter, 1), `"approved"`)))
	assert.True(t, func() bool { r := h.step(); return r.Empty() }())
	h.eng.Receive(cmd(resolver, 1, 2, completeEntry(awk(waiter, 1), `"again"`)))
	r = h.step()
	drops := notesOf(r, engine.NoteCompletionDropped)
	require.Len(t, drops, 1)
	assert.Equal(t, "already completed", drops[0].Reason)
	assert.Empty(t, notesOf(r, engine.NoteCompletionAccepted))
}

func TestCompleteAwakeableCommandWithRejection(t *testing.T) {
	h := newHarness(t)
	waiter := h.withAwakeable()
	resolver := h.started(`"resolver"`)
	en := journal.Entry{Kind: journal.KindCompleteAwakeable, Target: awk(waiter, 1), Param: failure(500, "denied")}
	h.eng.Receive(cmd(resolver, 1, 1, en))
	r := h.step()
	comps := messagesOf(r, protocol.KindCompletion)
	require.Len(t, comps, 1)
	assert.Equal(t, waiter, comps[0].Invocation)
	assert.True(t, comps[0].Entry.Result.Equal(failure(500, "denied")))
}

func TestCompleteAwakeableCommandOfOwnAwakeable(t *testing.T) {
	h := newHarness(t)
	id := h.withAwakeable()
	h.eng.Receive(cmd(id, 1, 2, completeEntry(awk(id, 1), `"self"`)))
	r := h.step()
	comps := messagesOf(r, protocol.KindCompletion)
	require.Len(t, comps, 1)
	assert.Equal(t, id, comps[0].Invocation)
	assert.Equal(t, uint32(1), comps[0].Index)
}

func TestCompleteAwakeableCommandWithMalformedTarget(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"in"`)
	h.eng.Receive(cmd(id, 1, 1, completeEntry("sign_1garbage", `1`)))
	r := h.step()
	assertBatchHas(t, r, engine.EntryKey(id, 1))
	drops := notesOf(r, engine.NoteCompletionDropped)
	require.Len(t, drops, 1)
	assert.Equal(t, "sign_1garbage", drops[0].Awakeable)
	assert.Contains(t, drops[0].Reason, "malformed id")
	assert.Equal(t, "running", engine.Status(h.eng, id), "the resolver is not failed by the engine")
}

func TestCompleteAwakeableCommandEarlyCompletesLaterIndex(t *testing.T) {
	h := newHarness(t)
	waiter := h.started(`"waiter"`)
	resolver := h.started(`"resolver"`)
	// The resolver learned the ID before the waiter's awakeable command reached the engine.
	h.eng.Receive(cmd(resolver, 1, 1, completeEntry(awk(waiter, 1), `"v"`)))
	r := h.step()
	assert.Empty(t, notesOf(r, engine.NoteCompletionAccepted))
	assertBatchHas(t, r, engine.EarlyKey(waiter, 1))
	h.eng.Receive(cmd(waiter, 1, 1, awakeableEntry()))
	r = h.step()
	require.Len(t, messagesOf(r, protocol.KindCompletion), 1)
}

func TestCompletionWhileBackingOffIsInNextStart(t *testing.T) {
	h := newHarness(t)
	id := h.withAwakeable()
	h.eng.Receive(errorMsg(id, 1, true, "x"))
	timer := h.step().Timers[0]
	h.resolve(id, 1, `"v"`)
	r := h.step()
	assert.Empty(t, r.Messages, "no attempt runs")
	assert.Len(t, notesOf(r, engine.NoteCompletionAccepted), 1)
	h.clock.Set(timer.Deadline)
	h.eng.FireTimer(timer)
	start := onlyStart(t, h.step())
	assert.True(t, start.Journal[1].Result.Equal(value(`"v"`)))
}

func TestFireTimerIgnoresUnwantedTimers(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"in"`)
	h.clock.Advance(time.Hour)
	for _, tm := range []engine.Timer{
		{Invocation: id, Deadline: epoch},
		{Invocation: idN(50), Deadline: epoch},
	} {
		h.eng.FireTimer(tm)
		assert.True(t, func() bool { r := h.step(); return r.Empty() }())
	}
	// A timer of an older backoff (different deadline) does nothing either.
	h.eng.Receive(errorMsg(id, 1, true, "x"))
	timer := h.step().Timers[0]
	h.clock.Set(timer.Deadline)
	h.eng.FireTimer(engine.Timer{Invocation: id, Deadline: timer.Deadline.Add(-time.Second)})
	assert.True(t, func() bool { r := h.step(); return r.Empty() }())
	h.eng.FireTimer(timer)
	assert.Equal(t, uint32(2), onlyStart(t, h.step()).Attempt)
}

func TestReadyIsEmptyWhenNothingHappened(t *testing.T) {
	h := newHarness(t)
	r := h.step()
	assert.True(t, r.Empty())
	h.started(`"in"`)
	r = h.step()
	assert.True(t, r.Empty())
}

func TestUnfinishedIsSorted(t *testing.T) {
	h := newHarness(t)
	var ids []protocol.InvocationID
	for range 5 {
		ids = append(ids, h.started(`"x"`))
	}
	h.eng.Receive(endMsg(ids[2], 1, 1, `1`))
	h.step()
	assert.Equal(t, []protocol.InvocationID{ids[0], ids[1], ids[3], ids[4]}, h.eng.Unfinished())
	assert.Equal(t, 4, h.eng.Invocations(), "the finished one is in the store only")
	assert.Equal(t, "done", engine.Status(h.eng, ids[2]))
}

func TestNewPanicsWithoutClockOrIDs(t *testing.T) {
	assert.Panics(t, func() { engine.New(engine.Config{}) })
	assert.Panics(t, func() { engine.New(engine.Config{Clock: newHarness(t).clock}) })
}

func TestDuplicateIDFromSourcePanics(t *testing.T) {
	h := newHarness(t, func(c *engine.Config) { c.NewID = func() protocol.InvocationID { return idN(1) } })
	h.call("Greeter", "greet", "1")
	assert.PanicsWithValue(t, "engine: ID source returned "+idN(1).String()+" twice (or the zero ID)", func() { h.call("Greeter", "greet", "2") })
}

func TestRetentionPurgesFinishedInvocation(t *testing.T) {
	h := newHarness(t)
	id := h.withAwakeable()
	h.eng.Receive(endMsg(id, 1, 2, `"out"`))
	r := h.step()
	ret := timersOf(r, engine.TimerRetentionSweep)
	require.Len(t, ret, 1)
	assert.True(t, ret[0].Deadline.Equal(epoch.Add(engine.DefaultRetention)))

	// Readable until the deadline, across a crash; the recovered timer has the same deadline.
	h.clock.Advance(engine.DefaultRetention - time.Nanosecond)
	h.crash()
	r = h.step()
	require.Len(t, r.Timers, 1)
	assert.True(t, r.Timers[0].Deadline.Equal(ret[0].Deadline))
	h.eng.FireTimer(r.Timers[0])
	assert.Empty(t, h.step().Batch, "early: nothing purged")
	assert.Equal(t, 200, h.outputOf(id).Status)

	h.clock.Advance(time.Nanosecond)
	h.eng.FireTimer(ret[0])
	r = h.step()
	assertBatchDeletes(t, r, engine.FinishedKey(id), engine.EntryKey(id, 0), engine.EntryKey(id, 1), engine.EntryKey(id, 2))
	assert.Equal(t, 404, h.outputOf(id).Status)
	assert.Equal(t, 0, h.eng.Invocations())

	// The purge is durable, and late resolves find nothing.
	h.crash()
	assert.True(t, quiet(h.step()))
	assert.Equal(t, 0, h.eng.Invocations())
	h.resolve(id, 1, `"late"`)
	drops := notesOf(h.step(), engine.NoteCompletionDropped)
	require.Len(t, drops, 1)
	assert.Equal(t, "unknown invocation", drops[0].Reason)
}

// assertBatchDeletes asserts that r's batch deletes every key.
func assertBatchDeletes(t testing.TB, r engine.Ready, keys ...string) {
	t.Helper()
	deleted := map[string]bool{}
	for _, op := range r.Batch {
		if op.Delete {
			deleted[op.Key] = true
		}
	}
	for _, k := range keys {
		assert.True(t, deleted[k], "batch does not delete %s", k)
	}
}

func TestDelayedSendStartsWhenTheDelayEnds(t *testing.T) {
	h := newHarness(t)
	h.eng.Ingress(1, ingress.Request{Kind: ingress.Send, Service: "Greeter", Handler: "greet", Body: []byte(`"x"`), Delay: 2 * time.Second})
	r := h.step()
	require.Empty(t, r.Messages, "a delayed send must not start at once")
	require.Len(t, r.Replies, 1)
	require.Equal(t, 202, r.Replies[0].Response.Status)
	require.Len(t, r.Timers, 1)
	timer := r.Timers[0]
	require.Equal(t, engine.TimerRetry, timer.Kind)

	// Not before the deadline, and not after a crash either: the delay is durable.
	h.crash()
	r = h.step()
	require.Empty(t, r.Messages)
	require.Len(t, r.Timers, 1)
	require.True(t, r.Timers[0].Deadline.Equal(timer.Deadline))

	h.clock.Advance(2 * time.Second)
	h.eng.FireTimer(timer)
	r = h.step()
	require.Len(t, r.Messages, 1)
	require.Equal(t, protocol.KindStart, r.Messages[0].Kind)
}

func TestForgedAwakeableFarAheadIsDropped(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"in"`)
	far := protocol.AwakeableID{Invocation: id, Index: engine.MaxEarlyAhead + 5}.String()
	h.eng.Ingress(9, ingress.Request{Kind: ingress.ResolveAwakeable, AwakeableID: far, Body: []byte(`"x"`)})
	r := h.step()
	require.Len(t, r.Replies, 1)
	require.Equal(t, 202, r.Replies[0].Response.Status, "Restate answers 202 without an existence check")
	var dropped bool
	for _, n := range r.Notes {
		if n.Kind == engine.NoteCompletionDropped && strings.Contains(n.Reason, "too far past the journal") {
			dropped = true
		}
	}
	require.True(t, dropped, "notes: %v", r.Notes)
}

// TestWorkflowPurgeFailsStragglers: a workflow's shared handler still waiting on a promise when
// the workflow's retention ends is failed with 404 — and after a crash too, when the engine has
// to find it again from the store.
func TestWorkflowPurgeFailsStragglers(t *testing.T) {
	for _, crash := range []bool{false, true} {
		t.Run(fmt.Sprintf("crash=%t", crash), func(t *testing.T) {
			wf := protocol.ServiceSpec{Name: "Review", Kind: protocol.ServiceWorkflow, Retention: time.Minute,
				Handlers: []protocol.HandlerSpec{{Name: "run", Kind: protocol.HandlerWorkflowRun}, {Name: "wait", Kind: protocol.HandlerShared}}}
			h := newHarness(t, func(c *engine.Config) { c.Services = append(slices.Clone(c.Services), wf) })
			h.eng.Ingress(1, ingress.Request{Kind: ingress.Send, Service: "Review", Handler: "run", Key: "k", Body: []byte(`"doc"`)})
			run := onlyStart(t, h.step()).Invocation
			h.eng.Ingress(2, ingress.Request{Kind: ingress.Send, Service: "Review", Handler: "wait", Key: "k", Body: []byte(`{}`)})
			waiter := onlyStart(t, h.step()).Invocation
			h.eng.Receive(cmd(waiter, 1, 1, journal.Entry{Kind: journal.KindGetPromise, Name: "never"}))
			h.step()
			h.eng.Receive(endMsg(run, 1, 1, `"done"`))
			timers := h.step().Timers
			require.Len(t, timers, 1)
			if crash {
				h.crash()
				timers = h.step().Timers
			}
			var purge engine.Timer
			for _, tm := range timers {
				if tm.Kind == engine.TimerWorkflowRetention {
					purge = tm
				}
			}
			require.Equal(t, engine.TimerWorkflowRetention, purge.Kind)
			h.clock.Advance(time.Minute)
			h.eng.FireTimer(purge)
			var failed bool
			for _, n := range h.step().Notes {
				if n.Kind == engine.NoteInvocationDone && n.Invocation == waiter {
					failed = n.Result.Failure != nil && n.Result.Failure.Code == 404
				}
			}
			require.True(t, failed, "the waiting shared handler was not failed by the purge")
		})
	}
}
