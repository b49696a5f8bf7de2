package scenarios

import (
	"runtime"
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

// BenchmarkScenarios reports, per scenario, simulated invocations/s, client requests/s,
// events/s, seeds/s, the virtual-to-wall ratio, and bytes and allocations per invocation (the
// steady measure on a loaded machine; B/op and allocs/op are per seed). Run it on one core:
//
//	go test -run X -bench Scenarios -cpu 1 -benchmem ./scenarios
//
// It runs with the collector target campaigns use (sim.CampaignGC), since it measures what a
// campaign does; GOGC=100 in the environment measures with Go's default instead.
func BenchmarkScenarios(b *testing.B) {
	defer sim.CampaignGC()()
	for _, sc := range All() {
		b.Run(sc.Name, func(b *testing.B) {
			b.ReportAllocs()
			var events, seeds, requests uint64
			var invocations int
			var virtual time.Duration
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			for b.Loop() {
				seeds++
				r := sim.RunSeed(sc, sim.Options{Seed: seeds})
				events += r.Events
				requests += r.Requests
				invocations += r.Invocations
				virtual += r.Virtual
			}
			wall := time.Since(start).Seconds()
			runtime.ReadMemStats(&after)
			inv := float64(max(invocations, 1))
			b.ReportMetric(float64(invocations)/wall, "invocations/s")
			b.ReportMetric(float64(requests)/wall, "requests/s")
			b.ReportMetric(float64(events)/wall, "events/s")
			b.ReportMetric(float64(seeds)/wall, "seeds/s")
			b.ReportMetric(virtual.Seconds()/wall, "virtual/wall")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/inv, "B/invocation")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/inv, "allocs/invocation")
		})
	}
}
