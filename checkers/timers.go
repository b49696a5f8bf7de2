package checkers

import (
	"fmt"
	"time"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// timersName is the Checker name of Timers' violations.
const timersName = "timers"

// TimerGrace is how long after its deadline a timer may still act (fire, or purge for a
// retention timer) before Timers and Retention call it lost. It covers the engine's reaction
// time after the clock reaches the deadline and a recovery after a crash; the simulator's heal
// phase must keep the runtime up for at least this long at the end of a run. Default: 1 minute.
var TimerGrace = time.Minute

// Timers checks that durable timers are never early and never lost (DESIGN.md, "What the
// checkers prove", item 5), for every timer whose Timer is not event.TimerRetention (sleeps, retry
// backoffs, timeouts; Retention judges retention timers by what they purge). A timer is named by
// its Invocation, Index, Timer and Deadline; TimerArmed events that repeat one (a recovery
// re-arming it) are one timer.
//
//   - never early: a TimerFired whose At is before its Deadline;
//   - never lost: a timer armed with Deadline + TimerGrace before the end of the run that never
//     fired — unless its invocation finished (InvocationDone) before Deadline + TimerGrace, since
//     a finished invocation needs none of its timers;
//   - acted on once: a second TimerFired of the same timer;
//   - never invented: a TimerFired of a timer that no earlier TimerArmed armed.
//
// Violations are sorted by their first event index.
func Timers(h History) []Violation { return timers(NewIndex(&h)) }

func timers(x *Index) []Violation {
	h := x.H
	var vs []Violation
	// The maps are the index's, kept from its last history for their room, emptied here.
	t := &x.timers
	t.armed.reset()
	t.fired.reset()
	armed, fired, armedOrder := &t.armed, &t.fired, t.order[:0]
	defer func() { t.order = armedOrder }()
	// An invocation's first output is the index's Done; the arms and fires are walked in
	// history order, as a fire is judged against the arms before it.
	done := &x.Done
	x.eachOf(TimerArmed, TimerFired, func(i int) {
		e := &h.Events[i]
		switch e.Kind {
		case TimerArmed:
			if e.Timer == event.TimerRetention {
				return
			}
			// One search: a timer's key is a few words, and most are armed once.
			if k := timerKeyOf(e); armed.find(k) < 0 {
				armed.vals[armed.insert(k)] = i
				armedOrder = append(armedOrder, k)
			}
		case TimerFired:
			if e.Timer == event.TimerRetention {
				return
			}
			k := timerKeyOf(e)
			if c := e.NodeClock(); c < e.Deadline {
				vs = append(vs, newViolation(timersName, e.Invocation,
					fmt.Sprintf("%s fired at %v, %v before its deadline", k, c, e.Deadline-c), i))
			}
			if !armed.has(k) {
				vs = append(vs, newViolation(timersName, e.Invocation,
					fmt.Sprintf("%s fired at %v, but it was never armed", k, e.At), i))
			}
			if n := fired.find(k); n >= 0 {
				first := fired.vals[n]
				vs = append(vs, newViolation(timersName, e.Invocation,
					fmt.Sprintf("%s fired a second time at %v (first at %v)", k, e.At, h.Events[first].At), first, i))
				return
			}
			fired.vals[fired.insert(k)] = i // not there: one search
		}
	})

	end := h.End()
	for _, k := range armedOrder {
		due := k.deadline + TimerGrace
		if fired.has(k) || due >= end {
			continue
		}
		if d, ok := done.Lookup(k.inv); ok && h.Events[d].At < due {
			continue
		}
		vs = append(vs, newViolation(timersName, k.inv,
			fmt.Sprintf("%s never fired (the run ended at %v, past the deadline and the grace of %v)", k, end, TimerGrace),
			armed.get(k)))
	}

	sortByFirstEvent(vs)
	return vs
}

// timerState is what Timers fills for one history, kept by the index for the next's.
type timerState struct {
	armed, fired smallMap[timerKey, int] // each timer's first TimerArmed and TimerFired
	order        []timerKey              // the timers in the order first armed
}

// timerKey names one timer: repeats of a TimerArmed and its TimerFired share it.
type timerKey struct {
	inv      protocol.InvocationID
	index    uint32
	kind     event.TimerKind
	deadline time.Duration
}

func timerKeyOf(e *Event) timerKey {
	return timerKey{e.Invocation, e.Index, e.Timer, e.Deadline}
}

// String names the timer in reports, without its invocation (the violation carries that).
func (k timerKey) String() string {
	return fmt.Sprintf("%s timer [%d] due at %v", k.kind, k.index, k.deadline)
}
