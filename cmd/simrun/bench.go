package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"

	"github.com/vigilsim/vigil/runtime/mutant"
	"github.com/vigilsim/vigil/sim"
)

// benchHunts is how many independent hunts (from different first seeds) measure a mutant's
// seeds to detection.
const benchHunts = 10

// benchReport measures each scenario on one worker — invocations/s, client requests/s, events/s,
// seeds/s, virtual-to-wall ratio, bytes and allocations per simulated invocation — and, in
// mutant builds, each mutant's seeds to detection (median and max over benchHunts hunts of up to
// -seeds seeds each).
func benchReport(ctx context.Context, cfg *config, out *bufio.Writer, stderr io.Writer) int {
	defer sim.CampaignGC()()
	fmt.Fprintf(out, "simrun -bench: %d seeds per scenario on one worker (GOMAXPROCS=%d, %s)\n\n", cfg.seeds, runtime.GOMAXPROCS(0), sim.GCDescription())
	tw := newTable(out)
	fmt.Fprintln(tw, "scenario\tseeds\tinvocations\tinvocations/s\trequests/s\tevents\tevents/s\tseeds/s\tvirtual/wall\tbytes/invocation\tallocs/invocation")
	for _, sc := range cfg.scenarios {
		if ctx.Err() != nil {
			break
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		var st sim.CampaignStats
		var requests uint64
		for i := range cfg.seeds {
			r := sim.RunSeed(sc, cfg.options(cfg.first+uint64(i)))
			st.Add(r)
			requests += r.Requests
		}
		wall := time.Since(start)
		runtime.ReadMemStats(&after)
		secs := wall.Seconds()
		inv := max(st.Invocations, 1)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%d\t%s\t%s\t%s\t%d\t%d\n", sc.Name, st.Seeds, st.Invocations,
			rate(float64(st.Invocations), secs), rate(float64(requests), secs), st.Events,
			rate(float64(st.Events), secs), rate(float64(st.Seeds), secs), ratio(st.Virtual.Seconds(), secs),
			(after.TotalAlloc-before.TotalAlloc)/uint64(inv), (after.Mallocs-before.Mallocs)/uint64(inv))
		fmt.Fprintf(stderr, "simrun -bench: %s done in %s\n", sc.Name, wall.Round(time.Millisecond))
	}
	tw.Flush()
	if !mutant.Enabled {
		fmt.Fprintln(out, "\n(seeds to detection per mutant: build with -tags vigil_mutants)")
		return exitOK
	}
	fmt.Fprintf(out, "\nseeds to detection per mutant (%d hunts of up to %d seeds, each over every selected scenario)\n\n", benchHunts, cfg.seeds)
	tw = newTable(out)
	fmt.Fprintln(tw, "mutant\tcaught\tmedian\tmax\twall")
	escaped := false
	for _, id := range mutant.All() {
		if ctx.Err() != nil {
			break
		}
		var seeds []int
		caught := 0
		start := time.Now()
		mutant.Plant(id)
		for h := range benchHunts {
			hunt := *cfg
			hunt.first = cfg.first + uint64(h)*1_000_003
			r := huntMutant(ctx, &hunt, id)
			if r.caught {
				caught++
			}
			seeds = append(seeds, r.seeds)
		}
		mutant.Plant(mutant.None)
		slices.Sort(seeds)
		if caught < benchHunts {
			escaped = true
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%d\t%d\t%s\n", id, caught, benchHunts, seeds[len(seeds)/2], seeds[len(seeds)-1], time.Since(start).Round(time.Millisecond))
	}
	tw.Flush()
	if escaped {
		return exitViolation
	}
	return exitOK
}
