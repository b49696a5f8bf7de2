package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/scenarios"
	"github.com/vigilsim/vigil/sim"
	"github.com/vigilsim/vigil/sim/report"
)

// forcedToFail wraps the approval scenario so that every run fails: its check adds a violation
// naming the first attempt the run started.
func forcedToFail(t *testing.T) sim.Scenario {
	t.Helper()
	sc, ok := scenarios.Lookup("approval")
	require.True(t, ok)
	inner := sc.New
	sc.Name = "forced"
	sc.New = func(w *sim.World) sim.Workload { return &forcedWorkload{inner(w)} }
	return sc
}

type forcedWorkload struct{ sim.Workload }

func (f *forcedWorkload) Check(h *checkers.History) []checkers.Violation {
	for i, e := range h.Events {
		if e.Kind == checkers.AttemptStarted {
			return []checkers.Violation{{Checker: "forced", Invocation: e.Invocation, Message: "forced to fail at its first attempt", Events: []int{i}}}
		}
	}
	return []checkers.Violation{{Checker: "forced", Message: "forced to fail"}}
}

// TestArtifactsOfAFailingSeed writes the artifacts of a seed forced to fail the way a campaign
// does, and validates them: trace.json in the trace-event format, the summary with the seed,
// the commit, the plan, the violation with its event and the reproduce command.
func TestArtifactsOfAFailingSeed(t *testing.T) {
	root := t.TempDir()
	cfg := &config{budget: 20 * time.Second, liveness: defaultLiveness, artifacts: root}
	o := runSeed(forcedToFail(t), cfg.options(5))
	require.True(t, o.res.Failed())

	var b strings.Builder
	cfg.writeArtifacts(&b, o)
	dir := filepath.Join(root, "forced-5")
	assert.Equal(t, "  artifacts: "+dir+"\n", b.String())

	trace, err := os.ReadFile(filepath.Join(dir, report.TraceFile))
	require.NoError(t, err)
	phases, err := report.ValidateTrace(trace)
	require.NoError(t, err)
	assert.Positive(t, phases["X"], "attempts as slices")
	assert.Positive(t, phases["i"], "events as instants")

	summary, err := os.ReadFile(filepath.Join(dir, report.SummaryFile))
	require.NoError(t, err)
	for _, want := range []string{"scenario:  forced\n", "seed:      5\n", "commit:    ", "plan:      runtime-crash-every=",
		"reproduce: go run ./cmd/simrun -scenario forced -seed 5 -budget 20s\n", "shrink:    ",
		"property forced, invocation inv_", "forced to fail at its first attempt", "attempt-started"} {
		assert.Contains(t, string(summary), want)
	}
	page, err := os.ReadFile(filepath.Join(dir, report.HTMLFile))
	require.NoError(t, err)
	assert.Contains(t, string(page), "forced to fail at its first attempt")
}

// TestArtifactsOnlyForFailingSeeds: a passing -seed run writes nothing, and without the flag
// nothing is written either.
func TestArtifactsOnlyForFailingSeeds(t *testing.T) {
	root := t.TempDir()
	code, out, errs := simrun(t, "-scenario", "approval", "-seed", "1", "-faults", "none", "-budget", "10s", "-artifacts", root)
	require.Equal(t, exitOK, code, out)
	assert.NotContains(t, errs, "artifacts:")
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	assert.Empty(t, entries)

	cfg := &config{budget: 20 * time.Second, liveness: defaultLiveness}
	var b strings.Builder
	cfg.writeArtifacts(&b, runSeed(forcedToFail(t), cfg.options(5)))
	assert.Empty(t, b.String())
}

// TestArtifactsOfAPanic: a seed that panicked has no history, yet gets its three files, with the
// stack in the summary.
func TestArtifactsOfAPanic(t *testing.T) {
	root := t.TempDir()
	boom := sim.Scenario{Name: "boom", New: func(*sim.World) sim.Workload { panic("boom") }}
	cfg := &config{budget: defaultBudget, liveness: defaultLiveness, artifacts: root}
	var b strings.Builder
	cfg.writeArtifacts(&b, runSeed(boom, sim.Options{Seed: 9}))
	summary, err := os.ReadFile(filepath.Join(root, "boom-9", report.SummaryFile))
	require.NoError(t, err)
	assert.Contains(t, string(summary), "property panic\n   boom\n")
	assert.Contains(t, string(summary), "the run panicked")
	assert.Contains(t, string(summary), "plan:      (not known: the run did not finish)")
	trace, err := os.ReadFile(filepath.Join(root, "boom-9", report.TraceFile))
	require.NoError(t, err)
	_, err = report.ValidateTrace(trace)
	assert.NoError(t, err)
}
