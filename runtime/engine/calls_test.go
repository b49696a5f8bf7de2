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

func callEntry(target, key, input string) journal.Entry {
	return journal.Entry{Kind: journal.KindCall, Target: target, Name: key, Param: value(input)}
}

func withCart(cfg *engine.Config) {
	cfg.Services = append(cfg.Services, protocol.ServiceSpec{Name: "Cart", Kind: protocol.ServiceObject, Handlers: []protocol.HandlerSpec{{Name: "add"}}})
}

// startOf returns the start message of the one invocation r starts that is not id.
func startOf(t *testing.T, r engine.Ready, not protocol.InvocationID) protocol.Message {
	t.Helper()
	var found []protocol.Message
	for _, m := range messagesOf(r, protocol.KindStart) {
		if m.Invocation != not {
			found = append(found, m)
		}
	}
	require.Len(t, found, 1, "starts in %v", r.Messages)
	return found[0]
}

// A call starts its callee in the batch that journals it; the callee's output completes the
// call entry of the running caller; a repeat of the command starts nothing more.
func TestCallCompletesWithTheCalleeOutput(t *testing.T) {
	h := newHarness(t)
	caller := h.started(`"order"`)
	h.eng.Receive(cmd(caller, 1, 1, callEntry("Other/run", "", `"pay 5"`)))
	r := h.step()
	callee := startOf(t, r, caller)
	assert.Equal(t, "Other", callee.Service)
	assert.True(t, callee.Journal[0].Result.Equal(value(`"pay 5"`)), "the call's input is the callee's")
	assert.Len(t, notesOf(r, engine.NoteInvocationAccepted), 1)

	h.eng.Receive(cmd(caller, 1, 1, callEntry("Other/run", "", `"pay 5"`)))
	assert.Empty(t, notesOf(h.step(), engine.NoteInvocationAccepted), "a repeated command starts no second callee")

	h.eng.Receive(endMsg(callee.Invocation, 1, 1, `"paid"`))
	r = h.step()
	comps := messagesOf(r, protocol.KindCompletion)
	require.Len(t, comps, 1)
	assert.Equal(t, caller, comps[0].Invocation)
	assert.Equal(t, uint32(1), comps[0].Index)
	assert.True(t, comps[0].Entry.Result.Equal(value(`"paid"`)))
}

// A caller suspended on its call resumes with a new attempt when the callee finishes, also
// across a crash in between: the link from callee to caller is durable. A callee's terminal
// failure reaches the caller as that failure.
func TestSuspendedCallerResumesAcrossACrash(t *testing.T) {
	h := newHarness(t)
	caller := h.started(`"order"`)
	h.eng.Receive(cmd(caller, 1, 1, callEntry("Other/run", "", `1`)))
	callee := startOf(t, h.step(), caller).Invocation
	h.eng.Receive(suspendMsg(caller, 1, 2, 1))
	h.step()
	require.Equal(t, "suspended", engine.Status(h.eng, caller))

	h.crash()
	h.step() // restarts the callee
	h.eng.Receive(errorMsg(callee, 2, false, "card declined"))
	r := h.step()
	start := onlyStart(t, r)
	assert.Equal(t, caller, start.Invocation)
	require.Len(t, start.Journal, 2)
	got := start.Journal[1].Result
	require.NotNil(t, got.Failure)
	assert.Equal(t, "card declined", got.Failure.Message)
}

func TestCallsThatCannotStart(t *testing.T) {
	tests := []struct {
		name string
		en   journal.Entry
		code uint16
	}{
		{"unknown service", callEntry("Nope/run", "", `1`), 404},
		{"unknown handler", callEntry("Other/nope", "", `1`), 404},
		{"object without a key", callEntry("Cart/add", "", `1`), 400},
		{"plain service with a key", callEntry("Other/run", "k", `1`), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, withCart)
			caller := h.started(`"x"`)
			h.eng.Receive(cmd(caller, 1, 1, tt.en))
			r := h.step()
			assert.Empty(t, notesOf(r, engine.NoteInvocationAccepted))
			comps := messagesOf(r, protocol.KindCompletion)
			require.Len(t, comps, 1)
			require.NotNil(t, comps[0].Entry.Result.Failure)
			assert.Equal(t, tt.code, comps[0].Entry.Result.Failure.Code, comps[0].Entry.Result.Failure.Message)
		})
	}
	t.Run("send to nowhere fails the caller", func(t *testing.T) {
		h := newHarness(t)
		caller := h.started(`"x"`)
		h.eng.Receive(cmd(caller, 1, 1, journal.Entry{Kind: journal.KindSend, Target: "Nope/run"}))
		h.step()
		assert.Equal(t, "done", engine.Status(h.eng, caller))
		assert.Contains(t, string(h.outputOf(caller).Body), "send Nope/run")
	})
}

// A send starts its callee (after its delay) and waits for nothing: the callee's output goes to
// no one. Calls to an exclusive handler queue behind its key's lock like calls from outside.
func TestSendAndQueuedCall(t *testing.T) {
	h := newHarness(t, withCart)
	holder := h.ingress(ingress.Request{Kind: ingress.Call, Service: "Cart", Handler: "add", Key: "k", Body: []byte("1")})
	_ = holder
	first := onlyStart(t, h.step()).Invocation

	caller := h.started(`"x"`)
	h.eng.Receive(cmd(caller, 1, 1, journal.Entry{Kind: journal.KindSend, Target: "Other/run", Param: value(`2`), Duration: 10 * 1e9}))
	r := h.step()
	assert.Len(t, notesOf(r, engine.NoteInvocationAccepted), 1)
	assert.Empty(t, messagesOf(r, protocol.KindStart), "delayed")
	require.Len(t, timersOf(r, engine.TimerRetry), 1)

	h.eng.Receive(cmd(caller, 1, 2, callEntry("Cart/add", "k", `3`)))
	r = h.step()
	assert.Empty(t, messagesOf(r, protocol.KindStart), "queued behind the key's holder")
	h.eng.Receive(endMsg(first, 1, 1, `"first"`))
	queued := onlyStart(t, h.step())
	assert.Equal(t, "Cart", queued.Service)
	h.eng.Receive(endMsg(queued.Invocation, 1, 1, `"second"`))
	comps := messagesOf(h.step(), protocol.KindCompletion)
	require.Len(t, comps, 1)
	assert.Equal(t, uint32(2), comps[0].Index)
	assert.True(t, comps[0].Entry.Result.Equal(value(`"second"`)))
}
