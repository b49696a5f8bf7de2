package checkers

import (
	"fmt"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// The vocabulary of a history lives in package event; these names let the checkers and their
// callers say checkers.Event as they always did. See package event for what each kind records.
type (
	// Event is one recorded fact of a run (event.Event).
	Event = event.Event
	// EventKind tells what an Event records (event.Kind).
	EventKind = event.Kind
	// History is everything recorded of one run, in order (event.History).
	History = event.History
)

// Event kinds, as package event defines them.
const (
	AttemptStarted     = event.AttemptStarted
	CommandEmitted     = event.CommandEmitted
	ValueObserved      = event.ValueObserved
	RunExecuted        = event.RunExecuted
	AttemptEnded       = event.AttemptEnded
	CompletionAccepted = event.CompletionAccepted
	CompletionDropped  = event.CompletionDropped
	InvocationDone     = event.InvocationDone
	ClientRequest      = event.ClientRequest
	ClientResponse     = event.ClientResponse
	NodeCrashed        = event.NodeCrashed
	NodeRestarted      = event.NodeRestarted
	MessageDelivered   = event.MessageDelivered
	NodePaused         = event.NodePaused
	ClockStepped       = event.ClockStepped
	CompletionBuffered = event.CompletionBuffered
	InvocationAccepted = event.InvocationAccepted
	LockAcquired       = event.LockAcquired
	LockReleased       = event.LockReleased
	TimerArmed         = event.TimerArmed
	TimerFired         = event.TimerFired
	PromiseCompleted   = event.PromiseCompleted
	Purged             = event.Purged
	ServiceDeclared    = event.ServiceDeclared
	RequestDelivered   = event.RequestDelivered
	RunEnded           = event.RunEnded
	ReplayStarted      = event.ReplayStarted
	ReplayEnded        = event.ReplayEnded
	UserFact           = event.UserFact
	RuntimeDeclared    = event.RuntimeDeclared
)

// Violation is one broken property found in a history.
type Violation struct {
	// Checker names the property ("exactly-once", "replay", ...).
	Checker string
	// Invocation is the invocation concerned, zero when the violation is not about one.
	Invocation protocol.InvocationID
	// Message says what is wrong, with the values involved.
	Message string
	// Events are indices into History.Events of the events that show it.
	Events []int
}

// String renders the violation as one report line.
func (v Violation) String() string {
	if v.Invocation.IsZero() {
		return fmt.Sprintf("%s: %s (events %v)", v.Checker, v.Message, v.Events)
	}
	return fmt.Sprintf("%s: %s: %s (events %v)", v.Checker, v.Invocation, v.Message, v.Events)
}
