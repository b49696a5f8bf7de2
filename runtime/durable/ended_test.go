package durable_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/durable"
)

// TestEndedRoomRefusesKeptContexts: a context of each kind that its handler kept past its run,
// made in a room its runner then ended (ContextRoom.End), refuses every call with a panic
// wrapping ErrContextEnded and journals nothing in the runtime it ran against; so does the
// RunContext a Run closure kept.
func TestEndedRoomRefusesKeptContexts(t *testing.T) {
	var (
		svc      durable.Context
		obj      durable.ObjectContext
		shared   durable.ObjectSharedContext
		wf       durable.WorkflowContext
		wfShared durable.WorkflowSharedContext
		rc       durable.RunContext
	)
	handlers := []durable.Handler{
		durable.NewServiceHandler(func(ctx durable.Context, _ string) (string, error) {
			svc = ctx
			return durable.Run(ctx, func(c durable.RunContext) (string, error) { rc = c; return "", nil })
		}),
		durable.NewObjectHandler(func(ctx durable.ObjectContext, _ string) (string, error) { obj = ctx; return "", nil }),
		durable.NewObjectSharedHandler(func(ctx durable.ObjectSharedContext, _ string) (string, error) { shared = ctx; return "", nil }),
		durable.NewWorkflowHandler(func(ctx durable.WorkflowContext, _ string) (string, error) { wf = ctx; return "", nil }),
		durable.NewWorkflowSharedHandler(func(ctx durable.WorkflowSharedContext, _ string) (string, error) { wfShared = ctx; return "", nil }),
	}
	rt := newFakeRuntime()
	for _, h := range handlers {
		p, err := h.Prepare([]byte(`"x"`))
		require.NoError(t, err)
		var room durable.ContextRoom
		panicked, err := p.RunIn(&room, rt)
		require.Nil(t, panicked)
		require.NoError(t, err)
		room.End()
	}
	journaled := len(rt.entries)

	calls := map[string]func(){
		"InvocationID":            func() { svc.InvocationID() },
		"Awakeable":               func() { durable.Awakeable[string](svc) },
		"Run":                     func() { _, _ = durable.Run(svc, func(durable.RunContext) (int, error) { return 0, nil }) },
		"Sleep":                   func() { _ = durable.Sleep(svc, time.Second) },
		"Rand":                    func() { durable.Rand(svc) },
		"Now":                     func() { _, _ = durable.Now(svc) },
		"RunContext.InvocationID": func() { rc.InvocationID() },
		"object Set":              func() { durable.Set(obj, "k", 1) },
		"object Key":              func() { obj.Key() },
		"shared object Get":       func() { _, _ = durable.Get[int](shared, "k") },
		"workflow Set":            func() { durable.Set(wf, "k", 1) },
		"workflow Promise":        func() { _, _ = durable.Promise[string](wf, "p").Result() },
		"shared workflow Promise": func() { _, _ = durable.Promise[string](wfShared, "p").Result() },
		"shared workflow Key":     func() { wfShared.Key() },
	}
	for name, call := range calls {
		r := panicOf(call)
		err, ok := r.(error)
		if assert.True(t, ok, "%s: want an error panic, got %#v", name, r) {
			assert.True(t, errors.Is(err, durable.ErrContextEnded), "%s: %v", name, err)
		}
	}
	assert.Len(t, rt.entries, journaled, "a kept context reached the runtime its run ran against")
}
