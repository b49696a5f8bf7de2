package sim

import (
	"fmt"
	"strings"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// Every loop has a bound and every bound a verdict that names it. The event loop is the one loop
// of a run whose length the simulator does not control: a livelock in the runtime (a timer that
// re-arms itself at the same instant, two nodes that bounce a message forever) would otherwise
// keep a seed running until someone kills the campaign. The bounds below end such a run with a
// violation of its own property, PropertyBound, that says which bound was hit and where.

// PropertyBound is the Checker of the violation that a run cut short by a bound carries.
const PropertyBound = "bound"

// Default caps of a run's events. They rest on measurement with the default budgets: over seeds
// 1..3000 of every scenario the largest run had 6 326 events and the busiest virtual instant 1 727
// (both workflow-to-external seed 484),
// and over seeds 1..500 go test ./sim -run TestBoundsHeadroom -v -headroom-seeds 500 prints each
// scenario's figures. The defaults sit 150 and 55 times above those, so no healthy seed comes
// near them, yet a livelock fails within seconds of wall time. Events grow with the safety
// budget (the largest of 200 seeds with a 10 minute budget had 24 746): a budget of hours may
// need a larger MaxEvents.
const (
	// DefaultMaxEvents is Options.MaxEvents when it is left zero.
	DefaultMaxEvents = 1_000_000
	// DefaultMaxEventsPerInstant is Options.MaxEventsPerInstant when it is left zero.
	DefaultMaxEventsPerInstant = 100_000
)

// Bound names the limit that cut a run short.
type Bound uint8

const (
	// BoundNone: no bound was hit; the run reached the end of its liveness budget or ran out of
	// events.
	BoundNone Bound = iota
	// BoundEvents: the run processed Options.MaxEvents events.
	BoundEvents
	// BoundEventsPerInstant: Options.MaxEventsPerInstant events ran at one virtual instant, and
	// virtual time would not advance.
	BoundEventsPerInstant
	// BoundInterrupted: Options.Interrupt asked the run to stop. Unlike the two caps it depends on
	// something outside the seed (a wall-clock limit, say), so it does not reproduce.
	BoundInterrupted
)

// String is the bound's name as verdicts print it: the simrun flag that sets it, for the caps.
func (b Bound) String() string {
	switch b {
	case BoundNone:
		return "none"
	case BoundEvents:
		return "max-events"
	case BoundEventsPerInstant:
		return "max-events-per-instant"
	case BoundInterrupted:
		return "interrupted"
	}
	return fmt.Sprintf("Bound(%d)", uint8(b))
}

// Phase is the part of a run the simulator is in.
type Phase uint8

const (
	// PhaseSafety is the time before the heal, while faults are injected.
	PhaseSafety Phase = iota + 1
	// PhaseHeal is the instant of the heal (SafetyBudget): faults stop, crashed nodes restart.
	PhaseHeal
	// PhaseLiveness is the time after the heal, within which every invocation must finish.
	PhaseLiveness
	// PhaseJudging is after the event loop: the checkers judge the history.
	PhaseJudging
)

// String names the phase as verdicts print it.
func (p Phase) String() string {
	switch p {
	case PhaseSafety:
		return "safety"
	case PhaseHeal:
		return "heal"
	case PhaseLiveness:
		return "liveness"
	case PhaseJudging:
		return "judging"
	}
	return fmt.Sprintf("Phase(%d)", uint8(p))
}

// Progress is where a run is. Options.Interrupt sees it before every event, so a driver whose
// run then stops answering knows which event it is stuck in.
type Progress struct {
	// Events is how many events the run has processed so far.
	Events uint64
	// Virtual is the virtual time of the event about to run (when judging, of the last one run).
	Virtual time.Duration
	// Phase is the part of the run that event belongs to.
	Phase Phase
}

// phaseAt is the part of the run an event due at t belongs to.
func (w *World) phaseAt(t time.Duration) Phase {
	switch {
	case !w.healed:
		return PhaseSafety
	case t == w.opts.SafetyBudget:
		return PhaseHeal
	}
	return PhaseLiveness
}

// recentEvents remembers the kinds of the last few events dispatched, so that a bound's verdict
// can say what was running when it was hit. An entry is two bytes, cheap enough for every event.
type recentEvents struct {
	ring [8]recentEvent
	n    int
}

type recentEvent struct {
	kind eventKind
	msg  protocol.Kind
}

func (r *recentEvents) add(ev *event) {
	// Unsigned: n is never negative, and a signed remainder costs a sign correction per event.
	r.ring[uint(r.n)%uint(len(r.ring))] = recentEvent{kind: ev.kind, msg: ev.msg.Kind}
	r.n++
}

// String lists the remembered events, oldest first.
func (r *recentEvents) String() string {
	var parts []string
	for i := max(0, r.n-len(r.ring)); i < r.n; i++ {
		e := r.ring[i%len(r.ring)]
		s := e.kind.String()
		if e.kind == evToEngine || e.kind == evToExecutor || e.kind == evConnectionLost {
			s += " " + e.msg.String()
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// String names the event kind, and with it the node that handles it.
func (k eventKind) String() string {
	switch k {
	case evCall:
		return "call"
	case evToEngine:
		return "to-runtime"
	case evToExecutor:
		return "to-executor"
	case evSync:
		return "runtime-sync"
	case evEngineTimer:
		return "runtime-timer"
	case evExecutorTimer:
		return "executor-timer"
	case evConnectionLost:
		return "runtime-connection-lost"
	case evRelease:
		return "runtime-release"
	case evRequestArrives:
		return "client-request"
	case evClientTimeout:
		return "client-timeout"
	case evRestartRuntime:
		return "runtime-restart"
	case evRestartExecutor:
		return "executor-restart"
	case evRuntimeCrashDue, evExecutorCrashDue, evClockStepDue, evPauseDue, evPauseEnd:
		// They were calls (closures that queued themselves): a bound's verdict names them as
		// it did.
		return "call"
	}
	return fmt.Sprintf("eventKind(%d)", uint8(k))
}

// overBound reports the first bound that forbids running the next event, due at at, and what it
// says; BoundNone when the event may run. The deterministic caps come before the interrupt, so
// that a run that hits both reports the verdict that reproduces.
func (w *World) overBound(at time.Duration) (Bound, string) {
	if w.events >= uint64(w.opts.MaxEvents) {
		return BoundEvents, fmt.Sprintf("%d events in the run", w.opts.MaxEvents)
	}
	if at == w.instant && w.eventsAtInstant >= w.opts.MaxEventsPerInstant {
		return BoundEventsPerInstant, fmt.Sprintf("%d events at virtual %s without time advancing", w.opts.MaxEventsPerInstant, at)
	}
	return w.interrupted(Progress{Events: w.events, Virtual: at, Phase: w.phaseAt(at)})
}

// mayCut reports whether a bound might forbid running the next event, due at at: whether
// overBound, which is not inlined, need be asked. It is asked before every event.
func (w *World) mayCut(at time.Duration) bool {
	return w.events >= uint64(w.opts.MaxEvents) || (at == w.instant && w.eventsAtInstant >= w.opts.MaxEventsPerInstant) ||
		w.opts.Interrupt != nil
}

// interrupted asks Options.Interrupt whether to stop.
func (w *World) interrupted(p Progress) (Bound, string) {
	if w.opts.Interrupt == nil {
		return BoundNone, ""
	}
	if err := w.opts.Interrupt(p); err != nil {
		return BoundInterrupted, err.Error()
	}
	return BoundNone, ""
}

// cutShort ends the run at bound b: the violation names the bound, its value, the virtual time,
// the phase, the last events, and points at the last events recorded in the history.
func (w *World) cutShort(b Bound, what string, phase Phase) {
	w.cut = b
	var evs []int
	for i := max(0, len(w.history.Events)-5); i < len(w.history.Events); i++ {
		evs = append(evs, i)
	}
	skipped := "liveness and the scenario's checks skipped"
	if b == BoundInterrupted {
		skipped = "not judged"
	}
	w.cutViolation = checkers.Violation{Checker: PropertyBound, Events: evs, Message: fmt.Sprintf(
		"%s: %s; cut at virtual %s in the %s phase after %d events (last events run: %s); %s",
		b, what, w.now, phase, w.events, w.recent.String(), skipped)}
}

// step runs the next event, unless a bound forbids it: then it cuts the run short and returns
// false.
func (w *World) step() bool {
	at := w.queue.peekAt()
	if w.mayCut(at) {
		if b, what := w.overBound(at); b != BoundNone {
			w.cutShort(b, what, w.phaseAt(w.now))
			return false
		}
	}
	if at != w.instant {
		w.instant, w.eventsAtInstant = at, 0
	}
	// The event runs in its queue slot (see eventQueue.next), which is freed once it has run.
	slot := w.queue.next()
	ev := &w.queue.slots[slot]
	w.now = ev.at
	w.events++
	w.eventsAtInstant++
	w.busiestInstant = max(w.busiestInstant, w.eventsAtInstant)
	w.recent.add(ev)
	w.dispatch(ev)
	w.queue.release(slot)
	return true
}
