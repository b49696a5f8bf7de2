package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/sim"
)

// wallLoop's workload runs an action every virtual second from 5 s on, and the action spends
// wall time in burn: a slow one keeps the run running events past any wall-clock limit, one that
// never returns leaves it stuck inside one event.
type wallLoop struct {
	w    *sim.World
	burn func()
}

func (l *wallLoop) Services() []*durable.Service { return nil }

func (l *wallLoop) Start() {
	var again func()
	again = func() {
		l.burn()
		l.w.After(time.Second, again)
	}
	l.w.After(5*time.Second, again)
}

func (l *wallLoop) Check(*checkers.History) []checkers.Violation { return nil }

func wallLoopScenario(name string, burn func()) sim.Scenario {
	return sim.Scenario{Name: name, New: func(w *sim.World) sim.Workload { return &wallLoop{w: w, burn: burn} }}
}

// sleepy spends a millisecond of wall time per virtual second: its 660 events take longer than
// the limits the tests below set.
var sleepy = wallLoopScenario("sleepy", func() { time.Sleep(time.Millisecond) })

// TestSeedTimeoutStopsARunBetweenEvents: a run still running events past its limit is stopped
// at the next one, with the simulator's verdict naming the limit.
func TestSeedTimeoutStopsARunBetweenEvents(t *testing.T) {
	// The limit leaves the run, which takes 660 ms and more, far behind; and it is long enough
	// that the grace it gives (as long as the limit) covers a busy machine's scheduling delays,
	// so the run is stopped between events rather than abandoned.
	o := runSeedWithin(sleepy, sim.Options{Seed: 4}, 250*time.Millisecond)
	require.False(t, o.abandoned)
	assert.Equal(t, sim.BoundInterrupted, o.res.Cut)
	require.Len(t, o.res.Violations, 1, "%v", o.res.Violations)
	v := o.res.Violations[0]
	assert.Equal(t, sim.PropertyBound, v.Checker)
	assert.Regexp(t, `^interrupted: seed-timeout: 250ms of wall time exceeded; cut at virtual \S+ in the \w+ phase after \d+ events \(last events run: .*call\); not judged$`, v.Message)
	assert.True(t, o.wallCut())

	fast := runSeedWithin(sleepy, sim.Options{Seed: 4, LivenessBudget: time.Second}, time.Minute)
	assert.False(t, fast.res.Failed(), "a run within its limit is judged as usual: %v", fast.res.Violations)
}

// TestSeedTimeoutAbandonsAStuckRun: a campaign whose seeds each spin forever inside one event
// fails every seed with a verdict that says where it was stuck, goes on to the next seeds, and
// exits 1. The spinning goroutines are released at the end so that no goroutine outlives the test.
func TestSeedTimeoutAbandonsAStuckRun(t *testing.T) {
	var release atomic.Bool
	var spinning sync.WaitGroup
	defer func() {
		release.Store(true)
		spinning.Wait()
	}()
	spinner := wallLoopScenario("spinner", func() {
		spinning.Add(1)
		defer spinning.Done()
		// Stuck for good, but sleeping: two abandoned busy loops would hold both Ps of a 2-core
		// machine, and on a loaded one the third seed's run could then not reach its first event
		// within the timeout (it was cut at virtual 0s instead of stuck inside an event).
		for !release.Load() {
			time.Sleep(time.Millisecond)
		}
	})

	cfg, err := parseArgs([]string{"-seeds", "3", "-parallel", "2", "-seed-timeout", "100ms"}, io.Discard)
	require.NoError(t, err)
	cfg.scenarios = []sim.Scenario{spinner}
	var buf, errs bytes.Buffer
	out := bufio.NewWriter(&buf)
	start := time.Now()
	code := campaigns(context.Background(), cfg, out, &errs)
	out.Flush()
	text := buf.String()

	assert.Equal(t, exitViolation, code, text)
	assert.Less(t, time.Since(start), 5*time.Second, "the campaign did not wait for the stuck runs")
	assert.Contains(t, text, "seed-timeout 100ms")
	for _, seed := range []string{"1", "2", "3"} {
		assert.Regexp(t, `scenario spinner seed `+seed+`: bound: seed-timeout: 100ms of wall time exceeded, `+
			`and the run did not stop within 100ms of being asked: stuck inside event \d+, due at virtual 5s in the safety phase; `+
			`its worker goroutine was abandoned, still running`, text)
	}
	assert.Contains(t, text, "FAIL: 3 violation(s) in 3 of 3 seeds")
	assert.Contains(t, text, "reproduce the first: go run ./cmd/simrun -scenario spinner -seed 1\n")
}

// TestEventCapsReachTheRunAndTheReproduceLine: the cap flags reach every run, its verdict names
// the cap, the reproduce command repeats it, and the capped run is deterministic (-twice finds
// nothing but the bound).
func TestEventCapsReachTheRunAndTheReproduceLine(t *testing.T) {
	code, out, errs := simrun(t, "-scenario", "approval", "-seeds", "2", "-max-events", "40", "-twice")
	require.Equal(t, exitViolation, code, errs)
	assert.Contains(t, out, ", max-events 40")
	assert.Contains(t, out, "scenario approval seed 1: 1 violation(s)\n  plan: ")
	assert.Regexp(t, `  - bound: max-events: 40 events in the run; cut at virtual \S+ in the safety phase after 40 events \(last events run: [^)]+\); liveness and the scenario's checks skipped`, out)
	assert.Contains(t, out, "reproduce the first: go run ./cmd/simrun -scenario approval -seed 1 -max-events 40\n")
	assert.NotContains(t, out, "determinism")

	code, out, _ = simrun(t, "-scenario", "approval", "-seed", "1", "-max-events-per-instant", "2")
	require.Equal(t, exitViolation, code)
	assert.Contains(t, out, "budget 1m0s, liveness 10m0s, max-events-per-instant 2\n")
	assert.Contains(t, out, "bound: max-events-per-instant: 2 events at virtual ")
	assert.Contains(t, out, "reproduce: go run ./cmd/simrun -scenario approval -seed 1 -max-events-per-instant 2\n")
}

// flaky hangs every second time it runs in this process, as a workload reading a package
// variable might.
var flakyRuns atomic.Int64

// TestTwiceDoesNotBlameAWallCut: when the second run of -twice is cut by the wall-clock limit,
// the seed fails with that run's bound, not with a determinism violation.
func TestTwiceDoesNotBlameAWallCut(t *testing.T) {
	flaky := sim.Scenario{Name: "flaky", New: func(w *sim.World) sim.Workload {
		burn := func() {}
		if flakyRuns.Add(1)%2 == 0 {
			burn = func() { time.Sleep(time.Millisecond) }
		}
		return &wallLoop{w: w, burn: burn}
	}}
	flakyRuns.Store(0)
	opts := sim.Options{Seed: 2}
	o := runSeedWithin(flaky, opts, 50*time.Millisecond)
	require.False(t, o.res.Failed(), "%v", o.res.Violations)
	checkTwice(flaky, opts, 50*time.Millisecond, &o)
	require.Len(t, o.res.Violations, 1)
	assert.Equal(t, sim.PropertyBound, o.res.Violations[0].Checker)
	assert.True(t, strings.HasPrefix(o.res.Violations[0].Message, "the second run: interrupted: seed-timeout: 50ms"), o.res.Violations[0].Message)
}
