package vigiltest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/journal"
)

// Fact is a kind of fact your test states about the outside world — "charged", "shipped",
// "email-sent" — with a value of type T. Facts go into the run's trace as typed events (they
// are part of the trace hash, printed with the trace, and can be pointed at by violations), and
// invariants read them back with In.
//
//	var Charged = vigiltest.NewFact[int]("charged") // value: the amount in cents
//	Charged.Record(s, order, 1250)                  // in the fake payment provider
//	for _, c := range Charged.In(h) { ... c.Key, c.Value, c.InRun, c.Index ... }
type Fact[T any] struct{ name string }

// NewFact declares a kind of fact. Its name is one word (no spaces), unique in the scenario.
func NewFact[T any](name string) Fact[T] {
	if name == "" || strings.ContainsAny(name, " \t\n") {
		panic(fmt.Sprintf("vigiltest: fact name %q must be one non-empty word", name))
	}
	return Fact[T]{name: name}
}

// Name is the fact's name as the trace prints it.
func (f Fact[T]) Name() string { return f.name }

// Record states the fact about key (an order ID, a customer) with value, at the current virtual
// time. Call it from the code that does the thing: a fake of an outside system called by a
// handler, or an actor. A value that cannot be encoded as JSON is a bug in the test: it panics.
func (f Fact[T]) Record(s *Sim, key string, value T) {
	b, err := json.Marshal(value)
	if err != nil {
		panic(fmt.Sprintf("vigiltest: fact %s: encode %T: %v", f.name, value, err))
	}
	s.w.Record(checkers.Event{Kind: FactKind, Node: "test", Reason: fmt.Sprintf("fact %s key=%q %s", f.name, key, b),
		Promise: f.name, Key: key, Result: journal.Result{Value: b}})
}

// FactKind is the kind of the events facts are recorded as (the vocabulary's UserFact): Promise
// holds the fact's name, Key its key, Result.Value its JSON value, and Reason all three for the
// printed trace.
const FactKind = checkers.UserFact

// Recorded is one recorded fact, as In returns it.
type Recorded[T any] struct {
	// Index is the fact's event in the history: the index to put in Violation.Events.
	Index int
	// At is the virtual time it was recorded.
	At    time.Duration
	Key   string
	Value T
	// InRun reports whether it was recorded inside the side effect of a durable.Run that the
	// runtime executed. A fact recorded by handler code outside Run is repeated every time the
	// handler is replayed — after a crash, on resuming from suspension, or by the simulator's
	// replay check at every attempt end — which is how a side effect outside Run shows.
	InRun bool
	// Replay is the replay twin's re-run the fact was recorded in (its ReplayStarted event),
	// or -1: code outside Run ran again when the simulator replayed the handler there.
	Replay int
}

// Where says in words when the fact was recorded: inside a Run's side effect, while the
// simulator replayed the handler against its journal (naming the attempt that had just ended),
// or by handler or actor code in a live attempt.
func (r Recorded[T]) Where(h *History) string {
	switch {
	case r.InRun:
		return "inside durable.Run"
	case r.Replay >= 0:
		e := h.Events[r.Replay]
		return fmt.Sprintf("by code outside Run, run again when the handler of %s was replayed after an attempt ended (event #%d)", e.Invocation, r.Replay)
	}
	return "outside durable.Run"
}

// In returns every fact of this kind in h, in the order they were recorded.
func (f Fact[T]) In(h *History) []Recorded[T] {
	var out []Recorded[T]
	for i, e := range h.Events {
		if e.Kind != FactKind || e.Promise != f.name {
			continue
		}
		var v T
		if err := json.Unmarshal(e.Result.Value, &v); err != nil {
			panic(fmt.Sprintf("vigiltest: fact %s at event %d: decode %s: %v", f.name, i, e.Result.Value, err))
		}
		out = append(out, Recorded[T]{Index: i, At: e.At, Key: e.Key, Value: v, InRun: inRun(h.Events, i), Replay: inReplay(h.Events, i)})
	}
	return out
}

// inRun reports whether event i was recorded inside a Run's side effect. The executor records
// RunExecuted just before it executes the effect, nothing else runs until the effect returns,
// and the executor records the run's outcome as soon as it does; so the effect's facts follow
// that event with nothing between them but what the effect itself recorded (earlier facts,
// requests its fakes sent).
func inRun(events []checkers.Event, i int) bool {
	for j := i - 1; j >= 0; j-- {
		switch events[j].Kind {
		case FactKind, checkers.ClientRequest:
			continue
		case checkers.RunExecuted:
			return true
		}
		return false
	}
	return false
}

// inReplay returns the ReplayStarted event whose re-run recorded event i, or -1. A replay runs
// start to end within one event of the simulator, so nothing but what it records comes between
// its ReplayStarted and its ReplayEnded.
func inReplay(events []checkers.Event, i int) int {
	for j := i - 1; j >= 0; j-- {
		switch events[j].Kind {
		case checkers.ReplayStarted:
			return j
		case checkers.ReplayEnded:
			return -1
		}
	}
	return -1
}
