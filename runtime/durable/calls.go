package durable

import (
	"fmt"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// Client calls one handler of another service, virtual object or workflow from inside a
// handler, as Restate's SDK does: Request waits for the output, RequestFuture starts the call now
// and waits later (fan-out, or a timeout with WaitFirst), Send starts it and does not wait.
// Every call is journaled: a retry or a replay never sends it twice, and the caller may suspend
// while it waits. A terminal error of the callee reaches the caller as a terminal error; calls
// to an exclusive handler of an object queue behind its key's lock like calls from outside.
type Client[O any] struct {
	ctx     Context
	service string
	key     string
	handler string
}

// ServiceClient returns a client of handler on the plain service service. (Restate's Go SDK
// spells it Service[O]; here Service is the type of a service definition.)
func ServiceClient[O any](ctx Context, service, handler string) Client[O] {
	return Client[O]{ctx: ctx, service: service, handler: handler}
}

// ObjectClient returns a client of handler on the virtual object service with key.
func ObjectClient[O any](ctx Context, service, key, handler string) Client[O] {
	return Client[O]{ctx: ctx, service: service, key: key, handler: handler}
}

// WorkflowClient returns a client of handler on the workflow service with key: "run" submits the
// workflow (once per key; a second submission fails with 409), a shared handler reaches its
// promises.
func WorkflowClient[O any](ctx Context, service, key, handler string) Client[O] {
	return Client[O]{ctx: ctx, service: service, key: key, handler: handler}
}

// Request calls the handler with input and waits for its output.
func (c Client[O]) Request(input any) (O, error) {
	return c.RequestFuture(input).Result()
}

// RequestFuture starts the call now and returns its future; wait with Result, or in WaitFirst.
func (c Client[O]) RequestFuture(input any) CallFuture[O] {
	rt := c.ctx.runtime()
	target := c.target()
	index := indexUnlessStopped(rt.Command(journal.Entry{Kind: journal.KindCall, Target: target, Name: c.key, Param: c.encode(rt, input)}))
	return CallFuture[O]{ctx: c.ctx, index: index, target: target}
}

// SendOption configures a Send.
type SendOption func(*sendOptions)

type sendOptions struct{ delay time.Duration }

// WithDelay starts the callee only once d has passed (durably: a crash neither loses nor
// shortens the delay).
func WithDelay(d time.Duration) SendOption { return func(o *sendOptions) { o.delay = max(d, 0) } }

// Send starts the handler with input and does not wait for it.
func (c Client[O]) Send(input any, opts ...SendOption) {
	var o sendOptions
	for _, opt := range opts {
		opt(&o)
	}
	rt := c.ctx.runtime()
	indexUnlessStopped(rt.Command(journal.Entry{Kind: journal.KindSend, Target: c.target(), Name: c.key, Param: c.encode(rt, input), Duration: o.delay}))
}

func (c Client[O]) target() string { return c.service + "/" + c.handler }

// encode is the call's input as JSON; a value that cannot be encoded fails the caller
// terminally, as the same mistake would on every retry.
func (c Client[O]) encode(rt Runtime, input any) journal.Result {
	b, err := encode(input)
	if err != nil {
		rt.Fail(journal.Failure{Code: 500, Message: fmt.Sprintf("call %s: encode input: %v", c.target(), err)})
	}
	return journal.Result{Value: b}
}

// CallFuture is a call in flight.
type CallFuture[O any] struct {
	ctx   Context
	index uint32
	// target is the callee ("service/handler"), for the error of an output that does not decode.
	target string
}

// Result waits for the callee's output; the invocation may suspend meanwhile. The callee's
// terminal error comes back as a terminal error with its code and message.
func (f CallFuture[O]) Result() (O, error) {
	res := unlessStopped(f.ctx.runtime().Await(f.index))
	if v, done, err := decodeQuick[O](res); done {
		return v, err
	}
	return decodeJSON[O](res.Value, "call "+f.target, " output")
}

func (f CallFuture[O]) selectIndex() uint32 { return f.index }

// CancelInvocation cancels the invocation invocationID ("inv_..."), as Restate's admin API
// does: what it waits for fails with the terminal error 409 "Cancelled" (the calls it waits on
// are cancelled in turn), so its handler can still run compensations; one that has not started
// yet ends with that error. Cancelling a finished invocation changes nothing. A malformed ID
// fails the calling invocation with a terminal error.
func CancelInvocation(ctx Context, invocationID string) {
	rt := ctx.runtime()
	if _, err := protocol.ParseInvocationID(invocationID); err != nil {
		rt.Fail(journal.Failure{Code: 400, Message: fmt.Sprintf("cancel: %v", err)})
	}
	indexUnlessStopped(rt.Command(journal.Entry{Kind: journal.KindCancel, Target: invocationID}))
}
