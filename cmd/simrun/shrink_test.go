package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/scenarios"
	"github.com/vigilsim/vigil/sim"
)

// thresholdLabel labels the draw that thresholdScenario's property depends on.
const thresholdLabel = "threshold-test"

// thresholdScenario is the approval workload judged by one property alone: it fails when a
// draw in [0, 1000) is at least 100. Zeroing that draw passes, so only lowering can shrink it,
// and the least failing value is known.
func thresholdScenario(t *testing.T) sim.Scenario {
	t.Helper()
	sc, ok := scenarios.Lookup("approval")
	require.True(t, ok)
	inner := sc.New
	sc.Name = "threshold"
	sc.New = func(w *sim.World) sim.Workload {
		x := w.Rand().Intn(1000, thresholdLabel)
		return &thresholdWorkload{Workload: inner(w), x: x}
	}
	return sc
}

type thresholdWorkload struct {
	sim.Workload
	x int
}

func (w *thresholdWorkload) Check(*checkers.History) []checkers.Violation {
	if w.x >= 100 {
		return []checkers.Violation{{Checker: "threshold", Message: "the draw is at least 100"}}
	}
	return nil
}

// shrinkerFor records seed's run of sc and returns the shrinker of its tape that -shrink uses.
func shrinkerFor(t *testing.T, sc sim.Scenario, seed uint64) *shrinker {
	t.Helper()
	opts := sim.Options{Seed: seed, SafetyBudget: 10 * time.Second}
	orig := &sim.Tape{}
	opts.Record = orig
	o := runSeed(sc, opts)
	require.True(t, o.res.Failed())
	return newShrinker(sc, opts, orig, o.res)
}

func thresholdDraw(t *testing.T, tape *sim.Tape) uint64 {
	t.Helper()
	for _, d := range tape.Draws {
		if d.Label == thresholdLabel {
			return d.Value
		}
	}
	t.Fatalf("no %s draw on the tape", thresholdLabel)
	return 0
}

// The draw the property needs cannot be zeroed; lowering brings it down to within its
// bisection's precision of the least value that fails (100).
func TestShrinkLowersValues(t *testing.T) {
	sc := thresholdScenario(t)
	var s *shrinker
	for seed := uint64(1); ; seed++ {
		require.Less(t, seed, uint64(20), "no seed of the first 20 drew 100 or more")
		rec := &sim.Tape{}
		if r := sim.RunSeed(sc, sim.Options{Seed: seed, SafetyBudget: 10 * time.Second, Record: rec}); r.Failed() {
			s = shrinkerFor(t, sc, seed)
			break
		}
	}
	before := thresholdDraw(t, s.best)
	require.GreaterOrEqual(t, before, uint64(100))
	s.run()

	after := thresholdDraw(t, s.best)
	assert.GreaterOrEqual(t, after, uint64(100), "the shrunk tape still fails")
	// One try of 1, then seven halvings of [1, before): within before/128 of 100.
	assert.LessOrEqual(t, after, 100+before/64, "lowered from %d", before)
	assert.Positive(t, s.lowered)
	assert.LessOrEqual(t, s.lowerTries, shrinkLowerTries*len(s.best.Draws)+shrinkLowerTries)
	assert.True(t, breaks(s.bestRes, "threshold"))

	// The shrunk tape replays to the run the shrinker kept.
	again := sim.RunSeed(sc, sim.Options{Seed: s.best.Seed, SafetyBudget: 10 * time.Second, Source: s.best.Replay()})
	assert.Equal(t, s.bestRes.TraceHash, again.TraceHash)
}

func TestSimplerOrdersTapes(t *testing.T) {
	tape := func(vs ...uint64) *sim.Tape {
		t := &sim.Tape{}
		for _, v := range vs {
			t.Draws = append(t.Draws, sim.TapeDraw{N: 1000, Value: v})
		}
		return t
	}
	assert.True(t, simpler(tape(0, 5), tape(3, 5)), "fewer non-zero draws")
	assert.True(t, simpler(tape(9, 9), tape(1, 1, 1)), "as many non-zero, fewer draws")
	assert.True(t, simpler(tape(2, 900), tape(3, 1)), "the first difference decides")
	assert.False(t, simpler(tape(2, 5), tape(2, 5)), "not simpler than itself")
	assert.False(t, simpler(tape(3, 1), tape(2, 900)))
}
