package sim_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/faults"
	"github.com/vigilsim/vigil/runtime/executor"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/scenarios/approval"
	"github.com/vigilsim/vigil/sim"
)

// crashy is a plan in which both nodes crash often and writes sit unsynced for a while, so that
// every test run exercises recovery.
var crashy = faults.Plan{
	RuntimeCrashEvery:    2 * time.Second,
	ExecutorCrashEvery:   2 * time.Second,
	DowntimeMax:          time.Second,
	LinkDelayMax:         100 * time.Millisecond,
	SyncDelayMax:         20 * time.Millisecond,
	SuspendAtOncePercent: 30,
	InactivityMax:        2 * time.Second,
}

func TestApprovalSwarm(t *testing.T) {
	sim.Check(t, approval.Scenario, sim.CheckOptions{Seeds: 300})
}

func TestApprovalUnderCrashes(t *testing.T) {
	sim.Check(t, approval.Scenario, sim.CheckOptions{Seeds: 200, FirstSeed: 10_000, Options: sim.Options{Plan: &crashy}})
}

func TestApprovalRapid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) { sim.CheckRapid(t, approval.Scenario) })
}

// TestCrashesHappen guards the tests above against a simulator that silently stopped injecting
// faults: under the crashy plan, crashes, restarts and lost unsynced batches must all occur.
func TestCrashesHappen(t *testing.T) {
	var crashes, restarts, attempts int
	for seed := uint64(1); seed <= 20; seed++ {
		r := sim.RunSeed(approval.Scenario, sim.Options{Seed: seed, Plan: &crashy, KeepHistory: true})
		require.False(t, r.Failed(), "seed %d", seed)
		for _, e := range r.History.Events {
			switch e.Kind {
			case checkers.NodeCrashed:
				crashes++
			case checkers.NodeRestarted:
				restarts++
			case checkers.AttemptStarted:
				attempts++
			}
		}
	}
	require.Greater(t, crashes, 100)
	require.Greater(t, restarts, 100)
	require.Greater(t, attempts, 200)
}

func TestDeterminism(t *testing.T) {
	hashes := make([]uint64, 200)
	for i := range hashes {
		hashes[i] = sim.RunSeed(approval.Scenario, sim.Options{Seed: uint64(i)}).TraceHash
	}
	for i := range hashes {
		again := sim.RunSeed(approval.Scenario, sim.Options{Seed: uint64(i)}).TraceHash
		require.Equal(t, hashes[i], again, "seed %d: trace hash differs between two runs in one process", i)
	}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	for i := range 50 {
		again := sim.RunSeed(approval.Scenario, sim.Options{Seed: uint64(i)}).TraceHash
		require.Equal(t, hashes[i], again, "seed %d: trace hash differs under GOMAXPROCS=1", i)
	}
}

func TestDifferentSeedsDiffer(t *testing.T) {
	seen := map[uint64]uint64{}
	for seed := uint64(0); seed < 50; seed++ {
		h := sim.RunSeed(approval.Scenario, sim.Options{Seed: seed}).TraceHash
		if other, dup := seen[h]; dup {
			t.Fatalf("seeds %d and %d give the same trace hash %x", other, seed, h)
		}
		seen[h] = seed
	}
}

// TestNoCoroutineOutlivesTheWorld runs worlds whose executor crashes mid-attempt and whose
// handlers are parked when the run ends; no handler coroutine may be left behind. The waiting
// workers the runs keep for later runs hold no handler (executor.StopKeptWorkers); they are
// ended first, so that what is found is a handler's coroutine.
func TestNoCoroutineOutlivesTheWorld(t *testing.T) {
	defer func() {
		executor.StopKeptWorkers()
		goleak.VerifyNone(t)
	}()
	plan := crashy
	plan.InactivityMax = time.Hour // keep attempts parked, not suspended
	plan.SuspendAtOncePercent = 0
	for seed := uint64(1); seed <= 30; seed++ {
		sim.RunSeed(approval.Scenario, sim.Options{Seed: seed, Plan: &plan, SafetyBudget: 5 * time.Second, LivenessBudget: time.Second})
	}
}

func BenchmarkApproval(b *testing.B) {
	var events uint64
	seed := uint64(0)
	start := time.Now()
	var virtual time.Duration
	for b.Loop() {
		seed++
		r := sim.RunSeed(approval.Scenario, sim.Options{Seed: seed})
		events += r.Events
		virtual += r.Virtual
	}
	wall := time.Since(start).Seconds()
	b.ReportMetric(float64(events)/wall, "events/s")
	b.ReportMetric(float64(seed)/wall, "seeds/s")
	b.ReportMetric(virtual.Seconds()/wall, "virtual/wall")
}

// TestClockStepsHappen guards the clock faults: with the runtime's wall clock stepping back and
// forth, timers arrive before their deadline by that clock and the engine arms them again.
func TestClockStepsHappen(t *testing.T) {
	plan := crashy
	plan.ClockSkewMax = 5 * time.Second
	plan.ClockStepEvery = 2 * time.Second
	var steps int
	var rearmed uint64
	for seed := uint64(1); seed <= 20; seed++ {
		r := sim.RunSeed(keyedSmokeScenario, sim.Options{Seed: seed, Plan: &plan, KeepHistory: true})
		require.False(t, r.Failed(), "seed %d: %v", seed, r.Violations)
		for _, e := range r.History.Events {
			if e.Kind == checkers.ClockStepped {
				steps++
			}
		}
		rearmed += r.Coverage["timer-delivered-early-rearmed"]
	}
	require.Greater(t, steps, 100)
	require.Positive(t, rearmed)
}

// A report prints one violation per property and invocation, with how many more there were;
// violations without an invocation are never folded together.
func TestReportGroupsDuplicates(t *testing.T) {
	inv := protocol.InvocationID{15: 1}
	r := &sim.Result{Scenario: "approval", Seed: 7, Violations: []checkers.Violation{
		{Checker: "replay-twin", Invocation: inv, Message: "diverged at 1s"},
		{Checker: "outputs", Invocation: inv, Message: "two outputs"},
		{Checker: "replay-twin", Invocation: inv, Message: "diverged at 2s"},
		{Checker: "replay-twin", Invocation: inv, Message: "diverged at 3s"},
		{Checker: "liveness", Message: "a"},
		{Checker: "liveness", Message: "b"},
	}}
	var b strings.Builder
	r.Report(&b, false)
	out := b.String()
	assert.Contains(t, out, "6 violation(s)")
	assert.Equal(t, 1, strings.Count(out, "diverged at 1s"))
	assert.Contains(t, out, "(+2 more replay-twin violation(s) of the same invocation; the last: diverged at 3s)")
	assert.Contains(t, out, "two outputs")
	assert.Contains(t, out, "liveness: a")
	assert.Contains(t, out, "liveness: b")
}
