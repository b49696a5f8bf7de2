// Package event is the one vocabulary of a recorded run: the kinds of event a history holds and
// the typed fields each kind fills, the history itself, its printer (Event.String) and its hash
// (Hash). The engine-note mapping and the recorder in the simulator write these events, the
// checkers and the scenario checks read them; no one else spells a kind or matches a reason
// string, so renaming a kind or a field breaks the build instead of silently turning a checker
// off. A test walks the struct by reflection and fails when a field reaches the hash but not the
// printer, or the reverse.
//
// The package imports only runtime/journal and runtime/protocol (the values that are recorded).
// It must never import the simulator, the engine, the executor or the ingress: the vocabulary of
// the oracle cannot depend on the code it judges.
package event

import "fmt"

// Kind tells what an Event records.
type Kind uint8

// Event kinds. The first group is what the runtime reports (the engine only once the write that
// made it true is durable): claims to be judged. The second is what the simulator itself did or
// saw from outside the runtime — client exchanges as the client sent and received them, faults,
// deliveries, the declared configuration — which the checkers take as facts.
const (
	// AttemptStarted: the executor began Attempt of Invocation with Journal (as the engine sent it).
	AttemptStarted Kind = iota + 1
	// CommandEmitted: the attempt produced a new journal entry Entry at Index (not a replayed one).
	CommandEmitted
	// ValueObserved: the handler of the attempt received Result for the entry at Index, whose kind
	// is Entry.Kind — replayed from the journal or delivered live.
	ValueObserved
	// RunExecuted: the attempt actually executed the side effect of the run entry at Index.
	RunExecuted
	// AttemptEnded: the attempt stopped; End says how.
	AttemptEnded
	// CompletionAccepted: the engine durably completed the awakeable Awakeable (at Invocation,
	// Index) with Result. It claims this is the completion that wins.
	CompletionAccepted
	// CompletionDropped: the engine durably ignored a completion of Awakeable with Result;
	// Reason says why in words (already completed, unknown invocation, ...), for people only.
	CompletionDropped
	// InvocationDone: the engine durably recorded Invocation's output Result; Journal is its
	// final journal.
	InvocationDone

	// ClientRequest: a client actor (Node) sent ingress request number Request. HTTP holds what
	// it put on the wire (method, raw path, headers, body), recorded before anything decoded it;
	// Reason repeats "METHOD path" for people. Service/Handler/Key/IdempotencyKey are the
	// oracle's own reading of those bytes (checkers.ParseClientRequest, never the runtime's
	// decoder), for scenario checks that group requests by target.
	ClientRequest
	// ClientResponse: the client received the response to request Request, with HTTP Status (0
	// when the connection failed: the outcome is in doubt and Invocation is zero). HTTP holds the
	// status, headers and body as received. Invocation is the x-restate-id (or the invocationId
	// of a 202), when there is one. Entry.Kind is journal.KindOutput exactly when the response
	// carries an invocation's output, and Result is then that output (the value of a 200, or the
	// invocation's terminal failure). Reason gives the status and body, or the connection error.
	ClientResponse
	// NodeCrashed: the simulator crashed Node; Reason says what was lost.
	NodeCrashed
	// NodeRestarted: the simulator restarted Node.
	NodeRestarted
	// MessageDelivered: a protocol message of kind Message reached its receiver Node.
	MessageDelivered
	// NodePaused: the simulator paused Node for Span.
	NodePaused
	// ClockStepped: the simulator set Node's wall clock Span ahead of the true time (negative:
	// behind). The first one, at the start of a run with clock faults, sets the initial offset.
	ClockStepped
	// CompletionBuffered: the engine durably kept a completion (Result) of Awakeable that
	// arrived before the awakeable's own entry; it is applied or dropped when the entry arrives.
	CompletionBuffered

	// InvocationAccepted: the engine durably accepted Invocation of Service/Handler on Key
	// (empty for plain services) as its Seq-th invocation; Handler kind is HandlerKind;
	// IdempotencyKey is set when the call had one.
	InvocationAccepted
	// LockAcquired: Invocation became the holder of Service/Key's exclusive lock (objects and
	// workflow runs), so it may run.
	LockAcquired
	// LockReleased: Invocation, the holder of Service/Key's lock, released it (it finished).
	LockReleased
	// TimerArmed: the engine durably armed a Timer-kind timer of Invocation (journal Index for
	// sleeps) due at Deadline (virtual time, the engine's clock). A retention timer names what it
	// will purge as the matching Purged event does. Recovery may arm the same timer again.
	TimerArmed
	// TimerFired: the engine durably acted on that timer; Invocation, Index, Timer and Deadline
	// are the armed timer's. A timer is acted on once.
	TimerFired
	// PromiseCompleted: the engine durably completed the promise Promise of workflow Service/Key
	// with Result; the first completion wins until the workflow is purged.
	PromiseCompleted
	// Purged: the engine durably forgot what Purge names, at the end of a retention it says was
	// due at Deadline: the workflow Service/Key with its promises, state and output
	// (PurgeWorkflow, Invocation its run), a finished Invocation's output (PurgeInvocation), or
	// an idempotency key (PurgeIdempotency, Service/Handler/Key/IdempotencyKey naming it).
	Purged

	// ServiceDeclared: the scenario declared the service Spec (kind, handlers, retention and
	// idempotency retention, 0 meaning the engine's default). Recorded by the simulator at the
	// start of a run, from the scenario's own definitions, before the runtime exists.
	ServiceDeclared
	// RequestDelivered: the simulator handed client request Request to the runtime node's ingress
	// (the node was up and not paused). The order of these events is the order in which requests
	// reached the runtime, whatever the runtime then made of them.
	RequestDelivered
	// RunEnded: the simulation observed the world up to At; nothing happened after the previous
	// event. Recorded last, so that "by the end of the run" means this instant.
	RunEnded

	// ReplayStarted: the simulator's replay twin began re-running Invocation's handler against
	// its persisted journal (of Index entries) as replay Attempt, at the end of one of its
	// attempts. Whatever the handler's own code records until the matching ReplayEnded ran during
	// that replay: code outside durable.Run runs again there, as it does at every real replay.
	ReplayStarted
	// ReplayEnded: that re-run ended; Reason says how (matched, diverged, returned another output).
	ReplayEnded
	// UserFact: a fact a user's scenario recorded (vigiltest facts): its kind in Promise, its key
	// in Key, its value as JSON in Result.Value.
	UserFact
	// RuntimeDeclared: the simulator declared the runtime's own configuration, Runtime: the retry
	// policy it gives the engine and the inactivity bound its fault plan gives the executor.
	// Recorded at the start of a run, with the ServiceDeclared events, before the runtime exists.
	RuntimeDeclared

	kindCount
)

var kindNames = [...]string{
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
	ServiceDeclared:    "declared",
	RequestDelivered:   "request-delivered",
	RunEnded:           "run-ended",
	ReplayStarted:      "replay-started",
	ReplayEnded:        "replay-ended",
	UserFact:           "fact",
	RuntimeDeclared:    "runtime-declared",
}

// Kinds lists every kind, in order.
func Kinds() []Kind {
	ks := make([]Kind, 0, kindCount-1)
	for k := AttemptStarted; k < kindCount; k++ {
		ks = append(ks, k)
	}
	return ks
}

// String names the kind as traces print it.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// TimerKind says what a timer is for (TimerArmed, TimerFired).
type TimerKind uint8

// Timer kinds.
const (
	// TimerSleep wakes a durable sleep (journal Index).
	TimerSleep TimerKind = iota + 1
	// TimerRetry ends a retry backoff.
	TimerRetry
	// TimerRetention ends a retention: an invocation's, an idempotency key's or a workflow's.
	TimerRetention
)

var timerNames = [...]string{TimerSleep: "sleep", TimerRetry: "retry", TimerRetention: "retention"}

// String names the timer kind.
func (k TimerKind) String() string { return name(timerNames[:], uint8(k), "timer") }

// PurgeKind says what a Purged event forgot.
type PurgeKind uint8

// Purge kinds.
const (
	// PurgeWorkflow: a workflow's run, promises, state and output.
	PurgeWorkflow PurgeKind = iota + 1
	// PurgeInvocation: a finished invocation's record and output.
	PurgeInvocation
	// PurgeIdempotency: an idempotency key.
	PurgeIdempotency
)

var purgeNames = [...]string{PurgeWorkflow: "workflow", PurgeInvocation: "invocation", PurgeIdempotency: "idempotency"}

// String names the purge kind.
func (k PurgeKind) String() string { return name(purgeNames[:], uint8(k), "purge") }

// HandlerKind is the kind of handler an invocation runs (InvocationAccepted).
type HandlerKind uint8

// Handler kinds.
const (
	// HandlerService is a handler of a plain (stateless) service.
	HandlerService HandlerKind = iota + 1
	// HandlerExclusive is an exclusive handler of a virtual object: it holds its key's lock.
	HandlerExclusive
	// HandlerShared is a shared handler of an object or workflow: it holds no lock.
	HandlerShared
	// HandlerWorkflow is a workflow's run: it holds its key's lock, once per key.
	HandlerWorkflow
)

var handlerNames = [...]string{HandlerService: "service", HandlerExclusive: "exclusive", HandlerShared: "shared", HandlerWorkflow: "workflow"}

// String names the handler kind.
func (k HandlerKind) String() string { return name(handlerNames[:], uint8(k), "handler") }

// AttemptEnd says how an attempt stopped (AttemptEnded).
type AttemptEnd uint8

// Attempt ends.
const (
	// EndDone: the handler returned and the attempt sent its output.
	EndDone AttemptEnd = iota + 1
	// EndSuspended: the attempt suspended waiting on completions.
	EndSuspended
	// EndFailed: the attempt failed (retryable or not) or was aborted.
	EndFailed
	// EndPanicked: the handler panicked; the attempt failed.
	EndPanicked
	// EndReplayed: the attempt only replayed what the journal held and stopped.
	EndReplayed
	// EndAborted: the engine aborted the attempt.
	EndAborted
	// EndCrashed: the executor crashed under the attempt.
	EndCrashed
	// EndSuperseded: a newer attempt of the invocation replaced it.
	EndSuperseded
	// EndOther: a way of ending this vocabulary has no name for (see Reason).
	EndOther
)

var endNames = [...]string{EndDone: "done", EndSuspended: "suspended", EndFailed: "failed", EndPanicked: "panicked", EndReplayed: "replayed",
	EndAborted: "aborted", EndCrashed: "crashed", EndSuperseded: "superseded", EndOther: "other"}

// String names the attempt end.
func (k AttemptEnd) String() string { return name(endNames[:], uint8(k), "end") }

// ParseAttemptEnd maps the executor's word for how an attempt ended to its kind; a word it does
// not know is EndOther, so a renamed word shows in traces instead of vanishing.
func ParseAttemptEnd(how string) AttemptEnd {
	for k, n := range endNames {
		if n != "" && n == how {
			return AttemptEnd(k)
		}
	}
	return EndOther
}

func name(names []string, k uint8, what string) string {
	if int(k) < len(names) && names[k] != "" {
		return names[k]
	}
	return fmt.Sprintf("%s(%d)", what, k)
}
