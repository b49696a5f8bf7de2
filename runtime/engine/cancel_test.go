package engine_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

func (h *harness) cancel(id protocol.InvocationID) engine.RequestID {
	return h.ingress(ingress.Request{Kind: ingress.Cancel, InvocationID: id.String()})
}

// isCancelled reports whether r is Restate's cancellation failure.
func isCancelled(r journal.Result) bool {
	return r.Failure != nil && r.Failure.Code == 409 && r.Failure.Message == "Cancelled"
}

// A running invocation's await fails with 409 Cancelled; a late resolve of the awakeable then
// changes nothing, and the handler goes on (compensation) as it likes.
func TestCancelFailsWhatARunningInvocationAwaits(t *testing.T) {
	h := newHarness(t)
	id := h.withAwakeable()
	req := h.cancel(id)
	r := h.step()
	assert.Equal(t, 202, replyTo(t, r, req).Status)
	comps := messagesOf(r, protocol.KindCompletion)
	require.Len(t, comps, 1)
	assert.Equal(t, uint32(1), comps[0].Index)
	assert.True(t, isCancelled(comps[0].Entry.Result), "%s", comps[0].Entry.Result)

	h.resolve(id, 1, `"too late"`)
	drops := notesOf(h.step(), engine.NoteCompletionDropped)
	require.Len(t, drops, 1)
	assert.Equal(t, "already completed", drops[0].Reason)

	// Compensation: a new awakeable after the cancellation waits as usual.
	h.eng.Receive(cmd(id, 1, 2, awakeableEntry()))
	assert.Empty(t, messagesOf(h.step(), protocol.KindCompletion))
}

// Cancelled while it waits on nothing, across a crash: its next await fails, the one after
// does not.
func TestCancelReachesTheNextAwait(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"x"`)
	h.cancel(id)
	assert.Empty(t, messagesOf(h.step(), protocol.KindCompletion))
	h.crash()
	h.step()
	h.eng.Receive(cmd(id, 2, 1, awakeableEntry()))
	comps := messagesOf(h.step(), protocol.KindCompletion)
	require.Len(t, comps, 1)
	assert.True(t, isCancelled(comps[0].Entry.Result))
	h.eng.Receive(cmd(id, 2, 2, awakeableEntry()))
	assert.Empty(t, messagesOf(h.step(), protocol.KindCompletion), "delivered once")
}

// A suspended invocation resumes with the failure; a queued one and a delayed one end at once
// and never start; a finished one is untouched; an unknown one is 404.
func TestCancelInEveryState(t *testing.T) {
	t.Run("suspended", func(t *testing.T) {
		h := newHarness(t)
		id := h.withAwakeable()
		h.eng.Receive(suspendMsg(id, 1, 2, 1))
		h.step()
		h.cancel(id)
		start := onlyStart(t, h.step())
		assert.True(t, isCancelled(start.Journal[1].Result))
	})
	t.Run("queued behind the lock", func(t *testing.T) {
		h := newHarness(t, withCart)
		h.ingress(ingress.Request{Kind: ingress.Call, Service: "Cart", Handler: "add", Key: "k", Body: []byte("1")})
		holder := onlyStart(t, h.step()).Invocation
		call := h.ingress(ingress.Request{Kind: ingress.Call, Service: "Cart", Handler: "add", Key: "k", Body: []byte("2")})
		r := h.step()
		queued := notesOf(r, engine.NoteInvocationAccepted)[0].Invocation
		h.cancel(queued)
		r = h.step()
		assert.Equal(t, 409, replyTo(t, r, call).Status)
		assert.Equal(t, "done", engine.Status(h.eng, queued))
		h.eng.Receive(endMsg(holder, 1, 1, `"ok"`))
		assert.Empty(t, messagesOf(h.step(), protocol.KindStart), "the cancelled call never starts")
	})
	t.Run("delayed", func(t *testing.T) {
		h := newHarness(t)
		h.ingress(ingress.Request{Kind: ingress.Send, Service: "Greeter", Handler: "greet", Delay: 1e9})
		r := h.step()
		id := notesOf(r, engine.NoteInvocationAccepted)[0].Invocation
		h.cancel(id)
		h.step()
		assert.Equal(t, 409, h.outputOf(id).Status)
		h.clock.Advance(1e9)
		h.eng.FireTimer(timersOf(r, engine.TimerRetry)[0])
		assert.Empty(t, messagesOf(h.step(), protocol.KindStart))
	})
	t.Run("finished and unknown", func(t *testing.T) {
		h := newHarness(t)
		id := h.started(`"x"`)
		h.eng.Receive(endMsg(id, 1, 1, `"out"`))
		h.step()
		req := h.cancel(id)
		assert.Equal(t, 202, replyTo(t, h.step(), req).Status)
		assert.Equal(t, `"out"`, string(h.outputOf(id).Body))
		req = h.cancel(idN(99))
		assert.Equal(t, 404, replyTo(t, h.step(), req).Status)
	})
}

// Cancelling a caller cancels the call it waits on; a handler can cancel another invocation.
func TestCancelPropagatesToCallees(t *testing.T) {
	h := newHarness(t)
	caller := h.started(`"order"`)
	h.eng.Receive(cmd(caller, 1, 1, callEntry("Other/run", "", `1`)))
	callee := startOf(t, h.step(), caller).Invocation
	h.eng.Receive(cmd(callee, 1, 1, awakeableEntry()))
	h.step()

	other := h.started(`"admin"`)
	h.eng.Receive(cmd(other, 1, 1, journal.Entry{Kind: journal.KindCancel, Target: caller.String()}))
	comps := messagesOf(h.step(), protocol.KindCompletion)
	require.Len(t, comps, 2, "%v", comps)
	byInv := map[protocol.InvocationID]protocol.Message{}
	for _, m := range comps {
		byInv[m.Invocation] = m
	}
	assert.True(t, isCancelled(byInv[caller].Entry.Result), "the caller's call fails")
	assert.True(t, isCancelled(byInv[callee].Entry.Result), "the callee's await fails too")
}

// A cancellation that fails an awakeable is that awakeable's completion, and the history says
// so: one acceptance carrying 409 Cancelled, so that the checkers can match what the handler
// observed against it.
func TestCancelOfAnAwakeableIsItsAcceptedCompletion(t *testing.T) {
	h := newHarness(t)
	id := h.withAwakeable()
	h.cancel(id)
	accepted := notesOf(h.step(), engine.NoteCompletionAccepted)
	require.Len(t, accepted, 1)
	assert.Equal(t, uint32(1), accepted[0].Index)
	assert.True(t, isCancelled(accepted[0].Result), "%s", accepted[0].Result)
}

// A completion buffered before its awakeable's entry arrived, with a cancellation pending
// meanwhile: the buffered completion completes the entry when it arrives, and is the only one
// accepted; the cancellation goes to the next await.
func TestBufferedCompletionWinsOverAPendingCancellation(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"x"`)
	h.resolve(id, 1, `"early"`)
	assert.Len(t, notesOf(h.step(), engine.NoteCompletionBuffered), 1)
	h.cancel(id)
	h.step()
	h.eng.Receive(cmd(id, 1, 1, awakeableEntry()))
	r := h.step()
	accepted := notesOf(r, engine.NoteCompletionAccepted)
	require.Len(t, accepted, 1, "one completion accepted for the awakeable")
	assert.JSONEq(t, `"early"`, string(accepted[0].Result.Value))
	comps := messagesOf(r, protocol.KindCompletion)
	require.Len(t, comps, 1)
	assert.False(t, isCancelled(comps[0].Entry.Result))

	h.eng.Receive(cmd(id, 1, 2, awakeableEntry()))
	comps = messagesOf(h.step(), protocol.KindCompletion)
	require.Len(t, comps, 1, "the next await gets the cancellation")
	assert.True(t, isCancelled(comps[0].Entry.Result))
}
