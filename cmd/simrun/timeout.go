package main

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/sim"
)

// The wall-clock limit of a seed lives here, at the edge, because the simulator must never read
// the clock: a run is deterministic only if nothing but its seed decides what it does. The
// simulator offers a hook instead (sim.Options.Interrupt) that it asks before every event; the
// watch below answers it from a flag that a timer sets.
//
// That stops a run that keeps running events past the limit. It cannot stop a run stuck inside
// one event (an infinite loop in a handler, the runtime or a checker): Go cannot kill a
// goroutine. Such a seed fails with a verdict that says so, its goroutine is abandoned still
// running, and the campaign goes on without it; the process's exit ends it.

// seedWatch is one seed's wall-clock limit as the run's Interrupt hook sees it. It also keeps
// the last progress the run reported, to say where a run that stopped answering was stuck.
type seedWatch struct {
	limit   time.Duration
	expired atomic.Bool
	events  atomic.Uint64
	virtual atomic.Int64
	phase   atomic.Uint32
}

// interrupt is the run's Interrupt hook.
func (w *seedWatch) interrupt(p sim.Progress) error {
	w.events.Store(p.Events)
	w.virtual.Store(int64(p.Virtual))
	w.phase.Store(uint32(p.Phase))
	if w.expired.Load() {
		return fmt.Errorf("seed-timeout: %s of wall time exceeded", w.limit)
	}
	return nil
}

// stuckGrace is how long a run may take to stop once its limit has passed: a run that is still
// running events stops at the next one, within microseconds; one that has not stopped after this
// is stuck inside an event.
func stuckGrace(limit time.Duration) time.Duration { return min(limit, time.Second) }

// runSeedWithin runs one seed like runSeed, but fails it when it takes more than limit of wall
// time (no limit when limit is 0). A run still running events is stopped at the next one and
// reports a "bound" violation from the simulator; a run that does not stop within stuckGrace is
// abandoned, and the outcome says where it was stuck.
func runSeedWithin(sc sim.Scenario, opts sim.Options, limit time.Duration) outcome {
	if limit <= 0 {
		return runSeed(sc, opts)
	}
	watch := &seedWatch{limit: limit}
	opts.Interrupt = watch.interrupt
	done := make(chan outcome, 1) // buffered: an abandoned run can still finish and exit
	go func() { done <- runSeed(sc, opts) }()

	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case o := <-done:
		return o
	case <-timer.C:
	}
	watch.expired.Store(true)
	grace := stuckGrace(limit)
	timer.Reset(grace)
	select {
	case o := <-done:
		return o
	case <-timer.C:
	}
	return watch.abandoned(sc, opts.Seed, grace)
}

// abandoned is the outcome of a run that did not stop within grace of being asked to.
func (w *seedWatch) abandoned(sc sim.Scenario, seed uint64, grace time.Duration) outcome {
	events, virtual := w.events.Load(), time.Duration(w.virtual.Load())
	var where string
	switch phase := sim.Phase(w.phase.Load()); phase {
	case 0: // the hook was never asked
		where = "before its first event, building the world or starting the workload"
	case sim.PhaseJudging:
		where = fmt.Sprintf("in the checkers, after %d events and %s virtual", events, virtual)
	default:
		where = fmt.Sprintf("inside event %d, due at virtual %s in the %s phase", events+1, virtual, phase)
	}
	msg := fmt.Sprintf("seed-timeout: %s of wall time exceeded, and the run did not stop within %s of being asked: "+
		"stuck %s; its worker goroutine was abandoned, still running", w.limit, grace, where)
	return outcome{
		res:       &sim.Result{Scenario: sc.Name, Seed: seed, Cut: sim.BoundInterrupted, Violations: []checkers.Violation{{Checker: sim.PropertyBound, Message: msg}}},
		abandoned: true,
	}
}

// wallCut reports whether a wall-clock limit, not the seed, ended the run: such a run does not
// reproduce, and two of them differing is no determinism failure.
func (o outcome) wallCut() bool { return o.abandoned || o.res.Cut == sim.BoundInterrupted }
