package durable

import (
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// Runtime is what the executor provides to one attempt of a handler. Handler code never sees it;
// it reaches it through a Context. Every method must be called from the attempt's own coroutine:
// the executor fails a call from anywhere else with a clear error.
type Runtime interface {
	// InvocationID is the invocation this attempt belongs to.
	InvocationID() protocol.InvocationID
	// Command journals a new entry, or during replay checks it against the journaled one (a
	// mismatch is a non-determinism error that ends the attempt). It returns the entry's index.
	Command(e journal.Entry) uint32
	// Await parks the attempt until the entry at index is completed and returns its result.
	Await(index uint32) journal.Result
	// Run journals the side effect named name: on replay it returns the journaled result without
	// calling effect; otherwise it calls effect once, journals its result, waits until that is
	// durable and returns it. A non-terminal error from effect ends the attempt with a retry.
	Run(name string, effect func() (journal.Result, error)) journal.Result
	// Fail ends the attempt at once with a terminal failure of the invocation. It does not return.
	Fail(f journal.Failure)
}

// NewContext wraps an executor's Runtime as the Context handed to handler code. It is for
// executors; handler code receives its Context ready-made.
func NewContext(rt Runtime) Context { return &handlerContext{rt: rt} }

type handlerContext struct{ rt Runtime }

func (c *handlerContext) InvocationID() string { return c.rt.InvocationID().String() }
func (c *handlerContext) runtime() Runtime     { return c.rt }

// Context is a handler's view of its invocation. It is only valid inside the handler call that
// received it and only on that handler's own goroutine: concurrency inside a handler is expressed
// with futures, never goroutines.
type Context interface {
	// InvocationID returns the ID of the running invocation ("inv_...").
	InvocationID() string
	runtime() Runtime
}

// RunContext is the narrower context a Run closure receives: durable calls cannot nest inside
// a side effect, so it offers none.
type RunContext interface {
	// InvocationID returns the ID of the running invocation.
	InvocationID() string
}
