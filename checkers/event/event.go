package event

import (
	"fmt"
	"time"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// Event is one recorded fact of a simulated (or production) run. Which fields are meaningful
// depends on Kind; see the kind's comment. Every field reaches both Hash and String (a test
// holds them to it).
type Event struct {
	// The fields that hold pointers come first and the plain numbers after them: the collector
	// scans, and a copy into the history puts write barriers on, an event only up to its last
	// pointer, and histories copy and scan hundreds of events a run. The order of the fields is
	// not the order in which the trace hash folds them (Hash fixes that).

	// Node names where it happened ("runtime", "executor", "client-3", ...).
	Node string

	Entry     journal.Entry
	Journal   []journal.Entry
	Result    journal.Result
	Awakeable string
	// Reason is words for people (why a completion was dropped, what a crash lost). No checker
	// reads it: what a checker needs has a typed field.
	Reason string

	// Service, Handler and Key name an invocation's target, or with Promise a workflow's promise.
	Service string
	Handler string
	Key     string
	Promise string
	// IdempotencyKey is the Idempotency-Key of an accepted invocation or a purged key.
	IdempotencyKey string

	// HTTP is a client exchange as the client saw it (ClientRequest, ClientResponse).
	HTTP *HTTP
	// Spec is a ServiceDeclared service, as the scenario declared it.
	Spec *protocol.ServiceSpec
	// Runtime is the RuntimeDeclared configuration of the runtime.
	Runtime *Runtime

	// At is the virtual time since the start of the run.
	At time.Duration
	// Clock is the wall-clock reading of the node that recorded the event, in virtual time since
	// the run started. It equals At unless the node's clock is off (a clock fault); deadlines are
	// the node's, so "never early" is judged on Clock.
	Clock time.Duration
	// Deadline is a timer's or a retention's due time, in virtual time since the run started,
	// on the engine's clock. It is the engine's claim; checkers judge against declarations.
	Deadline time.Duration
	// Span is how long a NodePaused pause lasts, or the new clock offset of a ClockStepped.
	Span time.Duration
	// Seq is the engine's acceptance order of invocations (InvocationAccepted).
	Seq uint64
	// Request pairs a ClientRequest with its ClientResponse and RequestDelivered (a number
	// unique within the run).
	Request uint64
	// Status is the HTTP status of a ClientResponse, 0 when the connection failed.
	Status int

	Invocation protocol.InvocationID
	Attempt    uint32
	Index      uint32

	Kind Kind
	// HandlerKind is the kind of handler an InvocationAccepted runs.
	HandlerKind HandlerKind
	// Timer is the kind of a TimerArmed or TimerFired.
	Timer TimerKind
	// Purge is what a Purged forgot.
	Purge PurgeKind
	// End is how an AttemptEnded attempt stopped.
	End AttemptEnd
	// Message is the kind of a delivered protocol message (MessageDelivered).
	Message protocol.Kind
}

// Runtime is the configuration the simulator declared for the runtime it runs (RuntimeDeclared):
// what the checkers of retry timing and suspension judge the runtime against. A zero retry field
// means the engine's documented default (the checkers spell the defaults out themselves).
type Runtime struct {
	// RetryInitialInterval is the wait after an invocation's first failed attempt.
	RetryInitialInterval time.Duration
	// RetryFactor multiplies the wait after each further failure (below 1: the default).
	RetryFactor float64
	// RetryMaxInterval caps the wait.
	RetryMaxInterval time.Duration
	// RetryMaxAttempts is how many attempts fail before the invocation fails for good.
	RetryMaxAttempts uint32
	// InactivityMax bounds the inactivity timeout the executor draws each time an attempt parks:
	// a parked attempt that hears nothing suspends within it.
	InactivityMax time.Duration
	// SuspendAtOncePercent is the chance that a parking attempt suspends at once.
	SuspendAtOncePercent uint64
}

// HTTP is one side of a client exchange, as bytes on the client's side of the link: what the
// client sent (Method, Path, Header, Body) or what it received (Status, Header, Body).
type HTTP struct {
	// Method and Path are the request line as the client wrote it; Path is raw (percent-escapes
	// and query included). Both are empty on a response.
	Method string
	Path   string
	// Status is a response's status code, 0 on a request.
	Status int
	// Header lists the header fields in the order they were written, names as written.
	Header []Header
	// Body is the body bytes.
	Body []byte
}

// Header is one header field.
type Header struct {
	Name, Value string
}

// Get returns the value of the first header field named name (compared case-insensitively, as
// HTTP does), and whether there is one.
func (h *HTTP) Get(name string) (string, bool) {
	if h == nil {
		return "", false
	}
	for _, f := range h.Header {
		if equalFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// equalFold compares ASCII header names without case (strings.EqualFold would do Unicode too).
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// NodeClock returns the recording node's wall-clock reading of the event (see Event.Clock):
// Clock, or At for events recorded without one (hand-written tests, true clocks).
func (e Event) NodeClock() time.Duration {
	if e.Clock != 0 {
		return e.Clock
	}
	return e.At
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

// String renders the event as one trace line: time, kind, node, invocation, then the fields
// that are set, the kind's own first.
func (e Event) String() string {
	s := fmt.Sprintf("%12s %-19s", e.At, e.Kind)
	if e.Node != "" {
		s += " " + e.Node
	}
	if !e.Invocation.IsZero() || e.Attempt != 0 {
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
	case CompletionAccepted, CompletionDropped, CompletionBuffered:
		s += fmt.Sprintf(" [%d] %s %s", e.Index, e.Awakeable, e.Result)
	case InvocationDone:
		s += " " + e.Result.String()
	}
	return s + e.rest()
}

// rest renders every field the kind's own part did not, when it is set, so that nothing
// recorded is invisible in a trace.
func (e Event) rest() string {
	s := ""
	switch e.Kind {
	case AttemptStarted, CommandEmitted, ValueObserved, RunExecuted, CompletionAccepted, CompletionDropped, CompletionBuffered, InvocationDone:
	default:
		if e.Index != 0 {
			s += fmt.Sprintf(" [%d]", e.Index)
		}
		if e.Entry.Kind != 0 {
			s += " " + e.Entry.String()
		}
		if len(e.Result.Value) > 0 || e.Result.Failure != nil {
			s += " " + e.Result.String()
		}
		if e.Awakeable != "" {
			s += " " + e.Awakeable
		}
	}
	if e.Kind != AttemptStarted && len(e.Journal) > 0 {
		s += fmt.Sprintf(" journal=%d", len(e.Journal))
	}
	if t := e.target(); t != "" {
		s += " " + t
	}
	if e.Promise != "" {
		s += fmt.Sprintf(" promise=%q", e.Promise)
	}
	if e.HandlerKind != 0 {
		s += " " + e.HandlerKind.String()
	}
	if e.Seq != 0 {
		s += fmt.Sprintf(" seq=%d", e.Seq)
	}
	if e.Timer != 0 {
		s += " " + e.Timer.String()
	}
	if e.Purge != 0 {
		s += " " + e.Purge.String()
	}
	if e.Deadline != 0 {
		s += fmt.Sprintf(" due=%v", e.Deadline)
	}
	if e.IdempotencyKey != "" {
		s += fmt.Sprintf(" idempotency=%q", e.IdempotencyKey)
	}
	if e.End != 0 {
		s += " " + e.End.String()
	}
	if e.Message != 0 {
		s += " " + e.Message.String()
	}
	if e.Span != 0 {
		s += fmt.Sprintf(" span=%v", e.Span)
	}
	if e.Request != 0 {
		s += fmt.Sprintf(" req=%d", e.Request)
	}
	if e.Status != 0 {
		s += fmt.Sprintf(" status=%d", e.Status)
	}
	if e.Clock != 0 && e.Clock != e.At {
		s += fmt.Sprintf(" clock=%v", e.Clock)
	}
	if e.HTTP != nil {
		s += " " + e.HTTP.String()
	}
	if e.Spec != nil {
		s += " " + specString(e.Spec)
	}
	if e.Runtime != nil {
		s += " " + e.Runtime.String()
	}
	if e.Reason != "" {
		s += " " + e.Reason
	}
	return s
}

// target renders Service[/Handler][/Key], the parts that are set.
func (e Event) target() string {
	s := e.Service
	for _, p := range []string{e.Handler, e.Key} {
		if p != "" {
			s += "/" + p
		}
	}
	return s
}

// String renders the exchange side as it was on the wire, body quoted.
func (h *HTTP) String() string {
	s := "http{"
	if h.Method != "" || h.Path != "" {
		s += h.Method + " " + h.Path
	}
	if h.Status != 0 {
		s += fmt.Sprintf("%d", h.Status)
	}
	for _, f := range h.Header {
		s += fmt.Sprintf(" %s: %q", f.Name, f.Value)
	}
	if len(h.Body) > 0 {
		s += fmt.Sprintf(" body=%q", h.Body)
	}
	return s + "}"
}

func specString(sp *protocol.ServiceSpec) string {
	s := fmt.Sprintf("spec{%s %s", sp.Name, sp.Kind)
	for _, h := range sp.Handlers {
		s += fmt.Sprintf(" %s:%s", h.Name, h.Kind)
	}
	return s + fmt.Sprintf(" retention=%v idempotency-retention=%v}", sp.Retention, sp.IdempotencyRetention)
}

// String renders the declaration, every field, zero ones included (zero means a default).
func (r *Runtime) String() string {
	return fmt.Sprintf("runtime{retry initial=%v factor=%g max=%v attempts=%d inactivity-max=%v suspend-at-once=%d%%}",
		r.RetryInitialInterval, r.RetryFactor, r.RetryMaxInterval, r.RetryMaxAttempts, r.InactivityMax, r.SuspendAtOncePercent)
}
