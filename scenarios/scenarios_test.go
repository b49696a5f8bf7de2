package scenarios

import (
	"testing"
	"time"

	"github.com/vigilsim/vigil/sim"
)

func TestRegistry(t *testing.T) {
	names := Names()
	if len(names) != len(All()) || len(names) == 0 {
		t.Fatalf("Names() = %v", names)
	}
	for _, n := range names {
		sc, ok := Lookup(n)
		if !ok || sc.Name != n || sc.New == nil || sc.Description == "" {
			t.Fatalf("Lookup(%q) = %+v, %v", n, sc, ok)
		}
	}
	if _, ok := Lookup("nope"); ok {
		t.Fatal("Lookup found a scenario that does not exist")
	}
}

// BenchmarkScenarios reports, per scenario, simulated events/s, seeds/s, the virtual-to-wall
// ratio and allocations per seed (run with -cpu 1 for one core):
//
//	go test -run X -bench Scenarios -cpu 1 ./scenarios
func BenchmarkScenarios(b *testing.B) {
	for _, sc := range All() {
		b.Run(sc.Name, func(b *testing.B) {
			b.ReportAllocs()
			var events, seeds uint64
			var virtual time.Duration
			start := time.Now()
			for b.Loop() {
				seeds++
				r := sim.RunSeed(sc, sim.Options{Seed: seeds})
				events += r.Events
				virtual += r.Virtual
			}
			wall := time.Since(start).Seconds()
			b.ReportMetric(float64(events)/wall, "events/s")
			b.ReportMetric(float64(seeds)/wall, "seeds/s")
			b.ReportMetric(virtual.Seconds()/wall, "virtual/wall")
		})
	}
}
