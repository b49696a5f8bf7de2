package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/vigilsim/vigil/runtime/mutant"
	"github.com/vigilsim/vigil/sim"
)

// mutantResult is how one planted bug fared against the campaign.
type mutantResult struct {
	id       mutant.ID
	caught   bool
	seeds    int // seeds run until the first detection (or in all, if it escaped)
	runs     int // scenario runs until then
	wall     time.Duration
	checker  string
	scenario string
	seed     uint64
}

// mutantCampaigns plants each mutant of the catalogue in turn and runs the campaign — every
// selected scenario for seed first, then for seed first+1, ... — until a seed breaks a property
// or -seeds seeds ran. It prints one row per mutant and fails (exit 1) if any escaped.
func mutantCampaigns(ctx context.Context, cfg *config, out *bufio.Writer, stderr io.Writer) int {
	fmt.Fprintf(out, "simrun: %d mutants x up to %d seeds x %s\n", len(mutant.All()), cfg.seeds, scenarioNames(cfg))
	out.Flush()
	var results []mutantResult
	for _, id := range mutant.All() {
		if ctx.Err() != nil {
			break
		}
		mutant.Plant(id)
		r := huntMutant(ctx, cfg, id)
		mutant.Plant(mutant.None)
		results = append(results, r)
		fmt.Fprintf(stderr, "simrun: mutant %s: %s\n", id, r.verdict())
	}
	writeMutantTable(out, results)
	for _, r := range results {
		if !r.caught {
			return exitViolation
		}
	}
	if ctx.Err() != nil {
		return exitInterrupted
	}
	return exitOK
}

func scenarioNames(cfg *config) string {
	names := make([]string, len(cfg.scenarios))
	for i, sc := range cfg.scenarios {
		names[i] = sc.Name
	}
	return strings.Join(names, ",")
}

func huntMutant(ctx context.Context, cfg *config, id mutant.ID) (r mutantResult) {
	r.id = id
	start := time.Now()
	defer func() { r.wall = time.Since(start) }()
	for i := range cfg.seeds {
		if ctx.Err() != nil {
			break
		}
		seed := cfg.first + uint64(i)
		r.seeds = i + 1
		for _, sc := range cfg.scenarios {
			r.runs++
			o := runSeedWithin(sc, cfg.options(seed), cfg.seedTimeout)
			if o.res.Failed() {
				r.caught, r.scenario, r.seed = true, sc.Name, seed
				r.checker = firstCheckers(o.res)
				r.wall = time.Since(start)
				return r
			}
		}
	}
	return r
}

// firstCheckers names the checkers that caught a run, most frequent first.
func firstCheckers(res *sim.Result) string {
	count := map[string]int{}
	for _, v := range res.Violations {
		count[v.Checker]++
	}
	names := make([]string, 0, len(count))
	for n := range count {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if count[names[i]] != count[names[j]] {
			return count[names[i]] > count[names[j]]
		}
		return names[i] < names[j]
	})
	return strings.Join(names, ",")
}

func (r mutantResult) verdict() string {
	if !r.caught {
		return fmt.Sprintf("ESCAPED %d seeds (%s)", r.seeds, r.wall.Round(time.Millisecond))
	}
	return fmt.Sprintf("caught at seed %d of %s after %d seeds by %s (%s)", r.seed, r.scenario, r.seeds, r.checker, r.wall.Round(time.Millisecond))
}

func writeMutantTable(w io.Writer, results []mutantResult) {
	fmt.Fprintln(w)
	tw := newTable(w)
	fmt.Fprintln(tw, "mutant\tverdict\tseeds to detection\truns\twall\tcaught by\tscenario\tseed")
	for _, r := range results {
		verdict, caughtBy, scenario, seed := "ESCAPED", "-", "-", "-"
		if r.caught {
			verdict, caughtBy, scenario, seed = "caught", r.checker, r.scenario, fmt.Sprint(r.seed)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", r.id, verdict, r.seeds, r.runs, r.wall.Round(time.Millisecond), caughtBy, scenario, seed)
	}
	tw.Flush()
}
