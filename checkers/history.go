package checkers

import (
	"fmt"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// EventKind tells what an Event records.
type EventKind uint8

// Event kinds. The first group is what the runtime reports (the engine only once the write that
// made it true is durable); the second is what the simulator itself did, kept for traces, the
// trace hash and reports.
const (
	// AttemptStarted: the executor began Attempt of Invocation with Journal (as the engine sent it).
	AttemptStarted EventKind = iota + 1
	// CommandEmitted: the attempt produced a new journal entry Entry at Index (not a replayed one).
	CommandEmitted
	// ValueObserved: the handler of the attempt received Result for the entry at Index, whose kind
	// is Entry.Kind — replayed from the journal or delivered live.
	ValueObserved
	// RunExecuted: the attempt actually executed the side effect of the run entry at Index.
	RunExecuted
	// AttemptEnded: the attempt stopped; Reason says how (suspended, done, failed, aborted).
	AttemptEnded
	// CompletionAccepted: the engine durably completed the awakeable Awakeable (at Invocation,
	// Index) with Result. This is the one completion that wins.
	CompletionAccepted
	// CompletionDropped: the engine durably ignored a completion of Awakeable with Result;
	// Reason says why (already completed, unknown invocation, finished invocation, ...).
	CompletionDropped
	// InvocationDone: the engine durably recorded Invocation's output Result; Journal is its
	// final journal.
	InvocationDone

	// ClientRequest: a client actor (Node) sent ingress request number Request; Reason is
	// "METHOD path"; Service/Handler/Key name the target of calls and sends; IdempotencyKey is
	// its Idempotency-Key header.
	ClientRequest
	// ClientResponse: the client received the response to request Request, with HTTP Status (0
	// when the connection failed: the outcome is in doubt and Invocation is zero). Invocation is
	// the x-restate-id (or the invocationId of a 202), when there is one. Entry.Kind is
	// journal.KindOutput exactly when the response carries an invocation's output, and Result is
	// then that output (the value of a 200, or the invocation's terminal failure); otherwise
	// Entry.Kind is zero and Result is whatever the response said (an ingress error, nothing for
	// a 202). Reason gives the status and body, or the connection error.
	ClientResponse
	// NodeCrashed: the simulator crashed Node; Reason says what was lost.
	NodeCrashed
	// NodeRestarted: the simulator restarted Node.
	NodeRestarted
	// MessageDelivered: a protocol message (Reason) reached its receiver Node.
	MessageDelivered
	// NodePaused: the simulator paused Node; Reason says for how long.
	NodePaused
	// ClockStepped: the simulator set Node's wall clock to a new offset from the true time
	// (Reason says which).
	ClockStepped
	// CompletionBuffered: the engine durably kept a completion (Result) of Awakeable that
	// arrived before the awakeable's own entry; it is applied or dropped when the entry arrives.
	CompletionBuffered

	// InvocationAccepted: the engine durably accepted Invocation of Service/Handler on Key
	// (empty for plain services) as its Seq-th invocation; Reason is the handler's kind
	// ("service", "exclusive", "shared", "workflow"); IdempotencyKey is set when the call had one.
	InvocationAccepted
	// LockAcquired: Invocation became the holder of Service/Key's exclusive lock (objects and
	// workflow runs), so it may run.
	LockAcquired
	// LockReleased: Invocation, the holder of Service/Key's lock, released it (it finished).
	LockReleased
	// TimerArmed: the engine durably armed a timer of Invocation (journal Index for sleeps) due
	// at Deadline (virtual time); Reason is "sleep", "retry" or "retention". A retention timer
	// names what it will purge as the matching Purged event does: Service/Key for a workflow,
	// Invocation for an invocation's output, Service/Handler/Key/IdempotencyKey for an idempotency
	// key. Recovery may arm the same timer again (same Invocation, Index, Reason and Deadline);
	// the checkers treat the repeats as one timer.
	TimerArmed
	// TimerFired: the engine durably acted on that timer (At is when); Invocation, Index, Reason
	// and Deadline are the armed timer's. A timer is acted on once.
	TimerFired
	// PromiseCompleted: the engine durably completed the promise Promise of workflow Service/Key
	// with Result; the first completion wins until the workflow is purged.
	PromiseCompleted
	// Purged: the engine durably forgot, at the end of its retention (Deadline): the workflow
	// Service/Key with its promises, state and output (Reason "workflow"), a finished
	// Invocation's output (Reason "invocation"), or an idempotency key (Reason "idempotency",
	// with Service/Handler/Key/IdempotencyKey naming it). At is when; it is never before Deadline.
	Purged
)

var eventKindNames = [...]string{
	AttemptStarted:     "attempt-started",
	CommandEmitted:     "command",
	ValueObserved:      "observed",
	RunExecuted:        "run-executed",
	AttemptEnded:       "attempt-ended",
	CompletionAccepted: "completion-accepted",
	CompletionDropped:  "completion-dropped",
	InvocationDone:     "invocation-done",
	ClientRequest:      "client-request",
	ClientResponse:     "client-response",
	NodeCrashed:        "crash",
	NodeRestarted:      "restart",
	MessageDelivered:   "deliver",
	NodePaused:         "pause",
	ClockStepped:       "clock-step",
	CompletionBuffered: "completion-buffered",
	InvocationAccepted: "accepted",
	LockAcquired:       "lock-acquired",
	LockReleased:       "lock-released",
	TimerArmed:         "timer-armed",
	TimerFired:         "timer-fired",
	PromiseCompleted:   "promise-completed",
	Purged:             "purged",
}

// String names the kind as traces print it.
func (k EventKind) String() string {
	if int(k) < len(eventKindNames) && eventKindNames[k] != "" {
		return eventKindNames[k]
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// Event is one recorded fact of a simulated (or production) run. Which fields are meaningful
// depends on Kind; see the kind's comment.
type Event struct {
	// At is the virtual time since the start of the run.
	At   time.Duration
	Kind EventKind
	// Node names where it happened ("runtime", "executor", "client-3", ...).
	Node string

	Invocation protocol.InvocationID
	Attempt    uint32
	Index      uint32
	Entry      journal.Entry
	Journal    []journal.Entry
	Result     journal.Result
	Awakeable  string
	Reason     string

	// Service, Handler and Key name an invocation's target, or with Promise a workflow's promise.
	Service string
	Handler string
	Key     string
	Promise string
	// Seq is the engine's acceptance order of invocations (InvocationAccepted).
	Seq uint64
	// Deadline is a timer's or a retention's due time, in virtual time since the run started.
	Deadline time.Duration
	// Request pairs a ClientRequest with its ClientResponse (a number unique within the run).
	Request uint64
	// Status is the HTTP status of a ClientResponse, 0 when the connection failed.
	Status int
	// Clock is the wall-clock reading of the node that recorded the event, in virtual time since
	// the run started. It equals At unless the node's clock is off (a clock fault); deadlines are
	// the node's, so "never early" is judged on Clock.
	Clock time.Duration
	// IdempotencyKey is the Idempotency-Key of a request or an accepted invocation.
	IdempotencyKey string
}

// String renders the event as one trace line.
func (e Event) String() string {
	s := fmt.Sprintf("%12s %-19s", e.At, e.Kind)
	if e.Node != "" {
		s += " " + e.Node
	}
	if !e.Invocation.IsZero() {
		s += fmt.Sprintf(" %s#%d", e.Invocation, e.Attempt)
	}
	switch e.Kind {
	case AttemptStarted:
		s += fmt.Sprintf(" journal=%d", len(e.Journal))
	case CommandEmitted:
		s += fmt.Sprintf(" [%d] %s", e.Index, e.Entry)
	case ValueObserved:
		s += fmt.Sprintf(" [%d] %s %s", e.Index, e.Entry.Kind, e.Result)
	case RunExecuted:
		s += fmt.Sprintf(" [%d]", e.Index)
	case CompletionAccepted, CompletionDropped:
		s += fmt.Sprintf(" [%d] %s %s", e.Index, e.Awakeable, e.Result)
	case InvocationDone:
		s += " " + e.Result.String()
	case InvocationAccepted:
		s += fmt.Sprintf(" %s seq=%d", e.target(), e.Seq)
		if e.IdempotencyKey != "" {
			s += fmt.Sprintf(" idempotency=%q", e.IdempotencyKey)
		}
	case LockAcquired, LockReleased:
		s += " " + e.target()
	case TimerArmed, TimerFired:
		s += fmt.Sprintf(" [%d] due=%v", e.Index, e.Deadline)
		if e.Service != "" || e.IdempotencyKey != "" {
			s += " " + e.target()
		}
		if e.IdempotencyKey != "" {
			s += fmt.Sprintf(" idempotency=%q", e.IdempotencyKey)
		}
	case PromiseCompleted:
		s += fmt.Sprintf(" %s promise=%q %s", e.target(), e.Promise, e.Result)
	case Purged:
		if t := e.target(); t != "" {
			s += " " + t
		}
		s += fmt.Sprintf(" due=%v", e.Deadline)
		if e.IdempotencyKey != "" {
			s += fmt.Sprintf(" idempotency=%q", e.IdempotencyKey)
		}
	}
	if e.Reason != "" {
		s += " " + e.Reason
	}
	return s
}

// target renders Service[/Handler][/Key] for String, the parts that are set.
func (e Event) target() string {
	s := e.Service
	for _, p := range []string{e.Handler, e.Key} {
		if p != "" {
			s += "/" + p
		}
	}
	return s
}

// History is everything recorded of one run, in the order it happened.
type History struct {
	Events []Event
}

// End is when the run ended: the At of its last event, zero for an empty history.
func (h History) End() time.Duration {
	if len(h.Events) == 0 {
		return 0
	}
	return h.Events[len(h.Events)-1].At
}

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

// clock is the recording node's wall-clock reading: Clock, or At for histories built without
// one (hand-written tests, recorders whose clocks are true).
func (e Event) clock() time.Duration {
	if e.Clock != 0 {
		return e.Clock
	}
	return e.At
}

// NodeClock returns the recording node's wall-clock reading of the event (see Event.Clock).
func (e Event) NodeClock() time.Duration { return e.clock() }
