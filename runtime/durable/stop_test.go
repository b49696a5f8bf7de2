package durable_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// stoppingRuntime is a fakeRuntime that stops the handler at once: every Command, Await,
// EnterRun and EndRun returns the stop mark instead of an answer.
type stoppingRuntime struct{ *fakeRuntime }

func (stoppingRuntime) Command(journal.Entry) uint32                { return durable.StopIndex }
func (stoppingRuntime) Await(uint32) journal.Result                 { return durable.Stopped() }
func (stoppingRuntime) EnterRun(string) (journal.Result, bool)      { return durable.Stopped(), false }
func (stoppingRuntime) EndRun(journal.Result, error) journal.Result { return durable.Stopped() }

// awaitingRuntime journals commands as fakeRuntime does and lets side effects run, but stops the
// handler at every Await and EndRun.
type awaitingRuntime struct{ *fakeRuntime }

func (awaitingRuntime) Await(uint32) journal.Result                 { return durable.Stopped() }
func (awaitingRuntime) EndRun(journal.Result, error) journal.Result { return durable.Stopped() }

// Every durable call that takes a stop mark from its runtime unwinds the handler with
// durable.Unwind before any handler code after it runs, and before a side effect runs when
// EnterRun returned it; the handler's defers run on the way.
func TestStopMarkUnwindsEveryDurableCall(t *testing.T) {
	calls := []struct {
		name string
		call func(rt durable.Runtime, t *testing.T)
	}{
		{"Awakeable", func(rt durable.Runtime, _ *testing.T) { durable.Awakeable[string](durable.NewContext(rt)) }},
		{"Awakeable.Result", func(rt durable.Runtime, _ *testing.T) {
			_, _ = durable.Awakeable[string](durable.NewContext(rt)).Result()
		}},
		{"ResolveAwakeable", func(rt durable.Runtime, _ *testing.T) {
			durable.ResolveAwakeable(durable.NewContext(rt), awakeableIDOf(rt), "v")
		}},
		{"RejectAwakeable", func(rt durable.Runtime, _ *testing.T) {
			durable.RejectAwakeable(durable.NewContext(rt), awakeableIDOf(rt), assert.AnError)
		}},
		{"Run", func(rt durable.Runtime, t *testing.T) {
			_, _ = durable.Run(durable.NewContext(rt), func(durable.RunContext) (int, error) {
				if _, stopping := rt.(stoppingRuntime); stopping {
					t.Error("the side effect ran although EnterRun returned the stop mark")
				}
				return 1, nil
			})
		}},
		{"Sleep", func(rt durable.Runtime, _ *testing.T) { _ = durable.Sleep(durable.NewContext(rt), 1) }},
		{"After", func(rt durable.Runtime, _ *testing.T) { durable.After(durable.NewContext(rt), 1) }},
		{"Set", func(rt durable.Runtime, t *testing.T) { durable.Set(objectContext(t, rt), "k", 1) }},
		{"Clear", func(rt durable.Runtime, t *testing.T) { durable.Clear(objectContext(t, rt), "k") }},
		{"ClearAll", func(rt durable.Runtime, t *testing.T) { durable.ClearAll(objectContext(t, rt)) }},
		{"Promise.Result", func(rt durable.Runtime, t *testing.T) {
			_, _ = durable.Promise[string](workflowContext(t, rt), "p").Result()
		}},
		{"Promise.Peek", func(rt durable.Runtime, t *testing.T) {
			_, _, _ = durable.Promise[string](workflowContext(t, rt), "p").Peek()
		}},
		{"Promise.Resolve", func(rt durable.Runtime, t *testing.T) {
			_ = durable.Promise[string](workflowContext(t, rt), "p").Resolve("v")
		}},
		{"Request", func(rt durable.Runtime, _ *testing.T) {
			_, _ = durable.ServiceClient[string](durable.NewContext(rt), "Svc", "h").Request("in")
		}},
		{"Send", func(rt durable.Runtime, _ *testing.T) {
			durable.ServiceClient[string](durable.NewContext(rt), "Svc", "h").Send("in")
		}},
		{"CancelInvocation", func(rt durable.Runtime, _ *testing.T) {
			durable.CancelInvocation(durable.NewContext(rt), rt.InvocationID().String())
		}},
	}
	for _, tt := range calls {
		for _, rt := range []durable.Runtime{stoppingRuntime{newFakeRuntime()}, awaitingRuntime{newFakeRuntime()}} {
			t.Run(tt.name, func(t *testing.T) {
				deferRan, returned := false, false
				r := panicOf(func() {
					defer func() { deferRan = true }()
					tt.call(rt, t)
					returned = true
				})
				if _, awaiting := rt.(awaitingRuntime); awaiting && r == nil {
					return // the call neither awaits nor ends a run: nothing stops it
				}
				require.Equal(t, durable.Unwind{}, r, "the durable call unwinds the handler with Unwind")
				assert.False(t, returned, "no handler code runs after the durable call that took the stop mark")
				assert.True(t, deferRan, "the handler's defers run while it unwinds")
			})
		}
	}
}

// awakeableIDOf is the ID of an awakeable of rt's invocation, well formed, so that completing it
// reaches the runtime.
func awakeableIDOf(rt durable.Runtime) string {
	return protocol.AwakeableID{Invocation: rt.InvocationID(), Index: 1}.String()
}
