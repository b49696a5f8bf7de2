package vigiltest

import (
	"encoding/json"
	"fmt"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// History is a finished run's recorded history with queries by invocation, service, key and
// handler. Events are the raw trace, in order; every index a query returns points into it. It
// is valid during the invariant's check only: the simulator reuses the events of a run nobody
// kept.
type History struct {
	*checkers.History
	invocations []*Invocation
	byID        map[protocol.InvocationID]*Invocation
}

// Invocation is what the history shows of one invocation the runtime accepted.
type Invocation struct {
	// ID is the invocation's ID as clients see it (inv_...).
	ID string
	// Service, Handler and Key are its target; Key is empty for a plain service.
	Service, Handler, Key string
	// IdempotencyKey is the key the call that created it carried, if any.
	IdempotencyKey string
	// Accepted is the index of the event where the runtime durably accepted it.
	Accepted int
	// Attempts is how many attempts of its handler started.
	Attempts int
	// Done reports whether it finished; Output is then its output (a value or a failure) and
	// DoneAt the index of the event that recorded it.
	Done   bool
	Output journal.Result
	DoneAt int
	// Events are the indices of every event about it, in order.
	Events []int
	// Journal is its final journal, when it finished.
	Journal []journal.Entry
}

func newHistory(h *checkers.History) *History {
	hist := &History{History: h, byID: map[protocol.InvocationID]*Invocation{}}
	for i, e := range h.Events {
		if e.Invocation.IsZero() {
			continue
		}
		inv := hist.byID[e.Invocation]
		if inv == nil {
			if e.Kind != checkers.InvocationAccepted {
				continue // a client's answer naming an invocation never accepted
			}
			inv = &Invocation{ID: e.Invocation.String(), Service: e.Service, Handler: e.Handler, Key: e.Key,
				IdempotencyKey: e.IdempotencyKey, Accepted: i}
			hist.byID[e.Invocation] = inv
			hist.invocations = append(hist.invocations, inv)
		}
		inv.Events = append(inv.Events, i)
		switch e.Kind {
		case checkers.AttemptStarted:
			inv.Attempts++
		case checkers.InvocationDone:
			if !inv.Done {
				inv.Done, inv.Output, inv.DoneAt, inv.Journal = true, e.Result, i, e.Journal
			}
		}
	}
	return hist
}

// Query selects invocations; an empty field matches anything.
type Query struct {
	Service, Handler, Key string
}

// Invocations returns the invocations q selects, in the order the runtime accepted them.
func (h *History) Invocations(q Query) []*Invocation {
	var out []*Invocation
	for _, inv := range h.invocations {
		if (q.Service == "" || q.Service == inv.Service) && (q.Handler == "" || q.Handler == inv.Handler) && (q.Key == "" || q.Key == inv.Key) {
			out = append(out, inv)
		}
	}
	return out
}

// Invocation returns the invocation with ID id (inv_...).
func (h *History) Invocation(id string) (*Invocation, bool) {
	pid, err := protocol.ParseInvocationID(id)
	if err != nil {
		return nil, false
	}
	inv, ok := h.byID[pid]
	return inv, ok
}

// Failure is an invocation's terminal failure: what a handler's durable.TerminalError (or a
// rejected awakeable it did not handle) ended it with. Clients get it as their Reply's Err.
type Failure struct {
	Code    uint16
	Message string
}

func (f *Failure) Error() string { return fmt.Sprintf("invocation failed (%d): %s", f.Code, f.Message) }

// OutputOf decodes a finished invocation's output into T, or returns its *Failure. It is an
// error to ask for the output of an invocation that did not finish.
func OutputOf[T any](inv *Invocation) (T, error) {
	var v T
	switch {
	case !inv.Done:
		return v, fmt.Errorf("invocation %s of %s/%s did not finish", inv.ID, inv.Service, inv.Handler)
	case inv.Output.Failure != nil:
		return v, &Failure{Code: inv.Output.Failure.Code, Message: inv.Output.Failure.Message}
	}
	if err := json.Unmarshal(inv.Output.Value, &v); err != nil {
		return v, fmt.Errorf("invocation %s: decode output %s as %T: %w", inv.ID, inv.Output.Value, v, err)
	}
	return v, nil
}

// Violation is one broken invariant, as an Invariant's check returns it.
type Violation struct {
	// Message says what is wrong, with the values involved.
	Message string
	// Invocation names the invocation concerned, if there is one.
	Invocation protocol.InvocationID
	// Events are indices into History.Events of the events that show it; the report prints
	// each of them.
	Events []int
}

// Violationf returns a violation with a formatted message; point it at events with At and at
// an invocation with Of.
func Violationf(format string, args ...any) Violation {
	return Violation{Message: fmt.Sprintf(format, args...)}
}

// At returns v pointing also at events.
func (v Violation) At(events ...int) Violation {
	v.Events = append(append([]int(nil), v.Events...), events...)
	return v
}

// Of returns v about inv, pointing also at the events where it was accepted and finished.
func (v Violation) Of(inv *Invocation) Violation {
	if id, err := protocol.ParseInvocationID(inv.ID); err == nil {
		v.Invocation = id
	}
	v = v.At(inv.Accepted)
	if inv.Done {
		v = v.At(inv.DoneAt)
	}
	return v
}
