package durable

import (
	"math/rand/v2"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// Runtime is what the executor provides to one attempt of a handler. Handler code never sees it;
// it reaches it through a Context. Every method must be called from the attempt's own coroutine:
// the executor fails a call from anywhere else with a clear error. A method that stops the
// handler panics, or, from Command, Await, EnterRun and EndRun, returns the stop mark (see
// Unwind), which the durable call turns into the panic.
type Runtime interface {
	// InvocationID is the invocation this attempt belongs to.
	InvocationID() protocol.InvocationID
	// Key is the object's or workflow's key, empty for a plain service.
	Key() string
	// Command journals a new entry, or during replay checks it against the journaled one (a
	// mismatch is a non-determinism error that ends the attempt). It returns the entry's index.
	Command(e journal.Entry) uint32
	// Read journals a state read (get-state, get-state-keys) with the value the attempt's view of
	// the state holds, or during replay returns the journaled one.
	Read(e journal.Entry) journal.Result
	// Await parks the attempt until the entry at index is completed and returns its result.
	Await(index uint32) journal.Result
	// AwaitAny parks the attempt until one of the entries is completed and returns its position
	// in indices; the choice is journaled, so a replay returns the same position.
	AwaitAny(indices []uint32) int
	// EnterRun begins the side effect named name. On replay it returns the journaled result and
	// journaled true: the effect must not run. Otherwise journaled is false and the caller runs
	// the effect once, at once, between EnterRun and LeaveRun, then hands what it returned to
	// EndRun. A Run is three calls rather than one taking the effect as a closure so that no
	// closure is made (and allocated) per side effect: Run is on nearly every handler's path.
	EnterRun(name string) (res journal.Result, journaled bool)
	// LeaveRun says the effect EnterRun let run has returned or panicked; durable calls, refused
	// while it ran, are allowed again. It is deferred, so that it runs on a panic too.
	LeaveRun()
	// EndRun journals the result of the effect that EnterRun let run, waits until it is durable
	// and returns it. A non-terminal err ends the attempt with a retry.
	EndRun(res journal.Result, err error) journal.Result
	// Fail ends the attempt at once with a terminal failure of the invocation. It does not return.
	Fail(f journal.Failure)
	// Rand is the attempt's deterministic random source: seeded from the invocation ID, so that
	// every attempt, and every replay, draws the same sequence. One source per attempt.
	Rand() *rand.Rand
	// Now reads the executor's clock, for Now's journaled side effect.
	Now() time.Time
}

// NewContext wraps an executor's Runtime as the Context of a plain service handler. It is for
// executors and tests; handler code receives its Context ready-made.
func NewContext(rt Runtime) Context { return &baseContext{rt: rt} }

// Context is a handler's view of its invocation. It is only valid inside the handler call that
// received it and only on that handler's own goroutine: concurrency inside a handler is expressed
// with futures, never goroutines.
type Context interface {
	// InvocationID returns the ID of the running invocation ("inv_...").
	InvocationID() string
	runtime() Runtime
	// runContext is the context's view as a Run closure's RunContext: the same memory, so that
	// handing it to a closure allocates nothing.
	runContext() RunContext
}

// ObjectSharedContext is the context of a virtual object's shared handler: it may read the
// object's state but not write it, and runs beside anything else on the key.
type ObjectSharedContext interface {
	Context
	// Key returns the object's key.
	Key() string
	readsState()
}

// ObjectContext is the context of a virtual object's exclusive handler: it holds the key's lock
// from start to end and may write the object's state.
type ObjectContext interface {
	ObjectSharedContext
	writesState()
}

// WorkflowSharedContext is the context of a workflow's shared handler: it may read state and
// read, resolve and reject the workflow's durable promises.
type WorkflowSharedContext interface {
	ObjectSharedContext
	hasPromises()
}

// WorkflowContext is the context of a workflow's run handler.
type WorkflowContext interface {
	WorkflowSharedContext
	ObjectContext
}

// The concrete contexts: one per capability set, so that a shared handler's context cannot be
// converted into one that writes state.
type (
	baseContext           struct{ rt Runtime }
	objectSharedContext   struct{ baseContext }
	objectContext         struct{ objectSharedContext }
	workflowSharedContext struct{ objectSharedContext }
	workflowContext       struct{ workflowSharedContext }
)

func (c baseContext) InvocationID() string    { return c.rt.InvocationID().String() }
func (c baseContext) runtime() Runtime        { return c.rt }
func (c *baseContext) runContext() RunContext { return (*runView)(c) }

func (c objectSharedContext) Key() string  { return c.rt.Key() }
func (objectSharedContext) readsState()    {}
func (objectContext) writesState()         {}
func (workflowSharedContext) hasPromises() {}
func (workflowContext) writesState()       {}

// RunContext is the narrower context a Run closure receives: durable calls cannot nest inside
// a side effect, so it offers none.
type RunContext interface {
	// InvocationID returns the ID of the running invocation.
	InvocationID() string
}

// runView is a context seen as a RunContext: it offers the invocation's ID and no durable call.
type runView baseContext

func (v *runView) InvocationID() string { return v.rt.InvocationID().String() }
