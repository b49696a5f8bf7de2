package sim_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/faults"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/executor"
	"github.com/vigilsim/vigil/sim"
)

// flaky has a non-deterministic handler: it journals a different command each time it runs, as
// a handler that branches on a global counter or the wall clock would.
type flaky struct {
	w    *sim.World
	runs int
}

func (f *flaky) Services() []*durable.Service {
	return []*durable.Service{durable.NewService("Flaky").Handler("go", durable.NewServiceHandler(
		func(ctx durable.Context, _ struct{}) (string, error) {
			f.runs++
			return durable.Run(ctx, func(durable.RunContext) (string, error) { return "x", nil },
				durable.WithName([]string{"even", "odd"}[f.runs%2]))
		}))}
}

func (f *flaky) Start() {
	f.w.HTTP("client", http.MethodPost, "/Flaky/go", []byte(`{}`), nil, func(sim.Response) {})
}

func (f *flaky) Check(*checkers.History) []checkers.Violation { return nil }

// TestReplayTwinCatchesNonDeterminism shows the replay twin failing: without any fault, no real
// attempt ever replays, yet re-running the handler against its persisted journal at the end of
// the first attempt exposes the divergence.
func TestReplayTwinCatchesNonDeterminism(t *testing.T) {
	sc := sim.Scenario{Name: "flaky", Description: "non-deterministic handler", New: func(w *sim.World) sim.Workload { return &flaky{w: w} }}
	plan := faults.None()
	r := sim.RunSeed(sc, sim.Options{Seed: 1, Plan: &plan})
	var twin []string
	for _, v := range r.Violations {
		if v.Checker == "replay-twin" {
			twin = append(twin, v.Message)
		}
	}
	require.NotEmpty(t, twin, "%v", r.Violations)
	require.Contains(t, twin[0], "diverged")
}

// drifting is a workload whose first run differs from every later one, as a workload that reads
// a package variable or the wall clock would.
type drifting struct{ flaky }

var driftRuns int

func (d *drifting) Start() {
	driftRuns++
	for range 1 + driftRuns%2 {
		d.flaky.Start()
	}
}

// fatalRecorder stands in for a *testing.T to see whether a check fails.
type fatalRecorder struct {
	testing.TB
	failed bool
}

func (r *fatalRecorder) Helper()               {}
func (r *fatalRecorder) Fatalf(string, ...any) { r.failed = true }

func TestCheckDeterminismFails(t *testing.T) {
	sc := sim.Scenario{Name: "drifting", Description: "not a function of its seed", New: func(w *sim.World) sim.Workload {
		return &drifting{flaky: flaky{w: w}}
	}}
	plan := faults.None()
	r := &fatalRecorder{TB: t}
	sim.CheckDeterminism(r, sc, sim.CheckOptions{Seeds: 2, Options: sim.Options{Plan: &plan}})
	require.True(t, r.failed, "two runs of one seed differed, and the check did not say so")
}

// napper is a workload whose code is redeployed under a sleeping invocation: version 1 sleeps
// 5 s, version 2 sleeps 6 s (another command at index 1), and version 1 comes back later.
type napper struct{ w *sim.World }

func nap(d time.Duration, out string) []*durable.Service {
	return []*durable.Service{durable.NewService("Nap").Handler("nap", durable.NewServiceHandler(
		func(ctx durable.Context, _ struct{}) (string, error) {
			if err := durable.Sleep(ctx, d); err != nil {
				return "", err
			}
			return out, nil
		}))}
}

func (n *napper) Services() []*durable.Service { return nap(5*time.Second, "v1") }

func (n *napper) Start() {
	n.w.HTTP("client", http.MethodPost, "/Nap/nap", []byte(`{}`), nil, func(sim.Response) {})
	n.w.After(time.Second, func() { n.w.Deploy(nap(6*time.Second, "v2")) })
	n.w.After(9*time.Second, func() { n.w.Deploy(nap(5*time.Second, "v1")) })
}

func (n *napper) Check(*checkers.History) []checkers.Violation { return nil }

// TestReplayTwinAcceptsAnEarlierVersionsJournal shows the multi-version rule passing a correct
// run: version 2 cannot replay the journal version 1 wrote (the executor fails its attempts
// with non-determinism errors), yet the journal is correct, since version 1 replays all of it,
// and once version 1 is back the invocation finishes with its output.
func TestReplayTwinAcceptsAnEarlierVersionsJournal(t *testing.T) {
	sc := sim.Scenario{Name: "napper", Description: "a redeployment that sleeps longer", New: func(w *sim.World) sim.Workload { return &napper{w: w} }}
	plan := faults.None()
	r := sim.RunSeed(sc, sim.Options{Seed: 1, Plan: &plan})
	require.Empty(t, r.Violations)
	require.Positive(t, r.Coverage[executor.PointNonDeterminism], "version 2 never replayed version 1's journal")
	require.Positive(t, r.Coverage[sim.CoverTwinEarlierVersion], "the twin never judged a journal by an earlier version")
}
