package sim

import (
	"fmt"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/fakeclock"
	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/executor"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

const twinChecker = "replay-twin"

// replayTwin re-runs a handler from scratch against its journal as persisted, whenever one of
// its attempts ends (suspended, done, failed or aborted by a crash): the fresh run must issue the
// same commands and see the same values, and a finished invocation's fresh run must return the
// output its journal holds. It checks correct replay actively, under faults, at every attempt
// end — not only when a later attempt happens to replay. The twin's executor stops at the end of
// the journal, so no side effect ever runs twice because of it.
func (w *World) replayTwin(inv protocol.InvocationID) {
	if w.runtime.store == nil {
		return
	}
	p, ok, err := engine.ReadInvocation(w.runtime.store, inv)
	switch {
	case !ok:
		return // not durable (yet, or any more)
	case err != nil:
		w.twinViolation(inv, fmt.Sprintf("cannot read the persisted invocation: %v", err))
		return
	case len(p.Journal) == 0:
		w.twinViolation(inv, "the persisted invocation has no journal")
		return
	}
	j := p.Journal
	var output *journal.Entry
	if last := j[len(j)-1]; last.Kind == journal.KindOutput {
		output = &last
		j = j[:len(j)-1]
	}
	if w.twin == nil {
		// One replay-only executor serves every twin run of the world; each run is a new attempt
		// number, so the executor never takes one for a stale start of another.
		w.twin = executor.New(executor.Config{
			Services:          w.services,
			Send:              func(m protocol.Message) { w.twinSent = append(w.twinSent, m) },
			Clock:             twinClock{w},
			InactivityTimeout: func() time.Duration { return 0 },
			ReplayOnly:        true,
		})
	}
	w.twins++
	w.twinSent = w.twinSent[:0]
	// The re-run is bracketed in the history, so that what handler code records during it (a
	// side effect outside Run, say) is known to come from a replay, and a verdict can point at it.
	started := w.Record(checkers.Event{Kind: checkers.ReplayStarted, Node: "twin", Invocation: inv, Attempt: uint32(w.twins), Index: uint32(len(j))})
	outcome := "matched its journal"
	w.twin.Deliver(protocol.Message{Kind: protocol.KindStart, Invocation: inv, Attempt: uint32(w.twins), Service: p.Service, Handler: p.Handler, Key: p.Key, Journal: j})
	var problems []string
	for _, m := range w.twinSent {
		switch m.Kind {
		case protocol.KindError:
			if executor.IsNonDeterminism(m) {
				outcome = "diverged from its journal"
				problems = append(problems, "re-running the handler against its persisted journal diverged: "+m.Message)
			}
		case protocol.KindEnd:
			switch {
			case output == nil || output.Name == journal.EngineOutput:
				// The journal ends before the handler's end (the original attempt's output is
				// not durable yet), or the engine, not the handler, decided the output.
			case !m.Entry.Result.Equal(output.Result):
				outcome = "returned another output"
				problems = append(problems, fmt.Sprintf("re-running the handler against its persisted journal returned %s, the journal's output is %s", m.Entry.Result, output.Result))
			}
		}
	}
	ended := w.Record(checkers.Event{Kind: checkers.ReplayEnded, Node: "twin", Invocation: inv, Attempt: uint32(w.twins), Reason: outcome})
	for _, msg := range problems {
		w.twinViolation(inv, msg, started, ended)
	}
}

func (w *World) twinViolation(inv protocol.InvocationID, msg string, events ...int) {
	w.violations = append(w.violations, checkers.Violation{Checker: twinChecker, Invocation: inv, Message: fmt.Sprintf("at %s: %s", w.now, msg), Events: events})
}

// twinClock gives the twin the world's time; its timers never fire (the twin never waits).
type twinClock struct{ w *World }

func (c twinClock) Now() time.Time { return Epoch.Add(c.w.now) }

func (c twinClock) AfterFunc(time.Duration, func()) fakeclock.Timer { return &simTimer{stopped: true} }
