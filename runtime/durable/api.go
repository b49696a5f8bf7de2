package durable

import (
	"encoding/json"
	"fmt"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// AwakeableFuture is a callback that an outside party completes by its ID: resolve over HTTP or
// with ResolveAwakeable from another handler, reject with RejectAwakeable.
type AwakeableFuture[T any] struct {
	ctx   Context
	index uint32
	// inv is the invocation that journaled the awakeable. The ID is spelled from it when asked
	// for (ID), not here: most futures are made by replays, which never hand the ID out again,
	// and spelling it allocates.
	inv protocol.InvocationID
}

// Awakeable journals a new awakeable and returns its future. Hand its ID to the outside world
// inside a Run, then wait with Result.
func Awakeable[T any](ctx Context) AwakeableFuture[T] {
	rt := ctx.runtime()
	index := indexUnlessStopped(rt.Command(journal.Entry{Kind: journal.KindAwakeable}))
	return AwakeableFuture[T]{ctx: ctx, index: index, inv: rt.InvocationID()}
}

// ID is the awakeable's self-routing ID ("sign_1...").
func (a AwakeableFuture[T]) ID() string {
	return protocol.AwakeableID{Invocation: a.inv, Index: a.index}.String()
}

// Result waits for the awakeable's completion; the invocation may suspend meanwhile. A
// rejection comes back as a terminal error whose message is the rejection reason.
func (a AwakeableFuture[T]) Result() (T, error) {
	res := unlessStopped(a.ctx.runtime().Await(a.index))
	if v, done, err := decodeQuick[T](res); done {
		return v, err
	}
	return decodeJSON[T](res.Value, "awakeable ", a.ID())
}

// ResolveAwakeable completes the awakeable id with value. Completing an already completed
// awakeable changes nothing. A malformed id fails the calling invocation with a terminal error
// at once, rather than retrying forever as Restate does.
func ResolveAwakeable[T any](ctx Context, id string, value T) {
	rt := ctx.runtime()
	checkAwakeableID(rt, id)
	b, err := encode(value)
	if err != nil {
		rt.Fail(journal.Failure{Code: 500, Message: fmt.Sprintf("resolve awakeable %s: encode value: %v", id, err)})
	}
	indexUnlessStopped(rt.Command(journal.Entry{Kind: journal.KindCompleteAwakeable, Target: id, Param: journal.Result{Value: b}}))
}

// RejectAwakeable completes the awakeable id with a failure; its waiter gets a terminal error
// with reason's message and code (500 unless reason is a TerminalError with another code). A nil
// reason, like a malformed id, fails the calling invocation with a terminal error at once.
func RejectAwakeable(ctx Context, id string, reason error) {
	rt := ctx.runtime()
	checkAwakeableID(rt, id)
	if reason == nil {
		rt.Fail(journal.Failure{Code: 500, Message: fmt.Sprintf("reject awakeable %s: the reason is nil", id)})
	}
	indexUnlessStopped(rt.Command(journal.Entry{Kind: journal.KindCompleteAwakeable, Target: id, Param: journal.Result{Failure: failureOf(reason)}}))
}

func checkAwakeableID(rt Runtime, id string) {
	if _, err := protocol.ParseAwakeableID(id); err != nil {
		rt.Fail(journal.Failure{Code: 400, Message: fmt.Sprintf("complete awakeable: %v", err)})
	}
}

// RunOption configures a Run; WithName makes one. It is a plain value rather than a function
// over the options, so that configuring a Run allocates nothing: Run is on every handler's path.
type RunOption struct{ name string }

// WithName names the side effect in the journal, so traces and non-determinism errors say
// which one it was.
func WithName(name string) RunOption { return RunOption{name: name} }

// Run executes fn as a journaled side effect: once its result is journaled it is never executed
// again, and replays return the journaled result. A terminal error from fn is journaled too and
// returned as such; any other error ends the attempt and the invocation retries.
func Run[T any](ctx Context, fn func(RunContext) (T, error), opts ...RunOption) (T, error) {
	var o RunOption
	for _, opt := range opts {
		if opt.name != "" {
			o.name = opt.name // the last name given wins (WithName("") names nothing)
		}
	}
	rt := ctx.runtime()
	// The stop mark is checked before the effect can run (see Unwind).
	res, journaled := rt.EnterRun(o.name)
	res = unlessStopped(res)
	if !journaled {
		res = unlessStopped(rt.EndRun(runEffect(rt, fn, ctx.runContext())))
	}
	return decodeResult[T](res, "run result", "")
}

// runEffect calls a Run's fn, the side effect, and turns what it returned into a journal result,
// or the non-terminal error that makes the attempt retry. The runtime refuses durable calls
// until LeaveRun, deferred so that a panicking fn lifts the refusal as well.
func runEffect[T any](rt Runtime, fn func(RunContext) (T, error), rc RunContext) (journal.Result, error) {
	defer rt.LeaveRun()
	v, err := fn(rc)
	if err != nil {
		if IsTerminalError(err) {
			return journal.Result{Failure: failureOf(err)}, nil
		}
		return journal.Result{}, err
	}
	b, err := encode(v)
	if err != nil {
		return journal.Result{Failure: &journal.Failure{Code: 500, Message: fmt.Sprintf("encode run result: %v", err)}}, nil
	}
	return journal.Result{Value: b}, nil
}

// decodeResult turns a journaled result into the typed value or terminal error handler code sees.
// The error names the value as what followed by name, joined only when decoding fails.
func decodeResult[T any](res journal.Result, what, name string) (T, error) {
	if v, done, err := decodeQuick[T](res); done {
		return v, err
	}
	return decodeJSON[T](res.Value, what, name)
}

// decodeQuick is decodeResult without JSON: a failure, an absent value or a scalar. done is
// false when the value needs decodeJSON, so that a caller whose error message costs an
// allocation to spell (an awakeable's ID) spells it only then.
func decodeQuick[T any](res journal.Result) (v T, done bool, err error) {
	if res.Failure != nil {
		return v, true, errorOf(res.Failure)
	}
	if len(res.Value) == 0 || decodeScalar(res.Value, &v) {
		return v, true, nil
	}
	return v, false, nil
}

// decodeJSON is decodeResult's way for what decodeScalar does not take. It is apart so that
// decodeResult's own value, which encoding/json would make escape, stays on the stack.
func decodeJSON[T any](b []byte, what, name string) (T, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return v, decodeFailure(what+name, err)
	}
	return v, nil
}
