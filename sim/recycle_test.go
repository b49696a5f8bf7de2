package sim_test

import (
	"testing"

	"github.com/vigilsim/vigil/scenarios"
	"github.com/vigilsim/vigil/sim"
)

// TestRecycledTailsAreZero runs seeds of every scenario on one recycled world and checks after
// each run that the history's array is zero to its capacity: the next run takes those slots as
// new, zero events without writing them (World.newEvent), so a slot left holding a field of an
// earlier run would reach the next run's history.
func TestRecycledTailsAreZero(t *testing.T) {
	var reused sim.ReusedWorld
	for seed := uint64(1); seed <= 6; seed++ {
		for _, sc := range scenarios.All() {
			reused.Run(sc, sim.Options{Seed: seed})
			if err := reused.SpareTailsAreZero(); err != nil {
				t.Fatalf("%s seed %d: %v", sc.Name, seed, err)
			}
		}
	}
}
