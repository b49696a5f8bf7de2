package engine

import (
	"time"

	"github.com/vigilsim/vigil/runtime/ingress"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/runtime/store"
)

// Clock is the engine's only source of time.
type Clock interface {
	Now() time.Time
}

// RetryPolicy says how long the engine waits before the next attempt of a failed invocation.
// The zero value of each field takes Restate's default.
type RetryPolicy struct {
	// InitialInterval is the wait after the first failure (default 500 ms).
	InitialInterval time.Duration
	// Factor multiplies the wait after each further failure (default 2).
	Factor float64
	// MaxInterval caps the wait (default 1 minute).
	MaxInterval time.Duration
	// MaxAttempts is how many attempts fail before the invocation fails for good (default 70).
	// Restate pauses the invocation instead; Vigil has no pause yet and fails it with a
	// terminal error that says the retries ran out.
	MaxAttempts uint32
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.InitialInterval <= 0 {
		p.InitialInterval = 500 * time.Millisecond
	}
	if !(p.Factor >= 1) { // also catches NaN
		p.Factor = 2
	}
	if p.MaxInterval <= 0 {
		p.MaxInterval = time.Minute
	}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = 70
	}
	return p
}

// backoff returns the wait before the next attempt after failures failed attempts (>= 1).
func (p RetryPolicy) backoff(failures uint32) time.Duration {
	d := float64(p.InitialInterval)
	for i := uint32(1); i < failures && d < float64(p.MaxInterval); i++ {
		d *= p.Factor
	}
	// Compare before converting: a float64 beyond the int64 range converts to an
	// implementation-defined Duration (math.MinInt64 on amd64), which would make the wait negative.
	if d >= float64(p.MaxInterval) {
		return p.MaxInterval
	}
	return time.Duration(d)
}

// Config is what an Engine is built from.
type Config struct {
	// Services are the services the executor declared; calls to anything else get a 404. The
	// engine keeps the slice: it must not change afterwards.
	Services []protocol.ServiceSpec
	// Store is the engine's read-only view of its store (required). The engine reads it at
	// recovery and for what it keeps on disk only (finished invocations, idempotency keys, the
	// retention index); it never writes to it. The driver must apply each Ready's batch before
	// it steps the engine again, so that the engine reads what it wrote.
	Store store.Reader
	// Clock gives the engine the current time for its deadlines.
	Clock Clock
	// NewID returns a fresh invocation ID; it must never return one it returned before.
	NewID func() protocol.InvocationID
	// Retry is the retry policy for failed attempts.
	Retry RetryPolicy
	// Retention is how long a finished workflow's promises, state and output, and a finished
	// invocation's output, stay readable when the service does not say (default 24 h, as in
	// Restate). Expiry is exact: a read after it finds nothing.
	Retention time.Duration
	// IdempotencyRetention is how long an idempotency key answers with its first invocation
	// after that finished, when the service does not say (default 24 h).
	IdempotencyRetention time.Duration
	// Reached, if set, is told each time the engine passes one of its Points.
	Reached func(point string)
	// Buggify, if set, is asked at fault points whether to misbehave there now (within what the
	// protocol allows): withhold a run's acknowledgement, as a lost message would. Production
	// leaves it nil; the simulator draws the answers from the seed.
	Buggify func(point string) bool
}

// DefaultRetention is Restate's default for every retention.
const DefaultRetention = 24 * time.Hour

// RequestID identifies one ingress request so its reply can find its way back. The driver
// chooses it; the engine only echoes it.
type RequestID uint64

// Reply is the answer to an ingress request.
type Reply struct {
	Request  RequestID
	Response ingress.Response
}

// TimerKind tells what a timer is for.
type TimerKind uint8

// Timer kinds.
const (
	// TimerRetry starts the next attempt of a backing-off invocation.
	TimerRetry TimerKind = iota
	// TimerSleep completes the sleep entry at Index of Invocation.
	TimerSleep
	// TimerRetention purges the finished Invocation (its output, journal, idempotency key).
	TimerRetention
	// TimerWorkflowRetention purges the finished workflow Service/Key: run, promises, state.
	TimerWorkflowRetention
	// TimerRetentionSweep purges the finished invocations whose retention is due (TimerRetention
	// names one of them in notes; the driver only ever gets sweeps for them).
	TimerRetentionSweep
)

// String names the kind as history events do.
func (k TimerKind) String() string {
	switch k {
	case TimerRetry:
		return "retry"
	case TimerSleep:
		return "sleep"
	case TimerRetention, TimerWorkflowRetention:
		return "retention"
	case TimerRetentionSweep:
		return "retention-sweep"
	}
	return "unknown"
}

// Timer asks the driver to call FireTimer with it once the clock reaches Deadline. A fired timer
// that is no longer wanted does nothing, so the driver never needs to cancel one.
type Timer struct {
	Kind       TimerKind
	Invocation protocol.InvocationID
	Index      uint32
	Service    string
	Key        string
	Deadline   time.Time
}

// NoteKind tells what a Note records.
type NoteKind uint8

// Notes are durable facts for the history; they are true once the batch they came with is.
const (
	// NoteCompletionAccepted: the awakeable was completed with Result; this completion wins.
	NoteCompletionAccepted NoteKind = iota + 1
	// NoteCompletionDropped: a completion of the awakeable was ignored, for Reason.
	NoteCompletionDropped
	// NoteInvocationDone: the invocation ended with Result; Journal is its final journal.
	NoteInvocationDone
	// NoteInvocationAccepted: the invocation of Service/Handler on Key was accepted as the
	// Seq-th; Reason is its handler kind.
	NoteInvocationAccepted
	// NoteLockAcquired: the invocation became the holder of Service/Key.
	NoteLockAcquired
	// NoteLockReleased: the invocation released Service/Key.
	NoteLockReleased
	// NoteTimerArmed: a timer (Timer) was armed; Reason is its kind.
	NoteTimerArmed
	// NoteTimerFired: the engine acted on the timer Timer.
	NoteTimerFired
	// NotePromiseCompleted: the promise Promise of workflow Service/Key was completed with Result.
	NotePromiseCompleted
	// NoteCompletionBuffered: a completion of the awakeable arrived before its entry; it is
	// kept and applied (or dropped) when the entry arrives.
	NoteCompletionBuffered
	// NotePurged: retention ended (Timer.Deadline) and the engine forgot what Reason names:
	// "workflow" Service/Key, "invocation" Invocation, or "idempotency" Service/Handler/Key/
	// IdempotencyKey.
	NotePurged
)

// Note is a fact for the history.
type Note struct {
	Kind       NoteKind
	Invocation protocol.InvocationID
	Index      uint32
	Awakeable  string
	Result     journal.Result
	Reason     string
	// Journal is the final journal of a finished invocation (NoteInvocationDone only), so that
	// checkers can compare what every attempt saw with what was made durable.
	Journal []journal.Entry

	Service        string
	Handler        string
	Key            string
	Promise        string
	Seq            uint64
	IdempotencyKey string
	// Timer is the timer armed or fired, or whose deadline a purge honoured.
	Timer Timer
	// Clock is the engine's clock reading when it made the note: what "never early" is judged
	// against, since a node can only act on the time its own clock tells.
	Clock time.Time
}

// Ready is everything one or more steps produced. The driver applies Batch atomically and syncs
// it, and only then sends Messages, sends Replies and arms Timers, in that order; Notes are true
// once Batch is durable.
type Ready struct {
	Batch    store.Batch
	Messages []protocol.Message
	Replies  []Reply
	Timers   []Timer
	Notes    []Note
}

// Empty reports whether there is nothing to do.
func (r *Ready) Empty() bool {
	return len(r.Batch) == 0 && len(r.Messages) == 0 && len(r.Replies) == 0 && len(r.Timers) == 0 && len(r.Notes) == 0
}
