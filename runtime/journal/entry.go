package journal

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
)

// Kind names what a journal entry records. The numeric values are part of the codec's wire
// format: never renumber them, only append.
type Kind uint8

// Entry kinds. Room is left after the last one for sleeps, promises, state and calls.
const (
	// KindInput is always entry 0: the invocation's input bytes.
	KindInput Kind = 1
	// KindOutput is the last entry of a finished invocation: its output or terminal failure.
	// Its Name is empty when the handler returned it, EngineOutput when the engine decided it
	// (retries ran out, the workflow was purged, the handler broke the protocol).
	KindOutput Kind = 2
	// KindRun is a side effect whose result (value or terminal failure) is journaled, so it is
	// never executed again on replay.
	KindRun Kind = 3
	// KindAwakeable is a callback that an outside party completes by the awakeable's ID.
	KindAwakeable Kind = 4
	// KindCompleteAwakeable records that the handler resolved or rejected another awakeable.
	KindCompleteAwakeable Kind = 5
	// KindGetState reads the state key Name of the invocation's object or workflow; Result.Value
	// is the value, nil when the key is absent (state values are JSON, never empty).
	KindGetState Kind = 6
	// KindSetState writes Param.Value under the state key Name.
	KindSetState Kind = 7
	// KindClearState removes the state key Name.
	KindClearState Kind = 8
	// KindClearAllState removes every state key.
	KindClearAllState Kind = 9
	// KindGetStateKeys lists the state keys; Result.Value is a JSON array of them, sorted.
	KindGetStateKeys Kind = 10
	// KindSleep is a durable timer of Duration; the engine fixes its Deadline when it journals
	// it and completes the entry when the deadline passes.
	KindSleep Kind = 11
	// KindGetPromise waits for the durable promise Name of the invocation's workflow; its
	// completion is the promise's value or failure.
	KindGetPromise Kind = 12
	// KindPeekPromise reads the durable promise Name without waiting; the engine completes it at
	// once with the value or failure, or with an empty Result when the promise is not completed.
	KindPeekPromise Kind = 13
	// KindCompletePromise resolves (Param.Value) or rejects (Param.Failure) the promise Name; the
	// engine completes it with an empty Result, or with a 409 failure when the promise was
	// already completed.
	KindCompletePromise Kind = 14
	// KindSelect records which future a WaitFirst returned: Result.Value is the JSON index of the
	// chosen future among its arguments, so replay picks the same one.
	KindSelect Kind = 15
	// KindCall calls another handler and waits for its output: Target is "service/handler",
	// Name the object's or workflow's key (empty for a plain service), Param.Value the input.
	// The engine starts the callee when it journals the call (once per index, however often the
	// command is repeated) and completes the entry with the callee's output or terminal failure.
	KindCall Kind = 16
	// KindSend starts another handler without waiting for it: Target, Name and Param as for
	// KindCall, Duration a delay before the callee starts. It has no result.
	KindSend Kind = 17
	// KindCancel cancels the invocation whose ID (inv_...) is Target. It has no result.
	KindCancel Kind = 18
)

// EngineOutput names an output entry that the engine decided rather than the handler returned.
const EngineOutput = "engine"

// maxKind is the highest kind this build knows; the codec refuses anything above it.
const maxKind = KindCancel

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
	case KindGetState:
		return "get-state"
	case KindSetState:
		return "set-state"
	case KindClearState:
		return "clear-state"
	case KindClearAllState:
		return "clear-all-state"
	case KindGetStateKeys:
		return "get-state-keys"
	case KindSleep:
		return "sleep"
	case KindGetPromise:
		return "get-promise"
	case KindPeekPromise:
		return "peek-promise"
	case KindCompletePromise:
		return "complete-promise"
	case KindSelect:
		return "select"
	case KindCall:
		return "call"
	case KindSend:
		return "send"
	case KindCancel:
		return "cancel"
	default:
		return fmt.Sprintf("kind(%d)", uint8(k))
	}
}

// Valid reports whether k is a kind this build knows.
func (k Kind) Valid() bool { return k >= KindInput && k <= maxKind }

// Completable reports whether entries of this kind wait for a result from outside the handler
// (an awakeable, a timer, a promise) rather than carrying their result when they are written.
func (k Kind) Completable() bool {
	switch k {
	case KindAwakeable, KindSleep, KindGetPromise, KindPeekPromise, KindCompletePromise, KindCall:
		return true
	}
	return false
}

// AckedBeforeUse reports whether the handler must wait until an entry of kind k is durable
// before it goes on: the entries whose values the executor produces and a re-run could produce
// differently — a side effect's result, a WaitFirst's choice, a state read. Acting on one that a
// crash then loses could hand the outside world facts (IDs of later entries, say) that a re-run
// contradicts.
func AckedBeforeUse(k Kind) bool {
	return k == KindRun || k == KindSelect || k == KindGetState || k == KindGetStateKeys
}

// Writes reports whether entries of this kind change an object's or a workflow's state, which
// shared handlers may not do.
func (k Kind) Writes() bool {
	return k == KindSetState || k == KindClearState || k == KindClearAllState
}

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

// String renders a result compactly for traces and reports: value(<bytes as they are>) or
// failure(<code> <message quoted as %q does>). Checkers render results by the thousand, so it is
// built by hand rather than with fmt: the same text, in one allocation for a value.
func (r Result) String() string {
	if f := r.Failure; f != nil {
		b := make([]byte, 0, len("failure( )")+5+len(f.Message)+2)
		b = append(b, "failure("...)
		b = strconv.AppendUint(b, uint64(f.Code), 10)
		b = append(b, ' ')
		b = strconv.AppendQuote(b, f.Message)
		return string(append(b, ')'))
	}
	return "value(" + string(r.Value) + ")"
}

// Entry is one step of an invocation's journal.
//
// Which fields are meaningful depends on Kind (see each kind's comment): the command's
// parameters are Name, Target, Param and Duration, which replay compares; Completed, Result and
// Deadline are filled in by whoever completes the entry. For the kinds written with their result
// (input, output, run, get-state, get-state-keys, select) Result is set from the start:
//   - input: Result.Value is the input;
//   - output: Result is the output or the terminal failure;
//   - run: Name is the side effect's name; Result is its outcome;
//   - awakeable: Completed and Result are set once an outside party completes it;
//   - complete-awakeable: Target is the awakeable ID; Param is the value or rejection sent.
type Entry struct {
	Kind      Kind
	Name      string
	Target    string
	Param     Result
	Duration  time.Duration
	Completed bool
	Result    Result
	// Deadline is when a sleep falls due, in Unix nanoseconds; the engine sets it.
	Deadline int64
}

// SameCommand reports whether two entries are the same command, ignoring any completion an
// outside party attached later. Replay uses it to detect a handler that diverged from its journal.
func (e Entry) SameCommand(o Entry) bool {
	if e.Kind != o.Kind || e.Name != o.Name || e.Target != o.Target || e.Duration != o.Duration || !e.Param.Equal(o.Param) {
		return false
	}
	switch e.Kind {
	case KindInput, KindOutput:
		return e.Result.Equal(o.Result)
	default:
		// A run's result is produced by the side effect, not chosen by the handler's code;
		// completions come from outside; state reads depend on the state. None is part of the
		// command.
		return true
	}
}

// Equal reports whether two entries are identical, completion included.
func (e Entry) Equal(o Entry) bool {
	return e.SameCommand(o) && e.Completed == o.Completed && e.Result.Equal(o.Result) && e.Deadline == o.Deadline
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
	if e.Param.Value != nil || e.Param.Failure != nil {
		s += " param=" + e.Param.String()
	}
	if e.Duration != 0 {
		s += " duration=" + e.Duration.String()
	}
	switch {
	case e.Kind.Completable() && !e.Completed:
		s += " (pending)"
	case e.Kind.Writes() || e.Kind == KindCompleteAwakeable || e.Kind == KindSend || e.Kind == KindCancel:
		// Such commands have no result of their own.
	default:
		s += " " + e.Result.String()
	}
	return s
}
