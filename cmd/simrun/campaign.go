package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/sim"
)

// outcome is what one seed produced: its result, or the panic that ended the run.
type outcome struct {
	res *sim.Result
	// panicked is set when RunSeed panicked; res then holds a single "panic" violation, and no
	// plan, counts or history.
	panicked bool
	stack    []byte
	// abandoned is set when the run outlived its -seed-timeout and did not stop when asked: res
	// then holds a single "bound" violation that says where it was stuck, and no plan, counts or
	// history, and its goroutine is still running.
	abandoned bool
	// wall is the wall time the seed took, both runs under -twice.
	wall time.Duration
}

// runSeed runs one seed, turning a panic of the runtime or the simulator into a failed seed so
// that a campaign reports it (with its reproduce command) instead of dying.
func runSeed(sc sim.Scenario, opts sim.Options) (o outcome) {
	defer func() {
		if p := recover(); p != nil {
			o = outcome{
				res: &sim.Result{Scenario: sc.Name, Seed: opts.Seed, Violations: []checkers.Violation{
					{Checker: "panic", Message: fmt.Sprint(p)},
				}},
				panicked: true,
				stack:    debug.Stack(),
			}
		}
	}()
	return outcome{res: sim.RunSeed(sc, opts)}
}

// checkTwice runs the seed a second time in this process and records a "determinism" violation
// when the two trace hashes differ. A second run cut by the wall-clock limit proves nothing about
// determinism: its own verdict is added instead, since the seed hung once.
func checkTwice(sc sim.Scenario, opts sim.Options, limit time.Duration, o *outcome) {
	again := runSeedWithin(sc, opts, limit)
	if again.wallCut() {
		for _, v := range again.res.Violations {
			if v.Checker == sim.PropertyBound {
				v.Message = "the second run: " + v.Message
				o.res.Violations = append(o.res.Violations, v)
			}
		}
		return
	}
	if again.res.TraceHash != o.res.TraceHash {
		o.res.Violations = append(o.res.Violations, checkers.Violation{Checker: "determinism", Message: fmt.Sprintf(
			"the same seed gave trace hash %016x, then %016x", o.res.TraceHash, again.res.TraceHash)})
	}
}

// runCampaign runs seeds cfg.first .. cfg.first+cfg.seeds-1 of sc (of them, the shard's with
// -shard) on cfg.parallel workers and
// calls each with every outcome in seed order, from the calling goroutine. It stops dispatching
// when each returns false or ctx is cancelled; outcomes of seeds after a false are discarded, so
// what each sees does not depend on the number of workers. All goroutines have exited when it
// returns, except those of runs abandoned past their -seed-timeout.
func runCampaign(ctx context.Context, cfg *config, sc sim.Scenario, each func(outcome) bool) {
	type job struct {
		seed uint64
		out  chan outcome
	}
	// window bounds how far the workers may run ahead of the slowest unreported seed.
	window := max(16, 4*cfg.parallel)
	jobs := make(chan job)
	order := make(chan chan outcome, window)
	stop := make(chan struct{})
	var wg sync.WaitGroup

	for range cfg.parallel {
		wg.Go(func() {
			for j := range jobs {
				start := time.Now()
				o := runSeedWithin(sc, cfg.options(j.seed), cfg.seedTimeout)
				if cfg.twice && !o.panicked && !o.wallCut() {
					checkTwice(sc, cfg.options(j.seed), cfg.seedTimeout, &o)
				}
				o.wall = time.Since(start)
				j.out <- o // buffered: never blocks
			}
		})
	}
	wg.Go(func() { // the dispatcher
		defer close(order)
		defer close(jobs)
		for i := range cfg.campaignSeeds() { // -seeds, or this shard's share (shard.go)
			j := job{seed: cfg.seedAt(i), out: make(chan outcome, 1)}
			select {
			case jobs <- j:
			case <-stop:
				return
			case <-ctx.Done():
				return
			}
			select {
			case order <- j.out:
			case <-stop:
				return
			}
		}
	})

	for ch := range order {
		if !each(<-ch) {
			break
		}
	}
	close(stop)
	wg.Wait()
}

// stats sums up one scenario's campaign, or all of them.
type stats struct {
	name string
	sim.CampaignStats
	violations int
	wall       time.Duration
	// failedSeeds lists the failing seeds in order; firstRepro reproduces the first of them.
	failedSeeds []uint64
	firstRepro  string
	// cutShort is set when the campaign stopped at -max-failures.
	cutShort bool
	// coverage counts reaches of each point over the campaign.
	coverage map[sim.Point]uint64
}

func (s *stats) add(o outcome, repro string) {
	s.Add(o.res)
	for p, n := range o.res.Coverage {
		if s.coverage == nil {
			s.coverage = map[sim.Point]uint64{}
		}
		s.coverage[p] += n
	}
	s.violations += len(o.res.Violations)
	if o.res.Failed() {
		if len(s.failedSeeds) == 0 {
			s.firstRepro = repro
		}
		s.failedSeeds = append(s.failedSeeds, o.res.Seed)
	}
}

func (s *stats) merge(o *stats) {
	s.Seeds += o.Seeds
	s.Failed += o.Failed
	s.Events += o.Events
	s.Invocations += o.Invocations
	s.Virtual += o.Virtual
	s.violations += o.violations
	s.wall += o.wall
	for p, n := range o.coverage {
		if s.coverage == nil {
			s.coverage = map[sim.Point]uint64{}
		}
		s.coverage[p] += n
	}
}

// writeCoverage prints how often each listed point was reached, per scenario and in total, and
// returns the points no scenario reached.
func writeCoverage(w io.Writer, all []*stats, total *stats) []sim.Point {
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-42s", "reachability point")
	for _, st := range all {
		fmt.Fprintf(w, " %12s", st.name)
	}
	fmt.Fprintf(w, " %12s\n", "total")
	var missing []sim.Point
	for _, p := range sim.Points() {
		fmt.Fprintf(w, "%-42s", p.Name)
		for _, st := range all {
			fmt.Fprintf(w, " %12d", st.coverage[p.Name])
		}
		n := total.coverage[p.Name]
		mark := ""
		switch {
		case n == 0 && p.Required:
			mark = "  NEVER REACHED: " + p.Description
			missing = append(missing, p.Name)
		case n == 0:
			mark = "  (not required) " + p.Description
		}
		fmt.Fprintf(w, " %12d%s\n", n, mark)
	}
	return missing
}

// campaigns runs every selected scenario's campaign, one scenario after the other, and prints the
// failing seeds as they come, then the summary.
func campaigns(ctx context.Context, cfg *config, out *bufio.Writer, stderr io.Writer) int {
	defer sim.CampaignGC()()
	// With -hash, stdout carries the hash lines only; everything else goes to stderr.
	var rep io.Writer = out
	if cfg.hash || cfg.ci.json {
		rep = stderr
	}
	box := newTimeBox(cfg.ci.duration, time.Now())
	prog := newProgress(stderr, out, progressTotal(cfg), box.end)
	ci := newCIReport(cfg, out)

	names := make([]string, len(cfg.scenarios))
	for i, sc := range cfg.scenarios {
		names[i] = sc.Name
	}
	prog.clear()
	if cfg.ci.unbounded {
		fmt.Fprintf(rep, "simrun: %s x seeds %d on, %d workers, budget %s, liveness %s",
			strings.Join(names, ","), cfg.first, cfg.parallel, cfg.budget, cfg.liveness)
	} else {
		fmt.Fprintf(rep, "simrun: %s x %d seeds (%d..%d), %d workers, budget %s, liveness %s",
			strings.Join(names, ","), cfg.seeds, cfg.first, cfg.first+uint64(cfg.seeds)-1, cfg.parallel, cfg.budget, cfg.liveness)
	}
	fmt.Fprint(rep, cfg.campaignNote())
	if cfg.maxFailures > 0 {
		fmt.Fprintf(rep, ", max %d failing seeds per scenario", cfg.maxFailures)
	}
	if cfg.mutant != 0 {
		fmt.Fprintf(rep, ", mutant %s planted", cfg.mutant)
	}
	fmt.Fprint(rep, cfg.capsNote())
	if cfg.seedTimeout != defaultSeedTimeout {
		fmt.Fprintf(rep, ", seed-timeout %s", cfg.seedTimeout)
	}
	fmt.Fprintln(rep)

	var all []*stats
	for i, sc := range cfg.scenarios {
		if ctx.Err() != nil {
			break
		}
		st := &stats{name: sc.Name}
		start := time.Now()
		prog.scenario(i+1, len(cfg.scenarios), sc.Name)
		sctx, cancel := box.scenario(ctx, len(cfg.scenarios)-i, start)
		runCampaign(sctx, cfg, sc, func(o outcome) bool {
			repro := cfg.reproduceCommand(o.res)
			st.add(o, repro)
			ci.seed(o, repro)
			if cfg.hash {
				fmt.Fprintf(out, "%s %d %016x\n", o.res.Scenario, o.res.Seed, o.res.TraceHash)
			}
			if o.res.Failed() {
				prog.clear()
				writeReport(rep, cfg, o, cfg.verbose)
				cfg.writeArtifacts(rep, o)
			}
			prog.seedDone(o.res)
			if cfg.maxFailures > 0 && st.Failed >= cfg.maxFailures {
				st.cutShort = true
				return false
			}
			return true
		})
		if sctx.Err() != nil && ctx.Err() == nil && !st.cutShort && st.Seeds < cfg.campaignSeeds() {
			ci.scenarioTimedOut(sc.Name)
		}
		cancel()
		st.wall = time.Since(start)
		all = append(all, st)
	}
	prog.clear()

	interrupted := ctx.Err() != nil
	total := writeSummary(rep, all, interrupted)
	writeTimeBox(rep, cfg, all, ci)
	var missing []sim.Point
	if cfg.coverage {
		missing = writeCoverage(rep, all, total)
	}
	code := ci.finish(all, total, interrupted, stderr)
	switch {
	case total.Failed > 0:
		return exitViolation
	case code != exitOK:
		return code
	case cfg.requireCoverage && len(missing) > 0 && !interrupted:
		fmt.Fprintf(rep, "\nfail: %d listed point(s) never reached: %s\n", len(missing), strings.Join(missing, ", "))
		return exitViolation
	case interrupted:
		return exitInterrupted
	}
	return exitOK
}

// writeReport prints one failing seed: its violations and the command that reproduces it, and
// with verbose the events around each violation (or the stack of a panic).
func writeReport(w io.Writer, cfg *config, o outcome, verbose bool) {
	repro := cfg.reproduceCommand(o.res)
	if o.panicked || o.abandoned {
		fmt.Fprintf(w, "scenario %s seed %d: %s\n", o.res.Scenario, o.res.Seed, o.res.Violations[0])
		if verbose {
			for line := range strings.Lines(string(o.stack)) {
				fmt.Fprintf(w, "      %s", line)
			}
		}
		fmt.Fprintf(w, "  reproduce: %s\n", repro)
		return
	}
	var b strings.Builder
	o.res.Report(&b, verbose)
	s := b.String()
	// Report ends with the simulator's own reproduce line; simrun's adds what only it knows (a
	// planted mutant) and keeps its flag spelling.
	if i := strings.LastIndex(s, "  reproduce: "); i >= 0 {
		s = s[:i] + "  reproduce: " + repro + "\n"
	}
	io.WriteString(w, s)
}

// writeSummary prints the table of every scenario's figures and the total, then the verdict, and
// returns the total.
func writeSummary(w io.Writer, all []*stats, interrupted bool) *stats {
	total := &stats{name: "total"}
	for _, st := range all {
		total.merge(st)
	}
	fmt.Fprintln(w)
	tw := newTable(w)
	fmt.Fprintln(tw, "scenario\tseeds\tfailed\tevents\tinvocations\tviolations\tevents/s\tseeds/s\tvirtual\tvirtual/wall\twall")
	for _, st := range append(all, total) {
		secs := st.wall.Seconds()
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n",
			st.name, st.Seeds, st.Failed, st.Events, st.Invocations, st.violations,
			rate(float64(st.Events), secs), rate(float64(st.Seeds), secs),
			roundDuration(st.Virtual), ratio(st.Virtual.Seconds(), secs), roundDuration(st.wall))
	}
	tw.Flush()

	fmt.Fprintln(w)
	if interrupted {
		fmt.Fprintf(w, "interrupted after %d seeds\n", total.Seeds)
	}
	if total.Failed == 0 {
		fmt.Fprintf(w, "ok: no violation in %d seeds\n", total.Seeds)
		return total
	}
	fmt.Fprintf(w, "FAIL: %d violation(s) in %d of %d seeds\n", total.violations, total.Failed, total.Seeds)
	for _, st := range all {
		if st.Failed == 0 {
			continue
		}
		const shown = 20
		var seeds []string
		for _, s := range st.failedSeeds[:min(len(st.failedSeeds), shown)] {
			seeds = append(seeds, fmt.Sprint(s))
		}
		if len(st.failedSeeds) > shown {
			seeds = append(seeds, fmt.Sprintf("... (%d more)", len(st.failedSeeds)-shown))
		}
		fmt.Fprintf(w, "  %s: failing seeds %s", st.name, strings.Join(seeds, " "))
		if st.cutShort {
			fmt.Fprintf(w, " (stopped there: -max-failures %d)", st.Failed)
		}
		fmt.Fprintf(w, "\n    reproduce the first: %s\n", st.firstRepro)
	}
	return total
}

// reproduce runs cfg.seed once per selected scenario and prints everything about the run.
func reproduce(cfg *config, out *bufio.Writer, stderr io.Writer) int {
	code := exitOK
	for i, sc := range cfg.scenarios {
		var rec *sim.Tape
		if cfg.tapes.out != "" {
			rec = &sim.Tape{}
		}
		opts := cfg.tapeOptions(cfg.options(cfg.seed), rec)
		opts.KeepHistory = !cfg.hash
		o := runSeedWithin(sc, opts, cfg.seedTimeout)
		r := o.res
		if rec != nil && !o.abandoned {
			if err := writeTapeFile(cfg.tapes.out, rec); err != nil {
				fmt.Fprintf(stderr, "simrun: %v\n", err)
				return exitUsage
			}
			fmt.Fprintf(stderr, "choice tape: %d draws (%d non-zero) written to %s; replay: %s\n", len(rec.Draws), rec.NonZero(), cfg.tapes.out, cfg.replayCommand(cfg.tapes.out))
		}
		if r.Failed() {
			code = exitViolation
		}
		cfg.writeArtifacts(stderr, o) // stderr: with -hash, stdout carries the hash lines only
		if cfg.hash {
			fmt.Fprintf(out, "%s %d %016x\n", r.Scenario, r.Seed, r.TraceHash)
			if r.Failed() {
				out.Flush()
				writeReport(stderr, cfg, o, true)
			}
			continue
		}
		if i > 0 {
			fmt.Fprintln(out)
		}
		fmt.Fprintf(out, "scenario %s seed %d", r.Scenario, r.Seed)
		if cfg.mutant != 0 {
			fmt.Fprintf(out, " (mutant %s planted)", cfg.mutant)
		}
		fmt.Fprintf(out, "\nbudget %s, liveness %s%s\n", cfg.budget, cfg.liveness, cfg.capsNote())
		if o.panicked || o.abandoned {
			writeReport(out, cfg, o, true)
			continue
		}
		fmt.Fprintf(out, "plan: %s\n", r.Plan)
		fmt.Fprintf(out, "trace: %d recorded events\n", len(r.History.Events))
		r.WriteTrace(out)
		fmt.Fprintf(out, "run: %d queue events, %d invocations, %s virtual\n", r.Events, r.Invocations, r.Virtual)
		if r.Failed() {
			writeReport(out, cfg, o, true)
		} else {
			fmt.Fprintf(out, "scenario %s seed %d: no violation\n", r.Scenario, r.Seed)
		}
		fmt.Fprintf(out, "trace hash: %016x\n", r.TraceHash)
	}
	return code
}
