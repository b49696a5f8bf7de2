package durable

import (
	"errors"
	"fmt"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
)

// Selectable is a future that WaitFirst can wait on: an awakeable, a timer, a promise.
type Selectable interface {
	// selectIndex is the journal index whose completion completes the future.
	selectIndex() uint32
}

func (a AwakeableFuture[T]) selectIndex() uint32 { return a.index }

// AfterFuture is a durable timer: it completes once its duration has passed, even across crashes
// and restarts. Put one in WaitFirst to give any other future a timeout.
type AfterFuture struct {
	ctx   Context
	index uint32
}

// After journals a durable timer of d and returns its future; the timer starts now.
func After(ctx Context, d time.Duration) AfterFuture {
	index := indexUnlessStopped(ctx.runtime().Command(journal.Entry{Kind: journal.KindSleep, Duration: max(d, 0)}))
	return AfterFuture{ctx: ctx, index: index}
}

// Done waits until the timer fires; the invocation may suspend meanwhile.
func (f AfterFuture) Done() error {
	res := unlessStopped(f.ctx.runtime().Await(f.index))
	if res.Failure != nil {
		return errorOf(res.Failure)
	}
	return nil
}

func (f AfterFuture) selectIndex() uint32 { return f.index }

// Sleep waits durably for d: a crash neither loses the timer nor fires it early.
func Sleep(ctx Context, d time.Duration) error { return After(ctx, d).Done() }

// ErrNoFutures is the error of a WaitFirst without futures.
var ErrNoFutures = errors.New("WaitFirst needs at least one future")

// WaitFirst waits until one of the futures completes and returns it; the invocation may suspend
// meanwhile. Which future came first is journaled, so a replay returns the same one. The usual
// timeout pattern is
//
//	first, err := durable.WaitFirst(ctx, awakeable, durable.After(ctx, time.Hour))
//	if first == awakeable { decision, err := awakeable.Result() ... }
func WaitFirst(ctx Context, futures ...Selectable) (Selectable, error) {
	if len(futures) == 0 {
		return nil, TerminalError(ErrNoFutures, 400)
	}
	indices := make([]uint32, len(futures))
	for i, f := range futures {
		indices[i] = f.selectIndex()
	}
	return futures[ctx.runtime().AwaitAny(indices)], nil
}

// Get reads the state key of the object or workflow; an absent key gives T's zero value. A value
// that does not decode into T is a terminal error.
func Get[T any](ctx ObjectSharedContext, key string) (T, error) {
	res := ctx.runtime().Read(journal.Entry{Kind: journal.KindGetState, Name: key})
	return decodeResult[T](res, "state ", key)
}

// Set writes value under the state key. Only exclusive handlers (and workflow runs) may.
func Set[T any](ctx ObjectContext, key string, value T) {
	rt := ctx.runtime()
	b, err := encode(value)
	if err != nil {
		rt.Fail(journal.Failure{Code: 500, Message: fmt.Sprintf("set state %q: encode value: %v", key, err)})
	}
	indexUnlessStopped(rt.Command(journal.Entry{Kind: journal.KindSetState, Name: key, Param: journal.Result{Value: b}}))
}

// Clear removes the state key.
func Clear(ctx ObjectContext, key string) {
	indexUnlessStopped(ctx.runtime().Command(journal.Entry{Kind: journal.KindClearState, Name: key}))
}

// ClearAll removes every state key of the object or workflow.
func ClearAll(ctx ObjectContext) {
	indexUnlessStopped(ctx.runtime().Command(journal.Entry{Kind: journal.KindClearAllState}))
}

// Keys lists the state keys, sorted.
func Keys(ctx ObjectSharedContext) ([]string, error) {
	res := ctx.runtime().Read(journal.Entry{Kind: journal.KindGetStateKeys})
	keys, err := decodeResult[[]string](res, "state keys", "")
	if keys == nil && err == nil {
		keys = []string{}
	}
	return keys, err
}

// ErrPromiseAlreadyCompleted is wrapped by the error of resolving or rejecting a durable promise
// that was already completed; nothing changes. It is a terminal error with code 409, as in Restate.
var ErrPromiseAlreadyCompleted = errors.New("promise was already completed")

// DurablePromise is a named promise of one workflow run: any handler of the workflow can wait for
// it, peek at it, resolve it or reject it, in any order; the first completion wins.
type DurablePromise[T any] struct {
	ctx  WorkflowSharedContext
	name string
}

// Promise returns the workflow's promise called name. It journals nothing by itself.
func Promise[T any](ctx WorkflowSharedContext, name string) DurablePromise[T] {
	return DurablePromise[T]{ctx: ctx, name: name}
}

// PromiseFuture waits for a durable promise; it can be put in WaitFirst.
type PromiseFuture[T any] struct {
	ctx   Context
	name  string
	index uint32
}

// Future journals a wait for the promise and returns it as a future (its journal index is fixed
// now, so fan-out replays identically).
func (p DurablePromise[T]) Future() PromiseFuture[T] {
	index := indexUnlessStopped(p.ctx.runtime().Command(journal.Entry{Kind: journal.KindGetPromise, Name: p.name}))
	return PromiseFuture[T]{ctx: p.ctx, name: p.name, index: index}
}

// Result waits for the promise; the invocation may suspend meanwhile. A rejection comes back as
// a terminal error carrying the reason.
func (p DurablePromise[T]) Result() (T, error) { return p.Future().Result() }

// Result waits for the promise and returns its value or its rejection as a terminal error.
func (f PromiseFuture[T]) Result() (T, error) {
	return decodeResult[T](unlessStopped(f.ctx.runtime().Await(f.index)), "promise ", f.name)
}

func (f PromiseFuture[T]) selectIndex() uint32 { return f.index }

// Peek returns the promise's value without waiting: ok is false when it is not completed yet.
// A rejected promise gives its rejection as a terminal error.
func (p DurablePromise[T]) Peek() (value T, ok bool, err error) {
	rt := p.ctx.runtime()
	res := unlessStopped(rt.Await(indexUnlessStopped(rt.Command(journal.Entry{Kind: journal.KindPeekPromise, Name: p.name}))))
	switch {
	case res.Failure != nil:
		return value, true, errorOf(res.Failure)
	case len(res.Value) == 0:
		return value, false, nil
	}
	value, err = decodeResult[T](res, "promise ", p.name)
	return value, err == nil, err
}

// Resolve completes the promise with value. If it was already completed it returns an error
// wrapping ErrPromiseAlreadyCompleted (terminal, code 409) and changes nothing.
func (p DurablePromise[T]) Resolve(value T) error {
	b, err := encode(value)
	if err != nil {
		return TerminalError(fmt.Errorf("resolve promise %q: encode value: %w", p.name, err), 500)
	}
	return p.complete(journal.Result{Value: b})
}

// Reject completes the promise with a failure whose message is reason's; its waiters get a
// terminal error. If it was already completed it returns an error wrapping
// ErrPromiseAlreadyCompleted and changes nothing.
func (p DurablePromise[T]) Reject(reason error) error {
	if reason == nil {
		reason = errors.New("rejected")
	}
	return p.complete(journal.Result{Failure: failureOf(reason)})
}

func (p DurablePromise[T]) complete(r journal.Result) error {
	rt := p.ctx.runtime()
	res := unlessStopped(rt.Await(indexUnlessStopped(rt.Command(journal.Entry{Kind: journal.KindCompletePromise, Name: p.name, Param: r}))))
	if f := res.Failure; f != nil {
		if f.Code == 409 {
			return TerminalError(fmt.Errorf("promise %q: %w", p.name, ErrPromiseAlreadyCompleted), 409)
		}
		return errorOf(f)
	}
	return nil
}
