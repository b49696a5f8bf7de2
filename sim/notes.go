package sim

import (
	"fmt"

	"github.com/vigilsim/vigil/checkers"
	hist "github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/engine"
)

// The engine says what kind of timer, purge or handler a note is about in words; these tables
// are the one place those words become the history's typed kinds. A word missing here panics,
// so that the engine renaming one fails every run at once instead of silently hiding the events
// from the checkers that look for the kind.
var (
	noteTimers = map[engine.TimerKind]hist.TimerKind{
		engine.TimerSleep:             hist.TimerSleep,
		engine.TimerRetry:             hist.TimerRetry,
		engine.TimerRetention:         hist.TimerRetention,
		engine.TimerWorkflowRetention: hist.TimerRetention,
	}
	notePurges = map[string]hist.PurgeKind{
		"workflow":    hist.PurgeWorkflow,
		"invocation":  hist.PurgeInvocation,
		"idempotency": hist.PurgeIdempotency,
	}
	noteHandlers = map[string]hist.HandlerKind{
		"service":   hist.HandlerService,
		"exclusive": hist.HandlerExclusive,
		"shared":    hist.HandlerShared,
		"workflow":  hist.HandlerWorkflow,
	}
)

// typeNote fills the typed fields of e, the history event of note (read in place: a note is
// some 300 bytes).
func typeNote(e *checkers.Event, note *engine.Note) {
	var ok bool
	switch note.Kind {
	case engine.NoteTimerArmed, engine.NoteTimerFired:
		e.Timer, ok = noteTimers[note.Timer.Kind]
	case engine.NotePurged:
		e.Purge, ok = notePurges[note.Reason]
	case engine.NoteInvocationAccepted:
		e.HandlerKind, ok = noteHandlers[note.Reason]
	default:
		return
	}
	if !ok {
		panic(fmt.Sprintf("sim: engine note %d (timer kind %d, reason %q) has no typed history kind", note.Kind, note.Timer.Kind, note.Reason))
	}
}

// endRun records RunEnded, the instant up to which the world was observed. A run whose queue
// still holds events past its liveness budget (a retention due tomorrow, say) was watched to
// the end of that budget, with nothing happening after its last event; so "missing by the end
// of the run" is judged at the budget's end, not at whatever last happened. A run cut short by
// a bound records nothing: its end is not a verdict about the runtime.
func (w *World) endRun() {
	if w.cut != BoundNone {
		return
	}
	if w.queue.Len() > 0 {
		w.now = max(w.now, w.opts.SafetyBudget+w.opts.LivenessBudget)
	}
	w.Record(checkers.Event{Kind: checkers.RunEnded, Node: "sim"})
}
