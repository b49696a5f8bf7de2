package sim_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/vigilsim/vigil/scenarios/approval"
	"github.com/vigilsim/vigil/sim"
)

func TestDebugSeed(t *testing.T) {
	seed := uint64(79)
	filter := os.Getenv("INV")
	r := sim.RunSeed(approval.Scenario, sim.Options{Seed: seed, KeepHistory: true})
	for i, e := range r.History.Events {
		s := e.String()
		if filter == "" || strings.Contains(s, filter) || e.Kind >= 11 {
			fmt.Printf("#%d %s\n", i, s)
		}
	}
}
