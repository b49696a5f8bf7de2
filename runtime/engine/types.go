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
	if p.Factor < 1 {
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
	return min(time.Duration(d), p.MaxInterval)
}

// Config is what an Engine is built from.
type Config struct {
	// Services are the services the executor declared; calls to anything else get a 404.
	Services []protocol.ServiceSpec
	// Clock gives the engine the current time for its deadlines.
	Clock Clock
	// NewID returns a fresh invocation ID; it must never return one it returned before.
	NewID func() protocol.InvocationID
	// Retry is the retry policy for failed attempts.
	Retry RetryPolicy
}

// RequestID identifies one ingress request so its reply can find its way back. The driver
// chooses it; the engine only echoes it.
type RequestID uint64

// Reply is the answer to an ingress request.
type Reply struct {
	Request  RequestID
	Response ingress.Response
}

// Timer asks the driver to call FireTimer with it once the clock reaches Deadline. A fired timer
// that is no longer wanted does nothing, so the driver never needs to cancel one.
type Timer struct {
	Invocation protocol.InvocationID
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
