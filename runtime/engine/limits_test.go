package engine_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store"
)

// limitServices adds keyed services to the harness: an object and a workflow whose names are at
// the name limit, so that keys built from them are as long as keys get.
var (
	longObject   = strings.Repeat("O", protocol.MaxNameBytes)
	longWorkflow = strings.Repeat("W", protocol.MaxNameBytes)
	longHandler  = strings.Repeat("h", protocol.MaxNameBytes)
)

func withLimitServices(cfg *engine.Config) {
	cfg.Services = append(cfg.Services,
		protocol.ServiceSpec{Name: longObject, Kind: protocol.ServiceObject, Handlers: []protocol.HandlerSpec{{Name: longHandler}}},
		protocol.ServiceSpec{Name: longWorkflow, Kind: protocol.ServiceWorkflow, Handlers: []protocol.HandlerSpec{{Name: "run", Kind: protocol.HandlerWorkflowRun}}},
	)
}

// worstKey is a string of n bytes that percent-escaping triples: the longest store key it can
// make.
func worstKey(n int) string { return strings.Repeat("\xff", n) }

// checkOps fails when a Ready holds an op no store would take: the property the limits exist for.
func checkOps(t *testing.T, r engine.Ready) {
	t.Helper()
	for _, op := range r.Batch {
		require.NoError(t, store.CheckOp(op), "op on a key of %d bytes", len(op.Key))
	}
}

// At the limits, with the worst escaping, every key the engine builds still fits the store: an
// object call with an idempotency key, state written under the longest state key, a workflow's
// promise of the longest name. One byte more is refused: at the door, or by failing the handler.
func TestKeysAtTheLimitFitTheStore(t *testing.T) {
	h := newHarness(t, withLimitServices)
	key, idem, name := worstKey(protocol.MaxKeyBytes), worstKey(protocol.MaxKeyBytes), worstKey(protocol.MaxKeyBytes)

	h.ingress(ingress.Request{Kind: ingress.Call, Service: longObject, Handler: longHandler, Key: key, IdempotencyKey: idem, Body: []byte("1")})
	r := h.step()
	checkOps(t, r)
	id := onlyStart(t, r).Invocation
	h.eng.Receive(cmd(id, 1, 1, journal.Entry{Kind: journal.KindSetState, Name: name, Param: value("1")}))
	r = h.step()
	checkOps(t, r)
	h.eng.Receive(endMsg(id, 1, 2, `"done"`))
	checkOps(t, h.step())
	assert.Equal(t, `"done"`, string(h.outputOf(id).Body))

	h.ingress(ingress.Request{Kind: ingress.Send, Service: longWorkflow, Handler: "run", Key: key, Body: []byte("1")})
	r = h.step()
	checkOps(t, r)
	wf := onlyStart(t, r).Invocation
	h.eng.Receive(cmd(wf, 1, 1, journal.Entry{Kind: journal.KindCompletePromise, Name: name, Param: value("1")}))
	checkOps(t, h.step())
	h.crash() // and what was written reads back
	assert.Empty(t, h.eng.Problems())
	checkOps(t, h.step())
}

func TestIngressPastALimitIs400(t *testing.T) {
	tests := []struct {
		name string
		req  ingress.Request
		want string
	}{
		{"object key", ingress.Request{Kind: ingress.Call, Service: longObject, Handler: longHandler, Key: worstKey(protocol.MaxKeyBytes + 1)}, "object or workflow key is 4097 bytes long, over the limit of 4096 bytes"},
		{"idempotency key", ingress.Request{Kind: ingress.Send, Service: "Greeter", Handler: "greet", IdempotencyKey: worstKey(32 << 10)}, "idempotency key is 32768 bytes long, over the limit of 4096 bytes"},
		{"body", ingress.Request{Kind: ingress.Send, Service: "Greeter", Handler: "greet", Body: make([]byte, ingress.MaxBodyBytes+1)}, "over the limit of 10485760 bytes"},
		{"delay", ingress.Request{Kind: ingress.Send, Service: "Greeter", Handler: "greet", Delay: ingress.MaxDelay + 1}, "past the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, withLimitServices)
			req := h.ingress(tt.req)
			r := h.step()
			resp := replyTo(t, r, req)
			assert.Equal(t, 400, resp.Status)
			assert.Contains(t, string(resp.Body), tt.want)
			assert.Empty(t, r.Batch, "nothing is stored")
			assert.Equal(t, 0, h.eng.Invocations())
		})
	}
}

// A handler that chooses a name or a value past a limit fails with a terminal error; the store
// never sees it, and the engine goes on serving.
func TestCommandPastALimitFailsItsInvocation(t *testing.T) {
	huge := journal.Result{Value: make([]byte, protocol.MaxEntryBytes)}
	tests := []struct {
		name     string
		service  string
		handler  string
		key      string
		entry    *journal.Entry // the command at index 1, or nil for an End at index 1
		endValue string
		want     string
	}{
		{"state key", longObject, longHandler, "k", &journal.Entry{Kind: journal.KindSetState, Name: worstKey(protocol.MaxKeyBytes + 1), Param: value("1")}, "", "state key is 4097 bytes long"},
		{"clear of a state key", longObject, longHandler, "k", &journal.Entry{Kind: journal.KindClearState, Name: worstKey(protocol.MaxKeyBytes + 1)}, "", "state key is 4097 bytes long"},
		{"promise name", longWorkflow, "run", "k", &journal.Entry{Kind: journal.KindGetPromise, Name: worstKey(protocol.MaxKeyBytes + 1)}, "", "promise name is 4097 bytes long"},
		{"run result", "Greeter", "greet", "", &journal.Entry{Kind: journal.KindRun, Name: "r", Result: huge}, "", "over the limit of 33554432 bytes"},
		{"output", "Greeter", "greet", "", nil, strings.Repeat("x", protocol.MaxEntryBytes+1), "the output is 33554433 bytes long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, withLimitServices)
			call := h.ingress(ingress.Request{Kind: ingress.Call, Service: tt.service, Handler: tt.handler, Key: tt.key})
			id := onlyStart(t, h.step()).Invocation
			if tt.entry != nil {
				h.eng.Receive(cmd(id, 1, 1, *tt.entry))
			} else {
				h.eng.Receive(endMsg(id, 1, 1, tt.endValue))
			}
			r := h.step()
			checkOps(t, r)
			resp := replyTo(t, r, call)
			assert.Equal(t, 400, resp.Status, "%s", resp.Body)
			assert.Contains(t, string(resp.Body), tt.want)
			assert.Equal(t, "done", engine.Status(h.eng, id))

			// The engine goes on: the next call runs (on the same key, but for a workflow, which
			// runs once per key).
			key := tt.key
			if tt.service == longWorkflow {
				key = "k2"
			}
			h.ingress(ingress.Request{Kind: ingress.Call, Service: tt.service, Handler: tt.handler, Key: key})
			next := onlyStart(t, h.step()).Invocation
			h.eng.Receive(endMsg(next, 1, 1, `"ok"`))
			checkOps(t, h.step())
			assert.Equal(t, `"ok"`, string(h.outputOf(next).Body))
		})
	}
}

// Forged early completions cost one small write each, however many came before, and stop at
// MaxEarlyBytes per invocation.
func TestEarlyCompletionsAreBoundedByBytes(t *testing.T) {
	h := newHarness(t)
	id := h.started(`"in"`)
	body := []byte(`"` + strings.Repeat("x", 1<<20) + `"`)
	kept := 0
	for i := uint32(1); i < engine.MaxEarlyAhead; i++ {
		h.ingress(ingress.Request{Kind: ingress.ResolveAwakeable, AwakeableID: awk(id, i), Body: body})
		r := h.step()
		if len(notesOf(r, engine.NoteCompletionDropped)) > 0 {
			assert.Contains(t, notesOf(r, engine.NoteCompletionDropped)[0].Reason, "over the limit of 16777216")
			assert.Empty(t, r.Batch)
			break
		}
		require.Len(t, r.Batch, 1, "one write per forged completion")
		assert.Less(t, len(r.Batch[0].Value), len(body)+64)
		kept++
	}
	assert.Equal(t, engine.MaxEarlyBytes/(len(body)+8), kept)
}
