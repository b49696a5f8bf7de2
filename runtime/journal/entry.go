package journal

import (
	"bytes"
	"fmt"
)

// Kind names what a journal entry records. The numeric values are part of the codec's wire
// format: never renumber them, only append.
type Kind uint8

// Entry kinds. Room is left after the last one for sleeps, promises, state and calls.
const (
	// KindInput is always entry 0: the invocation's input bytes.
	KindInput Kind = 1
	// KindOutput is the last entry of a finished invocation: its output or terminal failure.
	KindOutput Kind = 2
	// KindRun is a side effect whose result (value or terminal failure) is journaled, so it is
	// never executed again on replay.
	KindRun Kind = 3
	// KindAwakeable is a callback that an outside party completes by the awakeable's ID.
	KindAwakeable Kind = 4
	// KindCompleteAwakeable records that the handler resolved or rejected another awakeable.
	KindCompleteAwakeable Kind = 5
)

// maxKind is the highest kind this build knows; the codec refuses anything above it.
const maxKind = KindCompleteAwakeable

// String returns the kind's name as it appears in traces.
func (k Kind) String() string {
	switch k {
	case KindInput:
		return "input"
	case KindOutput:
		return "output"
	case KindRun:
		return "run"
	case KindAwakeable:
		return "awakeable"
	case KindCompleteAwakeable:
		return "complete-awakeable"
	default:
		return fmt.Sprintf("kind(%d)", uint8(k))
	}
}

// Valid reports whether k is a kind this build knows.
func (k Kind) Valid() bool { return k >= KindInput && k <= maxKind }

// Completable reports whether entries of this kind wait for a result from outside the handler
// (an awakeable) rather than carrying their result when they are written.
func (k Kind) Completable() bool { return k == KindAwakeable }

// Failure is a terminal failure: an error that ends the waiter (or the invocation) without a
// retry. Code follows HTTP conventions as Restate's terminal errors do (500 by default).
type Failure struct {
	Code    uint16
	Message string
}

// Error makes a Failure usable as an error value.
func (f *Failure) Error() string { return fmt.Sprintf("terminal error %d: %s", f.Code, f.Message) }

// Result is the outcome attached to an entry: a value, or a terminal failure. The zero Result is
// an empty successful value.
type Result struct {
	Value   []byte
	Failure *Failure
}

// Equal reports whether two results are the same value or the same failure.
func (r Result) Equal(o Result) bool {
	if (r.Failure == nil) != (o.Failure == nil) {
		return false
	}
	if r.Failure != nil {
		return *r.Failure == *o.Failure
	}
	return bytes.Equal(r.Value, o.Value)
}

// String renders a result compactly for traces and reports.
func (r Result) String() string {
	if r.Failure != nil {
		return fmt.Sprintf("failure(%d %q)", r.Failure.Code, r.Failure.Message)
	}
	return fmt.Sprintf("value(%s)", r.Value)
}

// Entry is one step of an invocation's journal.
//
// Which fields are meaningful depends on Kind:
//   - input: Result.Value is the input;
//   - output: Result is the output or the terminal failure;
//   - run: Name is the side effect's name; Result is its outcome (always set: a run entry is
//     written with its result);
//   - awakeable: Completed and Result are set once an outside party completes it;
//   - complete-awakeable: Target is the awakeable ID; Result is the value or rejection sent.
type Entry struct {
	Kind      Kind
	Name      string
	Target    string
	Completed bool
	Result    Result
}

// SameCommand reports whether two entries are the same command, ignoring any completion an
// outside party attached later. Replay uses it to detect a handler that diverged from its journal.
func (e Entry) SameCommand(o Entry) bool {
	if e.Kind != o.Kind || e.Name != o.Name || e.Target != o.Target {
		return false
	}
	switch e.Kind {
	case KindInput, KindOutput, KindCompleteAwakeable:
		return e.Result.Equal(o.Result)
	default:
		// A run's result is produced by the side effect, not chosen by the handler's code, and
		// an awakeable's result comes from outside; neither is part of the command.
		return true
	}
}

// Equal reports whether two entries are identical, completion included.
func (e Entry) Equal(o Entry) bool {
	return e.Kind == o.Kind && e.Name == o.Name && e.Target == o.Target &&
		e.Completed == o.Completed && e.Result.Equal(o.Result)
}

// String renders an entry compactly for traces and error messages.
func (e Entry) String() string {
	s := e.Kind.String()
	if e.Name != "" {
		s += fmt.Sprintf(" name=%q", e.Name)
	}
	if e.Target != "" {
		s += " target=" + e.Target
	}
	switch {
	case e.Kind.Completable() && !e.Completed:
		s += " (pending)"
	case e.Kind.Completable() || e.Kind != KindAwakeable:
		s += " " + e.Result.String()
	}
	return s
}
