package sim_test

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/scenarios"
	"github.com/vigilsim/vigil/sim"
)

// looping is a livelocked workload: from virtual time from on, an action that schedules itself
// again every period, forever. With period zero virtual time never advances.
type looping struct {
	w            *sim.World
	from, period time.Duration
}

func (l *looping) Services() []*durable.Service { return nil }

func (l *looping) Start() {
	var again func()
	again = func() { l.w.After(l.period, again) }
	l.w.After(l.from, again)
}

func (l *looping) Check(*checkers.History) []checkers.Violation { return nil }

func loopingScenario(from, period time.Duration) sim.Scenario {
	return sim.Scenario{Name: "looping", Description: "schedules itself forever", New: func(w *sim.World) sim.Workload {
		return &looping{w: w, from: from, period: period}
	}}
}

// boundVerdict returns the run's only violation, which must be the bound's.
func boundVerdict(t *testing.T, r *sim.Result) string {
	t.Helper()
	require.Len(t, r.Violations, 1, "%v", r.Violations)
	require.Equal(t, sim.PropertyBound, r.Violations[0].Checker)
	return r.Violations[0].Message
}

// TestLivelockHitsTheBound makes each cap fire in each phase and checks that the verdict names
// the bound, its value, the virtual time, the phase and the last events run.
func TestLivelockHitsTheBound(t *testing.T) {
	tests := []struct {
		name         string
		from, period time.Duration
		opts         sim.Options
		bound        sim.Bound
		want         []string
	}{
		{"one instant, safety", 5 * time.Second, 0, sim.Options{MaxEventsPerInstant: 1000},
			sim.BoundEventsPerInstant, []string{"max-events-per-instant: 1000 events at virtual 5s without time advancing", "in the safety phase"}},
		{"one instant, heal", time.Minute, 0, sim.Options{MaxEventsPerInstant: 1000},
			sim.BoundEventsPerInstant, []string{"max-events-per-instant: 1000 events at virtual 1m0s", "in the heal phase"}},
		{"one instant, liveness", 2 * time.Minute, 0, sim.Options{MaxEventsPerInstant: 1000},
			sim.BoundEventsPerInstant, []string{"at virtual 2m0s", "in the liveness phase"}},
		{"advancing time", 0, time.Millisecond, sim.Options{MaxEvents: 5000},
			sim.BoundEvents, []string{"max-events: 5000 events in the run", "cut at virtual 4.999s in the safety phase after 5000 events"}},
		{"default per-instant cap", 0, 0, sim.Options{},
			sim.BoundEventsPerInstant, []string{"max-events-per-instant: 100000 events at virtual 0s"}},
		{"default event cap", 0, 100 * time.Microsecond, sim.Options{},
			sim.BoundEvents, []string{"max-events: 1000000 events in the run", "in the liveness phase"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Seed = 3
			r := sim.RunSeed(loopingScenario(tt.from, tt.period), opts)
			assert.Equal(t, tt.bound, r.Cut)
			msg := boundVerdict(t, r)
			for _, s := range tt.want {
				assert.Contains(t, msg, s)
			}
			assert.Contains(t, msg, "last events run: call, call, call")
			assert.Contains(t, r.Violations[0].String(), "bound: "+tt.bound.String()+": ")

			again := sim.RunSeed(loopingScenario(tt.from, tt.period), opts)
			assert.Equal(t, r.TraceHash, again.TraceHash, "same seed, same trace")
			assert.Equal(t, r.Violations, again.Violations, "same seed, same verdict")
		})
	}
}

// TestInterruptCutsTheRun shows the hook stopping a run between events, with the hook's error in
// the verdict, and the hook seeing every event's progress in order.
func TestInterruptCutsTheRun(t *testing.T) {
	var seen []sim.Progress
	opts := sim.Options{Seed: 1, Interrupt: func(p sim.Progress) error {
		seen = append(seen, p)
		if p.Events == 300 {
			return errors.New("enough, says the test")
		}
		return nil
	}}
	r := sim.RunSeed(loopingScenario(0, time.Second), opts)
	assert.Equal(t, sim.BoundInterrupted, r.Cut)
	msg := boundVerdict(t, r)
	assert.Regexp(t, `^interrupted: enough, says the test; cut at virtual \S+ in the liveness phase after 300 events`, msg)
	require.Len(t, seen, 301)
	for i, p := range seen {
		assert.Equal(t, uint64(i), p.Events)
	}
	assert.Equal(t, sim.PhaseSafety, seen[1].Phase)
}

// TestInterruptWhileJudging shows that the hook is asked once more before the checkers run, so
// that a driver's limit also covers a run whose events are done.
func TestInterruptWhileJudging(t *testing.T) {
	sc := scenarios.All()[0]
	r := sim.RunSeed(sc, sim.Options{Seed: 1, Interrupt: func(p sim.Progress) error {
		if p.Phase == sim.PhaseJudging {
			return errors.New("out of time")
		}
		return nil
	}})
	assert.Equal(t, sim.BoundInterrupted, r.Cut)
	assert.Contains(t, boundVerdict(t, r), "interrupted: out of time; cut at virtual")
	assert.Contains(t, r.Violations[0].Message, "in the judging phase")
}

// TestHealthyRunsAreNotCut checks that a hook that never interrupts changes nothing: same trace
// hash, same events, no cut.
func TestHealthyRunsAreNotCut(t *testing.T) {
	for _, sc := range scenarios.All() {
		plain := sim.RunSeed(sc, sim.Options{Seed: 5})
		hooked := sim.RunSeed(sc, sim.Options{Seed: 5, Interrupt: func(sim.Progress) error { return nil }})
		assert.Equal(t, sim.BoundNone, plain.Cut, sc.Name)
		assert.Equal(t, plain.TraceHash, hooked.TraceHash, sc.Name)
		assert.Equal(t, plain.Events, hooked.Events, sc.Name)
		assert.Positive(t, plain.BusiestInstantEvents, sc.Name)
	}
}

var headroomSeeds = flag.Int("headroom-seeds", 20, "seeds per scenario that TestBoundsHeadroom measures")

// TestBoundsHeadroom measures the most events of a run, and at one instant, over the first seeds
// of every scenario, and fails when a healthy seed comes within a tenth of a default cap. The
// defaults' comment quotes its figures over 500 seeds:
//
//	go test ./sim -run TestBoundsHeadroom -v -headroom-seeds 500
func TestBoundsHeadroom(t *testing.T) {
	var lines []string
	for _, sc := range scenarios.All() {
		var events uint64
		var instant int
		for seed := uint64(1); seed <= uint64(*headroomSeeds); seed++ {
			r := sim.RunSeed(sc, sim.Options{Seed: seed})
			require.Equal(t, sim.BoundNone, r.Cut, "%s seed %d: %v", sc.Name, seed, r.Violations)
			events = max(events, r.Events)
			instant = max(instant, r.BusiestInstantEvents)
		}
		lines = append(lines, fmt.Sprintf("%-22s max events per run %7d, max events at one instant %5d", sc.Name, events, instant))
		assert.Less(t, events, uint64(sim.DefaultMaxEvents/10), sc.Name)
		assert.Less(t, instant, sim.DefaultMaxEventsPerInstant/10, sc.Name)
	}
	t.Logf("over seeds 1..%d:\n%s", *headroomSeeds, strings.Join(lines, "\n"))
}
