package durable_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// fakeRuntime is an in-memory durable.Runtime: it journals commands, answers awaits from
// completions set in advance (it never blocks), runs side effects at once, and turns Fail and
// retryable run errors into panics that the test catches.
type fakeRuntime struct {
	inv         protocol.InvocationID
	entries     []journal.Entry // entry 0 is the input
	completions map[uint32]journal.Result
	awaited     []uint32
	runs        int
	runName     string // the side effect between EnterRun and EndRun
	key         string
	state       map[string][]byte
	rng         *rand.Rand
	now         time.Time
}

// failed is the panic value of Fail.
type failed struct{ f journal.Failure }

// retry is the panic value of a non-terminal error from a side effect.
type retry struct{ err error }

func newFakeRuntime() *fakeRuntime {
	return &fakeRuntime{
		inv:         protocol.InvocationID{0: 0xab, 15: 0x01},
		entries:     []journal.Entry{{Kind: journal.KindInput}},
		completions: map[uint32]journal.Result{},
	}
}

func (r *fakeRuntime) InvocationID() protocol.InvocationID { return r.inv }

func (r *fakeRuntime) Command(e journal.Entry) uint32 {
	r.entries = append(r.entries, e)
	return uint32(len(r.entries) - 1)
}

func (r *fakeRuntime) Await(index uint32) journal.Result {
	r.awaited = append(r.awaited, index)
	e := &r.entries[index]
	if e.Kind.Completable() && !e.Completed {
		c, ok := r.completions[index]
		if !ok {
			panic(fmt.Sprintf("fakeRuntime: await of index %d would block", index))
		}
		e.Completed, e.Result = true, c
	}
	return e.Result
}

func (r *fakeRuntime) EnterRun(name string) (journal.Result, bool) {
	r.runs++
	r.runName = name
	return journal.Result{}, false
}

func (r *fakeRuntime) LeaveRun() {}

func (r *fakeRuntime) EndRun(res journal.Result, err error) journal.Result {
	if err != nil {
		panic(retry{err})
	}
	r.entries = append(r.entries, journal.Entry{Kind: journal.KindRun, Name: r.runName, Result: res})
	return r.Await(uint32(len(r.entries) - 1))
}

func (r *fakeRuntime) Fail(f journal.Failure) { panic(failed{f}) }

func (r *fakeRuntime) Key() string { return r.key }

func (r *fakeRuntime) Rand() *rand.Rand {
	if r.rng == nil {
		r.rng = rand.New(rand.NewPCG(durable.SeedOf(r.inv)))
	}
	return r.rng
}

func (r *fakeRuntime) Now() time.Time { return r.now }

// Read answers state reads from r.state (get-state) or its sorted keys.
func (r *fakeRuntime) Read(e journal.Entry) journal.Result {
	switch e.Kind {
	case journal.KindGetState:
		e.Result = journal.Result{Value: r.state[e.Name]}
	case journal.KindGetStateKeys:
		keys := make([]string, 0, len(r.state))
		for k := range r.state {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b, _ := json.Marshal(keys)
		e.Result = journal.Result{Value: b}
	}
	r.entries = append(r.entries, e)
	return e.Result
}

// AwaitAny returns the first of indices that has a completion set in advance.
func (r *fakeRuntime) AwaitAny(indices []uint32) int {
	for pos, i := range indices {
		if e := r.entries[i]; !e.Kind.Completable() || e.Completed {
			return pos
		}
		if _, ok := r.completions[i]; ok {
			r.Await(i)
			return pos
		}
	}
	panic(fmt.Sprintf("fakeRuntime: AwaitAny(%v) would block", indices))
}

// last returns the last journaled entry.
func (r *fakeRuntime) last() journal.Entry { return r.entries[len(r.entries)-1] }

// panicOf runs f and returns what it panicked with, or nil.
func panicOf(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

func TestAwakeableID(t *testing.T) {
	rt := newFakeRuntime()
	ctx := durable.NewContext(rt)
	assert.Equal(t, rt.inv.String(), ctx.InvocationID())

	a := durable.Awakeable[string](ctx)
	b := durable.Awakeable[int](ctx)
	for i, id := range []string{a.ID(), b.ID()} {
		assert.True(t, strings.HasPrefix(id, "sign_1"), "id %q", id)
		assert.Equal(t, protocol.AwakeablePrefix, id[:len(protocol.AwakeablePrefix)])
		parsed, err := protocol.ParseAwakeableID(id)
		require.NoError(t, err, "id %q", id)
		assert.Equal(t, rt.inv, parsed.Invocation)
		assert.Equal(t, uint32(i+1), parsed.Index, "the id names the awakeable's journal index")
		assert.NotContains(t, id, "=", "unpadded")
	}
	assert.NotEqual(t, a.ID(), b.ID())
	assert.Equal(t, []journal.Entry{{Kind: journal.KindInput}, {Kind: journal.KindAwakeable}, {Kind: journal.KindAwakeable}}, rt.entries)
}

func TestAwakeableResult(t *testing.T) {
	rt := newFakeRuntime()
	ctx := durable.NewContext(rt)
	type decision struct {
		Approved bool   `json:"approved"`
		By       string `json:"by"`
	}
	ok := durable.Awakeable[decision](ctx)
	no := durable.Awakeable[decision](ctx)
	bad := durable.Awakeable[int](ctx)
	empty := durable.Awakeable[[]string](ctx)
	rt.completions[1] = journal.Result{Value: []byte(`{"approved":true,"by":"ana"}`)}
	rt.completions[2] = journal.Result{Failure: &journal.Failure{Code: 500, Message: "changed my mind"}}
	rt.completions[3] = journal.Result{Value: []byte(`"seven"`)}
	rt.completions[4] = journal.Result{}

	v, err := ok.Result()
	require.NoError(t, err)
	assert.Equal(t, decision{Approved: true, By: "ana"}, v)

	_, err = no.Result()
	require.Error(t, err)
	assert.True(t, durable.IsTerminalError(err))
	assert.Equal(t, uint16(500), durable.ErrorCode(err))
	assert.Equal(t, "changed my mind", err.Error())

	_, err = bad.Result()
	require.Error(t, err)
	assert.True(t, durable.IsTerminalError(err), "an undecodable value is terminal, never retried")
	assert.Contains(t, err.Error(), bad.ID())
	var syntax *json.UnmarshalTypeError
	assert.ErrorAs(t, err, &syntax, "the decode error is wrapped")

	e, err := empty.Result()
	require.NoError(t, err)
	assert.Nil(t, e)

	assert.Equal(t, []uint32{1, 2, 3, 4}, rt.awaited)
}

func TestResolveAwakeable(t *testing.T) {
	rt := newFakeRuntime()
	ctx := durable.NewContext(rt)
	target := protocol.AwakeableID{Invocation: protocol.InvocationID{1}, Index: 3}.String()
	durable.ResolveAwakeable(ctx, target, map[string]any{"ok": true})
	assert.Equal(t, journal.Entry{Kind: journal.KindCompleteAwakeable, Target: target, Param: journal.Result{Value: []byte(`{"ok":true}`)}}, rt.last())

	durable.RejectAwakeable(ctx, target, errors.New("nope"))
	assert.Equal(t, journal.Entry{Kind: journal.KindCompleteAwakeable, Target: target, Param: journal.Result{Failure: &journal.Failure{Code: 500, Message: "nope"}}}, rt.last())

	durable.RejectAwakeable(ctx, target, fmt.Errorf("ctx: %w", durable.TerminalError(errors.New("gone"), 410)))
	assert.Equal(t, journal.Entry{Kind: journal.KindCompleteAwakeable, Target: target, Param: journal.Result{Failure: &journal.Failure{Code: 410, Message: "ctx: gone"}}}, rt.last())
	assert.Empty(t, rt.awaited, "resolving and rejecting do not wait")
}

func TestResolveAwakeableFailures(t *testing.T) {
	target := protocol.AwakeableID{Invocation: protocol.InvocationID{1}, Index: 3}.String()
	tests := []struct {
		name string
		call func(ctx durable.Context)
		code uint16
		want string
	}{
		{"malformed resolve", func(ctx durable.Context) { durable.ResolveAwakeable(ctx, "sign_1nope", 1) }, 400, `"sign_1nope"`},
		{"malformed reject", func(ctx durable.Context) { durable.RejectAwakeable(ctx, "prom_1", errors.New("x")) }, 400, `"prom_1"`},
		{"zero invocation", func(ctx durable.Context) {
			durable.ResolveAwakeable(ctx, protocol.AwakeableID{Index: 1}.String(), 1)
		}, 400, "zero"},
		{"unencodable value", func(ctx durable.Context) { durable.ResolveAwakeable(ctx, target, func() {}) }, 500, "encode"},
		{"nil reason", func(ctx durable.Context) { durable.RejectAwakeable(ctx, target, nil) }, 500, "nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := newFakeRuntime()
			r := panicOf(func() { tt.call(durable.NewContext(rt)) })
			f, ok := r.(failed)
			require.True(t, ok, "want Fail, got %#v", r)
			assert.Equal(t, tt.code, f.f.Code)
			assert.Contains(t, f.f.Message, tt.want)
			assert.Len(t, rt.entries, 1, "nothing journaled")
		})
	}
}

func TestRun(t *testing.T) {
	rt := newFakeRuntime()
	ctx := durable.NewContext(rt)
	var seenID string
	v, err := durable.Run(ctx, func(rc durable.RunContext) (map[string]int, error) {
		seenID = rc.InvocationID()
		return map[string]int{"n": 3}, nil
	}, durable.WithName("count"))
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"n": 3}, v)
	assert.Equal(t, ctx.InvocationID(), seenID)
	assert.Equal(t, journal.Entry{Kind: journal.KindRun, Name: "count", Result: journal.Result{Value: []byte(`{"n":3}`)}}, rt.last())

	// Unnamed, the last option wins.
	_, err = durable.Run(ctx, func(durable.RunContext) (int, error) { return 1, nil })
	require.NoError(t, err)
	assert.Equal(t, "", rt.last().Name)
	_, err = durable.Run(ctx, func(durable.RunContext) (int, error) { return 1, nil }, durable.WithName("a"), durable.WithName("b"))
	require.NoError(t, err)
	assert.Equal(t, "b", rt.last().Name)
	assert.Equal(t, 3, rt.runs)
}

func TestRunTerminalError(t *testing.T) {
	rt := newFakeRuntime()
	ctx := durable.NewContext(rt)
	_, err := durable.Run(ctx, func(durable.RunContext) (string, error) {
		return "ignored", durable.TerminalError(errors.New("declined"), 402)
	}, durable.WithName("charge"))
	require.Error(t, err)
	assert.True(t, durable.IsTerminalError(err))
	assert.Equal(t, uint16(402), durable.ErrorCode(err))
	assert.Equal(t, "declined", err.Error())
	assert.Equal(t, journal.Entry{Kind: journal.KindRun, Name: "charge", Result: journal.Result{Failure: &journal.Failure{Code: 402, Message: "declined"}}}, rt.last())
}

func TestRunRetryableError(t *testing.T) {
	rt := newFakeRuntime()
	ctx := durable.NewContext(rt)
	cause := errors.New("timeout talking to the bank")
	r := panicOf(func() {
		_, _ = durable.Run(ctx, func(durable.RunContext) (string, error) { return "", cause })
	})
	re, ok := r.(retry)
	require.True(t, ok, "got %#v", r)
	assert.Same(t, cause, re.err, "the effect's error reaches the runtime unchanged")
	assert.Len(t, rt.entries, 1, "nothing journaled")
}

func TestRunUnencodableResult(t *testing.T) {
	rt := newFakeRuntime()
	ctx := durable.NewContext(rt)
	_, err := durable.Run(ctx, func(durable.RunContext) (chan int, error) { return make(chan int), nil })
	require.Error(t, err)
	assert.True(t, durable.IsTerminalError(err))
	assert.Equal(t, uint16(500), durable.ErrorCode(err))
	require.NotNil(t, rt.last().Result.Failure, "the failure is journaled, so a replay gives the same error")
	assert.Contains(t, rt.last().Result.Failure.Message, "encode run result")
}

func TestRunResultDecodeMismatch(t *testing.T) {
	// A replayed run whose journaled value does not fit the type is a terminal error.
	rt := newFakeRuntime()
	rt.entries = append(rt.entries, journal.Entry{Kind: journal.KindRun, Result: journal.Result{Value: []byte(`"x"`)}})
	replayed := &replayRuntime{fakeRuntime: rt, index: 1}
	_, err := durable.Run(durable.NewContext(replayed), func(durable.RunContext) (int, error) {
		t.Fatal("a replayed run must not execute")
		return 0, nil
	})
	require.Error(t, err)
	assert.True(t, durable.IsTerminalError(err))
	assert.Contains(t, err.Error(), "run result")
}

// replayRuntime answers Run from the journal at index without executing the effect.
type replayRuntime struct {
	*fakeRuntime
	index uint32
}

func (r *replayRuntime) EnterRun(string) (journal.Result, bool) {
	return r.Await(r.index), true
}

// TestFullHandlerOnFakeRuntime runs the approval handler shape through NewServiceHandler on the
// fake runtime: input in, awakeable, run handing out the ID, result out.
func TestFullHandlerOnFakeRuntime(t *testing.T) {
	var handed string
	h := durable.NewServiceHandler(func(ctx durable.Context, doc string) (string, error) {
		aw := durable.Awakeable[string](ctx)
		if _, err := durable.Run(ctx, func(durable.RunContext) (bool, error) {
			handed = aw.ID()
			return true, nil
		}, durable.WithName("request-review")); err != nil {
			return "", err
		}
		d, err := aw.Result()
		if err != nil {
			return "", err
		}
		return doc + ": " + d, nil
	})
	rt := newFakeRuntime()
	rt.completions[1] = journal.Result{Value: []byte(`"approved"`)}
	out, err := h.Call(rt, []byte(`"doc-1"`))
	require.NoError(t, err)
	assert.Equal(t, `"doc-1: approved"`, string(out))
	parsed, err := protocol.ParseAwakeableID(handed)
	require.NoError(t, err)
	assert.Equal(t, protocol.AwakeableID{Invocation: rt.inv, Index: 1}, parsed)
	assert.Equal(t, []journal.Kind{journal.KindInput, journal.KindAwakeable, journal.KindRun}, kinds(rt.entries))

	rt2 := newFakeRuntime()
	rt2.completions[1] = journal.Result{Failure: &journal.Failure{Code: 500, Message: "rejected"}}
	_, err = h.Call(rt2, []byte(`"doc-2"`))
	assert.True(t, durable.IsTerminalError(err))
	assert.Equal(t, "rejected", err.Error())
}

func kinds(es []journal.Entry) []journal.Kind {
	out := make([]journal.Kind, len(es))
	for i, e := range es {
		out[i] = e.Kind
	}
	return out
}
