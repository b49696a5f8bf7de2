package sim_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigilsim/vigil/scenarios"
	"github.com/vigilsim/vigil/sim"
)

// runSummary is what must not depend on whether a run's world was reused: the trace hash (the
// whole history), the counts, the coverage and every verdict.
type runSummary struct {
	Hash        string
	Events      uint64
	Invocations int
	Requests    uint64
	Virtual     string
	Busiest     int
	Coverage    map[sim.Point]uint64
	Violations  []string
	Cut         sim.Bound
}

func summarize(r *sim.Result) runSummary {
	s := runSummary{
		Hash: fmt.Sprintf("%016x", r.TraceHash), Events: r.Events, Invocations: r.Invocations, Requests: r.Requests,
		Virtual: r.Virtual.String(), Busiest: r.BusiestInstantEvents, Coverage: r.Coverage, Cut: r.Cut,
	}
	for _, v := range r.Violations {
		s.Violations = append(s.Violations, v.String())
	}
	return s
}

// TestReusedWorldRunsAsFresh runs seeds 1..50 of every scenario in one world, recycled between
// runs, with the scenarios interleaved so that each run follows another scenario's (and a
// history kept by a Result every few runs, a run cut short by its event cap every few more), and
// each again on a world made from nothing: every run must be the same. Nothing of an earlier run
// may leak into the next, through the queue, the history, the link log, the store or a map.
func TestReusedWorldRunsAsFresh(t *testing.T) {
	seeds := uint64(50)
	if testing.Short() {
		seeds = 5
	}
	var reused sim.ReusedWorld
	n := 0
	for seed := uint64(1); seed <= seeds; seed++ {
		for _, sc := range scenarios.All() {
			n++
			opts := sim.Options{Seed: seed, KeepHistory: n%7 == 0}
			if n%11 == 0 {
				opts.MaxEvents = 150 // a run cut short leaves events queued and a node mid-batch
			}
			got := summarize(reused.Run(sc, opts))
			want := summarize(sim.RunSeedFresh(sc, opts))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("%s seed %d: the reused world's run differs from a fresh world's (-fresh +reused):\n%s", sc.Name, seed, diff)
			}
		}
	}
}

// TestRunSeedKeptHistorySurvivesReuse checks that a history a Result keeps is its own: later runs
// on the recycled world (RunSeed pools it) must not change it.
func TestRunSeedKeptHistorySurvivesReuse(t *testing.T) {
	all := scenarios.All()
	first := sim.RunSeed(all[0], sim.Options{Seed: 3, KeepHistory: true})
	before := fmt.Sprint(first.History.Events)
	for i, sc := range all {
		sim.RunSeed(sc, sim.Options{Seed: uint64(10 + i)})
	}
	if after := fmt.Sprint(first.History.Events); after != before {
		t.Fatalf("a kept history changed after later runs reused its world")
	}
}
