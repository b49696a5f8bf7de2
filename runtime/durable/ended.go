package durable

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// ErrContextEnded is the panic value (wrapped, so errors.Is finds it) of a call through a
// context whose handler call is over: a handler kept its context (in a variable, a closure, a
// goroutine) and used it after its attempt, or its re-run, ended. Such a call cannot be
// journaled anywhere, since no attempt of the invocation is at that point of its journal.
var ErrContextEnded = errors.New("durable context used after its invocation attempt ended: a handler must not keep its context")

// End makes every context made in the room refuse every call from now on, each with a panic
// wrapping ErrContextEnded. A runner that owns the room calls it when the run is over: a context
// the handler kept then reaches no runtime, and says why, instead of failing deeper with a nil
// runtime. The room must not be handed to another run afterwards: the kept context would reach
// that run's runtime.
func (r *ContextRoom) End() { *r = endedRoom }

// endedRoom is a room whose contexts all reach endedRuntime: every context is one runtime at
// bottom (ContextRoom), and these are the room's two.
var endedRoom = ContextRoom{
	workflow: workflowContext{workflowSharedContext{objectSharedContext{baseContext{endedRuntime{}}}}},
	object:   objectContext{objectSharedContext{baseContext{endedRuntime{}}}},
}

// endedRuntime is the runtime of a context whose run is over: it refuses every call, with
// ErrContextEnded itself, since it knows nothing of the run that ended (a runner that does, as an
// executor's attempt, wraps the sentinel with it). It has no fields, so that placing it in a
// room's interface allocates nothing.
type endedRuntime struct{}

func (endedRuntime) InvocationID() protocol.InvocationID         { panic(ErrContextEnded) }
func (endedRuntime) Key() string                                 { panic(ErrContextEnded) }
func (endedRuntime) Command(journal.Entry) uint32                { panic(ErrContextEnded) }
func (endedRuntime) Read(journal.Entry) journal.Result           { panic(ErrContextEnded) }
func (endedRuntime) Await(uint32) journal.Result                 { panic(ErrContextEnded) }
func (endedRuntime) AwaitAny([]uint32) int                       { panic(ErrContextEnded) }
func (endedRuntime) EnterRun(string) (journal.Result, bool)      { panic(ErrContextEnded) }
func (endedRuntime) LeaveRun()                                   { panic(ErrContextEnded) }
func (endedRuntime) EndRun(journal.Result, error) journal.Result { panic(ErrContextEnded) }
func (endedRuntime) Fail(journal.Failure)                        { panic(ErrContextEnded) }
func (endedRuntime) Rand() *rand.Rand                            { panic(ErrContextEnded) }
func (endedRuntime) Now() time.Time                              { panic(ErrContextEnded) }
