package durable

import (
	"math"

	"github.com/vigilsim/vigil/runtime/journal"
)

// A Runtime stops the handler it runs (an executor suspends or aborts the attempt, a replay
// reaches the end of its journal) by unwinding it: the handler's defers run, and the panic stops
// in Prepared.RunIn. A Runtime may panic itself, or, from Command, Await, EnterRun and EndRun,
// return the stop mark (Stopped, or StopIndex from Command): the durable call that made the call
// then panics with Unwind before it returns to handler code or runs a side effect. The second
// way starts the unwinding one frame nearer the handler (the runtime's own frame has returned),
// and every frame between a panic and its recover costs the unwinder a walk: a handler is
// unwound at nearly every suspension, and a replay stops it at nearly every journal's end.
// A Runtime that returns the mark tells what it was from what it recorded before returning it:
// Unwind carries nothing.

// Unwind is the panic value with which a durable call unwinds a handler whose runtime returned the
// stop mark. Handler code must let it pass, as any panic of its runtime.
type Unwind struct{}

// stopFailure is what the stop mark's failure points at; nothing else points at it, so that a
// pointer comparison tells the mark from every journaled failure.
var stopFailure journal.Failure

// Stopped returns the stop mark of Await, EnterRun and EndRun (see Unwind).
func Stopped() journal.Result { return journal.Result{Failure: &stopFailure} }

// StopIndex is the stop mark of Command (see Unwind): no journal is that long.
const StopIndex = math.MaxUint32

// unlessStopped returns res, or unwinds the handler when it is the stop mark. It is small enough
// to inline, so that the panic starts in the frame of the durable call that checks.
func unlessStopped(res journal.Result) journal.Result {
	if res.Failure == &stopFailure {
		panic(Unwind{})
	}
	return res
}

// indexUnlessStopped returns index, or unwinds the handler when it is the stop mark. It inlines
// as unlessStopped does.
func indexUnlessStopped(index uint32) uint32 {
	if index == StopIndex {
		panic(Unwind{})
	}
	return index
}
