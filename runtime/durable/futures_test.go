package durable_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// contexts builds the object and workflow contexts of a fake runtime by calling a handler of
// each kind and capturing the context it receives.
func objectContext(t *testing.T, rt durable.Runtime) durable.ObjectContext {
	var got durable.ObjectContext
	h := durable.NewObjectHandler(func(ctx durable.ObjectContext, _ struct{}) (struct{}, error) { got = ctx; return struct{}{}, nil })
	_, err := h.Call(rt, nil)
	require.NoError(t, err)
	return got
}

func workflowContext(t *testing.T, rt durable.Runtime) durable.WorkflowContext {
	var got durable.WorkflowContext
	h := durable.NewWorkflowHandler(func(ctx durable.WorkflowContext, _ struct{}) (struct{}, error) { got = ctx; return struct{}{}, nil })
	_, err := h.Call(rt, nil)
	require.NoError(t, err)
	return got
}

func TestStateJournalsReadsAndWrites(t *testing.T) {
	rt := newFakeRuntime()
	rt.key = "acct-1"
	rt.state = map[string][]byte{"n": []byte(`41`), "name": []byte(`"ada"`)}
	ctx := objectContext(t, rt)
	assert.Equal(t, "acct-1", ctx.Key())

	n, err := durable.Get[int](ctx, "n")
	require.NoError(t, err)
	assert.Equal(t, 41, n)
	missing, err := durable.Get[string](ctx, "nope")
	require.NoError(t, err)
	assert.Equal(t, "", missing, "an absent key gives the zero value")
	_, err = durable.Get[int](ctx, "name")
	assert.True(t, durable.IsTerminalError(err), "a value of the wrong type is terminal")

	durable.Set(ctx, "n", 42)
	assert.Equal(t, journal.Entry{Kind: journal.KindSetState, Name: "n", Param: journal.Result{Value: []byte(`42`)}}, rt.last())
	durable.Clear(ctx, "name")
	assert.Equal(t, journal.Entry{Kind: journal.KindClearState, Name: "name"}, rt.last())
	durable.ClearAll(ctx)
	assert.Equal(t, journal.Entry{Kind: journal.KindClearAllState}, rt.last())

	keys, err := durable.Keys(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"n", "name"}, keys)
}

func TestSetOfAnUnencodableValueFails(t *testing.T) {
	rt := newFakeRuntime()
	ctx := objectContext(t, rt)
	r := panicOf(func() { durable.Set(ctx, "f", func() {}) })
	require.IsType(t, failed{}, r)
	assert.Contains(t, r.(failed).f.Message, `set state "f"`)
}

func TestPromises(t *testing.T) {
	rt := newFakeRuntime()
	ctx := workflowContext(t, rt)
	p := durable.Promise[string](ctx, "review")

	// Resolve: the engine answers an empty success.
	rt.completions[1] = journal.Result{}
	require.NoError(t, p.Resolve("LGTM"))
	assert.Equal(t, journal.Entry{Kind: journal.KindCompletePromise, Name: "review", Param: journal.Result{Value: []byte(`"LGTM"`)},
		Completed: true}, rt.entries[1])

	// A second completion: 409, typed.
	rt.completions[2] = journal.Result{Failure: &journal.Failure{Code: 409, Message: "promise was already completed"}}
	err := p.Reject(errors.New("late"))
	require.ErrorIs(t, err, durable.ErrPromiseAlreadyCompleted)
	assert.Equal(t, uint16(409), durable.ErrorCode(err))

	// Peek of a completed promise, of an open one, of a rejected one.
	rt.completions[3] = journal.Result{Value: []byte(`"LGTM"`)}
	v, ok, err := p.Peek()
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, "LGTM", v)
	rt.completions[4] = journal.Result{}
	_, ok, err = p.Peek()
	require.NoError(t, err)
	assert.False(t, ok)
	rt.completions[5] = journal.Result{Failure: &journal.Failure{Code: 500, Message: "no"}}
	_, ok, err = p.Peek()
	assert.True(t, ok)
	assert.True(t, durable.IsTerminalError(err))

	// Result waits; a rejection is a terminal error carrying the reason.
	rt.completions[6] = journal.Result{Value: []byte(`"LGTM"`)}
	got, err := p.Result()
	require.NoError(t, err)
	assert.Equal(t, "LGTM", got)
	assert.Equal(t, journal.Entry{Kind: journal.KindGetPromise, Name: "review", Completed: true, Result: journal.Result{Value: []byte(`"LGTM"`)}}, rt.entries[6])
}

func TestSleepAndWaitFirst(t *testing.T) {
	rt := newFakeRuntime()
	ctx := durable.NewContext(rt)
	awk := durable.Awakeable[string](ctx)
	timeout := durable.After(ctx, time.Hour)
	assert.Equal(t, journal.Entry{Kind: journal.KindSleep, Duration: time.Hour}, rt.entries[2])

	rt.completions[2] = journal.Result{} // the timer fires, the awakeable is still open
	first, err := durable.WaitFirst(ctx, awk, timeout)
	require.NoError(t, err)
	assert.Equal(t, durable.Selectable(timeout), first)
	require.NoError(t, timeout.Done())

	_, err = durable.WaitFirst(ctx)
	require.ErrorIs(t, err, durable.ErrNoFutures)

	rt.completions[3] = journal.Result{}
	require.NoError(t, durable.Sleep(ctx, -time.Second))
	assert.Equal(t, time.Duration(0), rt.entries[3].Duration, "a negative sleep is a zero one")

	id, err := protocol.ParseAwakeableID(awk.ID())
	require.NoError(t, err)
	assert.Equal(t, uint32(1), id.Index)
}

func TestHandlerKindsOfServices(t *testing.T) {
	noop := func(durable.ObjectContext, struct{}) (struct{}, error) { return struct{}{}, nil }
	r := panicOf(func() {
		durable.NewService("S").Handler("h", durable.NewObjectHandler(noop))
	})
	require.NotNil(t, r, "an object handler in a plain service is a programming error")
	r = panicOf(func() {
		durable.NewWorkflow("W").Handler("other", durable.NewWorkflowHandler(func(durable.WorkflowContext, struct{}) (struct{}, error) { return struct{}{}, nil }))
	})
	require.NotNil(t, r, "only the handler called run may be the workflow's run")
	spec := durable.NewObject("O", durable.WithRetention(time.Minute)).
		Handler("add", durable.NewObjectHandler(noop)).
		Handler("get", durable.NewObjectSharedHandler(func(durable.ObjectSharedContext, struct{}) (struct{}, error) { return struct{}{}, nil })).
		Spec()
	assert.Equal(t, protocol.ServiceSpec{Name: "O", Kind: protocol.ServiceObject, Retention: time.Minute,
		Handlers: []protocol.HandlerSpec{{Name: "add", Kind: protocol.HandlerExclusive}, {Name: "get", Kind: protocol.HandlerShared}}}, spec)
}
