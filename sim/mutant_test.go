//go:build vigil_mutants

package sim_test

import (
	"testing"

	"github.com/vigilsim/vigil/runtime/mutant"
	"github.com/vigilsim/vigil/scenarios"
	"github.com/vigilsim/vigil/sim"
)

// mutantSeedBudget bounds the hunt for each mutant: every scenario for each seed in turn.
const mutantSeedBudget = 200

// TestPlantedBugsAreCaught plants every mutant of the catalogue in turn and requires the default
// campaign (every scenario, seed after seed) to catch it within the budget.
func TestPlantedBugsAreCaught(t *testing.T) {
	for _, id := range mutant.All() {
		t.Run(id.String(), func(t *testing.T) {
			mutant.Plant(id)
			defer mutant.Plant(mutant.None)
			for seed := uint64(1); seed <= mutantSeedBudget; seed++ {
				for _, sc := range scenarios.All() {
					r := sim.RunSeed(sc, sim.Options{Seed: seed})
					if r.Failed() {
						t.Logf("mutant %s caught at seed %d of %s by %s", id, seed, sc.Name, r.Violations[0].Checker)
						return
					}
				}
			}
			t.Fatalf("mutant %s escaped %d seeds of every scenario", id, mutantSeedBudget)
		})
	}
}
