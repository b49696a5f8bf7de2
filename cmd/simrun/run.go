package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vigilsim/vigil/faults"
	"github.com/vigilsim/vigil/runtime/mutant"
	"github.com/vigilsim/vigil/scenarios"
	"github.com/vigilsim/vigil/sim"
)

// Exit codes.
const (
	exitOK          = 0
	exitViolation   = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// Defaults of the flags that change what a run does; a reproduce command repeats a flag only when
// it differs from its default.
const (
	defaultSeeds       = 1000
	defaultFirst       = 1
	defaultBudget      = 60 * time.Second
	defaultLiveness    = 10 * time.Minute
	defaultMaxFailures = 5
	// The event caps are the simulator's own defaults; see sim.DefaultMaxEvents for the
	// measurements they rest on.
	defaultMaxEvents           = sim.DefaultMaxEvents
	defaultMaxEventsPerInstant = sim.DefaultMaxEventsPerInstant
	// defaultSeedTimeout is far above any healthy seed (the slowest of seeds 1..1000 of every
	// scenario took 40 ms on a busy two-core machine), yet short enough that a hung seed fails a campaign within a minute. It does not change what
	// a run does, so a reproduce command does not repeat it.
	defaultSeedTimeout = 60 * time.Second
)

// config is the parsed command line.
type config struct {
	scenarios   []sim.Scenario
	seeds       int
	first       uint64
	seed        uint64
	reproduce   bool // -seed was given
	verbose     bool
	parallel    int
	budget      time.Duration
	liveness    time.Duration
	maxFailures int
	hash        bool
	mutant      mutant.ID
	mutants     bool
	twice       bool
	bench       bool
	coverage    bool
	// requireCoverage makes a campaign fail when a listed point was never reached.
	requireCoverage bool
	// artifacts is the directory failing seeds write their artifacts under (-artifacts), empty
	// for none (artifacts.go).
	artifacts string
	// maxEvents and maxEventsPerInstant cap each run's events (sim.Options); seedTimeout is each
	// seed's wall-clock limit, 0 for none.
	maxEvents           int
	maxEventsPerInstant int
	seedTimeout         time.Duration
	// cpuProfile is the file the run's CPU profile goes to (-cpuprofile), empty for none.
	cpuProfile string
	// faults is the fault intensity plans are drawn at (-faults); the default draws today's
	// swarm plans, seed for seed.
	faults faults.Level
	// ci holds -json, -junit, -duration and -shard (shard.go).
	ci ciFlags
	// tapes holds -tape, -tape-out and -shrink (shrink.go).
	tapes tapeFlags
}

// usageError is a bad command line: run prints it and exits with exitUsage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// run is simrun without the process: it parses args, runs what they ask for, writes results to
// stdout and progress and errors to stderr, and returns the exit code. Cancelling ctx stops a
// campaign after the seeds in flight.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "merge" {
		return mergeMain(args[1:], stdout, stderr)
	}
	cfg, err := parseArgs(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil { // every error of parseArgs is a bad command line
		fmt.Fprintf(stderr, "simrun: %v\nrun 'simrun -h' for usage\n", err)
		return exitUsage
	}
	if cfg.mutant != mutant.None {
		mutant.Plant(cfg.mutant)
		defer mutant.Plant(mutant.None)
	}
	if cfg.cpuProfile != "" {
		stopProfile, err := startCPUProfile(cfg.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "simrun: %v\n", err)
			return exitUsage
		}
		defer func() {
			if err := stopProfile(); err != nil {
				fmt.Fprintf(stderr, "simrun: %v\n", err)
			}
		}()
	}

	out := bufio.NewWriter(stdout)
	defer out.Flush()
	if cfg.reproduce && cfg.tapes.shrink {
		return shrinkSeeds(cfg, out, stderr)
	}
	if cfg.reproduce {
		return reproduce(cfg, out, stderr)
	}
	if cfg.mutants {
		return mutantCampaigns(ctx, cfg, out, stderr)
	}
	if cfg.bench {
		return benchReport(ctx, cfg, out, stderr)
	}
	return campaigns(ctx, cfg, out, stderr)
}

// parseArgs parses the command line. With -h it prints the usage to help and returns
// flag.ErrHelp.
func parseArgs(args []string, help io.Writer) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("simrun", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run prints errors itself, the usage only on -h
	scenarioList := fs.String("scenario", "", "run only these scenarios: a `name` or a comma-separated list (default: all)")
	fs.IntVar(&cfg.seeds, "seeds", defaultSeeds, "seeds to run per scenario, `n`")
	fs.Uint64Var(&cfg.first, "first", defaultFirst, "first `seed` of a campaign; it covers first .. first+seeds-1")
	fs.Uint64Var(&cfg.seed, "seed", 0, "reproduce one run of `seed`: print its fault plan, every event of its trace,\n"+
		"its violations and its trace hash (for every scenario unless -scenario is given)")
	fs.BoolVar(&cfg.verbose, "v", false, "verbose: print every failing seed's full report, with the events around each\n"+
		"violation (a -seed run is always verbose)")
	fs.StringVar(&cfg.artifacts, "artifacts", "", artifactsUsage)
	fs.IntVar(&cfg.parallel, "parallel", 0, "`n` worker goroutines running independent seeds (default, or 0: GOMAXPROCS);\n"+
		"results are still reported in seed order")
	fs.DurationVar(&cfg.budget, "budget", defaultBudget, "virtual `duration` of the safety phase, during which faults are injected")
	fs.DurationVar(&cfg.liveness, "liveness", defaultLiveness, "virtual `duration` after healing within which every invocation must finish")
	fs.IntVar(&cfg.maxFailures, "max-failures", defaultMaxFailures, "stop a scenario's campaign after `n` failing seeds; 0 means no limit")
	fs.IntVar(&cfg.maxEvents, "max-events", defaultMaxEvents, "cap on the events of one run, `n`: a run that reaches it fails with a \"bound\" violation")
	fs.IntVar(&cfg.maxEventsPerInstant, "max-events-per-instant", defaultMaxEventsPerInstant, "cap on the events at one virtual instant, `n`: a run that reaches it (a livelock that\n"+
		"never lets virtual time advance) fails with a \"bound\" violation")
	fs.DurationVar(&cfg.seedTimeout, "seed-timeout", defaultSeedTimeout, "wall-clock limit of one seed, `d`; a seed that exceeds it fails with a \"bound\" violation\n"+
		"and the campaign goes on; 0 means no limit")
	fs.Var(&cfg.faults, "faults", faults.LevelUsage+";\nthe reproduce command repeats it")
	fs.BoolVar(&cfg.hash, "hash", false, "print only one line per seed on stdout, \"scenario seed tracehash\", in seed order;\n"+
		"reports and the summary go to stderr (for determinism checks across processes)")
	fs.BoolVar(&cfg.coverage, "coverage", false, "print the reachability table: how often the campaign reached each listed point\n"+
		"of the runtime and the simulator")
	fs.BoolVar(&cfg.requireCoverage, "require-coverage", false, "fail the campaign (exit 1) when a listed point was never reached;\n"+
		"implies -coverage")
	fs.BoolVar(&cfg.twice, "twice", false, "run every seed twice in this process and fail when the two trace hashes differ\n"+
		"(the in-process half of the determinism audit)")
	fs.BoolVar(&cfg.bench, "bench", false, "benchmark report: per scenario, invocations/s, client requests/s, events/s, seeds/s,\n"+
		"virtual-to-wall ratio, and bytes and allocations per simulated invocation on one worker;\n"+
		"with -tags vigil_mutants also seeds to detection "+
		"(median and max over 10 hunts) per mutant")
	fs.BoolVar(&cfg.mutants, "mutants", false, "plant every mutant of the catalogue in turn and report, per mutant, whether the\n"+
		"campaign caught it, after how many seeds, in what wall time and by which checker;\n"+
		"exit 1 if one escaped (needs -tags vigil_mutants)")
	mutantName := fs.String("mutant", "", "plant the bug `name` in the runtime for the whole run (needs a binary built\n"+
		"with -tags vigil_mutants)")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to `file` (go tool pprof reads it; it can\n"+
		"also serve as the default.pgo of a profile-guided build)")
	addCIFlags(fs, &cfg.ci)
	addTapeFlags(fs, &cfg.tapes)
	fs.Usage = func() {} // the flag package calls it on every error; run prints a hint instead

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(help, fs)
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q (simrun takes flags only)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var err error
	if cfg.scenarios, err = parseScenarios(*scenarioList); err != nil {
		return nil, err
	}
	cfg.reproduce = set["seed"]
	switch {
	case cfg.reproduce && (set["seeds"] || set["first"]):
		return nil, usagef("-seed reproduces one run; it cannot be combined with -seeds or -first")
	case cfg.seeds < 1:
		return nil, usagef("-seeds must be at least 1, got %d", cfg.seeds)
	case cfg.parallel < 0:
		return nil, usagef("-parallel must be 0 (GOMAXPROCS) or more, got %d", cfg.parallel)
	case cfg.budget <= 0:
		return nil, usagef("-budget must be positive, got %s", cfg.budget)
	case cfg.liveness <= 0:
		return nil, usagef("-liveness must be positive, got %s", cfg.liveness)
	case cfg.maxFailures < 0:
		return nil, usagef("-max-failures must be 0 (no limit) or more, got %d", cfg.maxFailures)
	case cfg.maxEvents < 1:
		return nil, usagef("-max-events must be at least 1, got %d", cfg.maxEvents)
	case cfg.maxEventsPerInstant < 1:
		return nil, usagef("-max-events-per-instant must be at least 1, got %d", cfg.maxEventsPerInstant)
	case cfg.seedTimeout < 0:
		return nil, usagef("-seed-timeout must be 0 (no limit) or more, got %s", cfg.seedTimeout)
	}
	if cfg.parallel == 0 {
		cfg.parallel = runtime.GOMAXPROCS(0)
	}
	cfg.coverage = cfg.coverage || cfg.requireCoverage
	if cfg.mutants {
		switch {
		case !mutant.Enabled:
			return nil, usagef("-mutants: this binary was built without -tags vigil_mutants; use 'go run -tags vigil_mutants ./cmd/simrun -mutants'")
		case set["mutant"] || cfg.reproduce:
			return nil, usagef("-mutants runs the whole catalogue; it cannot be combined with -mutant or -seed")
		}
	}
	if set["mutant"] {
		if cfg.mutant, err = parseMutant(*mutantName); err != nil {
			return nil, err
		}
	}
	if err := checkCIFlags(cfg, set); err != nil {
		return nil, err
	}
	if err := checkTapeFlags(cfg, fs, args, set); err != nil {
		return nil, err
	}
	return cfg, nil
}

func parseScenarios(list string) ([]sim.Scenario, error) {
	if strings.TrimSpace(list) == "" {
		return scenarios.All(), nil
	}
	var out []sim.Scenario
	seen := map[string]bool{}
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		sc, ok := scenarios.Lookup(name)
		if !ok {
			return nil, usagef("unknown scenario %q; known scenarios: %s", name, strings.Join(scenarios.Names(), ", "))
		}
		out = append(out, sc)
	}
	if len(out) == 0 {
		return nil, usagef("-scenario names no scenario; known scenarios: %s", strings.Join(scenarios.Names(), ", "))
	}
	return out, nil
}

func parseMutant(name string) (mutant.ID, error) {
	if !mutant.Enabled {
		return mutant.None, usagef("-mutant %s: this binary was built without -tags vigil_mutants; use 'go run -tags vigil_mutants ./cmd/simrun -mutant %s ...'", name, name)
	}
	id, ok := mutant.Parse(name)
	if !ok {
		return mutant.None, usagef("unknown mutant %q; the catalogue: %s", name, strings.Join(mutantNames(), ", "))
	}
	return id, nil
}

func mutantNames() []string {
	var names []string
	for _, id := range mutant.All() {
		names = append(names, id.String())
	}
	return names
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `simrun runs Vigil's deterministic simulator: every scenario over many seeds, each seed one
single-threaded run of the real runtime on virtual time under its own fault plan, judged by the
property checkers. A failure is a seed, and the seed reproduces it bit for bit.

Usage:
  simrun [flags]
  simrun merge [-junit file] [-require-coverage] shard.json...

Examples:
  go run ./cmd/simrun                                  every scenario x 1000 seeds
  go run ./cmd/simrun -scenario approval -seeds 10000  a longer campaign of one scenario
  go run ./cmd/simrun -scenario approval -seed 7       reproduce one seed: plan, trace, verdict, hash
  go run ./cmd/simrun -scenario approval -seed 7 -shrink
                                                       minimise a failing seed's choice tape
  go run ./cmd/simrun -tape approval-7.tape            replay a choice tape bit for bit
  go run ./cmd/simrun -seeds 200 -hash > a.txt         trace hashes, to diff across processes
  go run -tags vigil_mutants ./cmd/simrun -mutant accept-second-completion
                                                       check that the campaign catches a planted bug
  go run ./cmd/simrun -shard 3/8 -seeds 80000 -json > shard3.json
                                                       shard 3 of 8 of an 80000-seed campaign
  go run ./cmd/simrun merge shard*.json                one summary and coverage table of the shards
  go run ./cmd/simrun -duration 10m -json -junit report.xml
                                                       a time-boxed campaign for CI

Exit status: 0 no violation, 1 a violation (a bound or a panic too) in some seed, 2 bad usage,
130 interrupted before any violation was found.

Flags:
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)

	fmt.Fprintln(w, "\nScenarios:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, sc := range scenarios.All() {
		fmt.Fprintf(tw, "  %s\t%s\n", sc.Name, sc.Description)
	}
	tw.Flush()
	if mutant.Enabled {
		fmt.Fprintf(w, "\nMutants: %s\n", strings.Join(mutantNames(), ", "))
	}
}

// options are the simulator options of the run of seed.
func (c *config) options(seed uint64) sim.Options {
	return sim.Options{Seed: seed, SafetyBudget: c.budget, LivenessBudget: c.liveness,
		MaxEvents: c.maxEvents, MaxEventsPerInstant: c.maxEventsPerInstant, Faults: c.faults}
}

// isDefault reports whether an event cap is its default: 0 is too, since sim.Options reads 0 as
// its default (a config built in a test may leave the caps out).
func isDefault(n, def int) bool { return n == 0 || n == def }

// capsNote lists the event caps that differ from their defaults, for the headers of a campaign
// and of a reproduced seed.
func (c *config) capsNote() string {
	var s string
	if c.faults != faults.LevelDefault {
		s += fmt.Sprintf(", faults %s", c.faults)
	}
	if !isDefault(c.maxEvents, defaultMaxEvents) {
		s += fmt.Sprintf(", max-events %d", c.maxEvents)
	}
	if !isDefault(c.maxEventsPerInstant, defaultMaxEventsPerInstant) {
		s += fmt.Sprintf(", max-events-per-instant %d", c.maxEventsPerInstant)
	}
	return s
}

// reproduceCommand is the command line that replays r exactly: the simulator's command plus every
// flag of this run that changes what a run does.
func (c *config) reproduceCommand(r *sim.Result) string {
	// Built from the configuration rather than from r.Options, which a run that panicked or
	// was abandoned does not carry.
	if c.tapes.in != "" {
		return c.replayCommand(c.tapes.in)
	}
	cmd := fmt.Sprintf("go run ./cmd/simrun -scenario %s -seed %d", r.Scenario, r.Seed)
	if c.mutant != mutant.None {
		cmd = strings.Replace(cmd, "go run ", "go run -tags vigil_mutants ", 1) + " -mutant " + c.mutant.String()
	}
	if c.faults != faults.LevelDefault {
		cmd += " -faults " + c.faults.String()
	}
	if c.budget != defaultBudget {
		cmd += " -budget " + c.budget.String()
	}
	if c.liveness != defaultLiveness {
		cmd += " -liveness " + c.liveness.String()
	}
	if !isDefault(c.maxEvents, defaultMaxEvents) {
		cmd += fmt.Sprintf(" -max-events %d", c.maxEvents)
	}
	if !isDefault(c.maxEventsPerInstant, defaultMaxEventsPerInstant) {
		cmd += fmt.Sprintf(" -max-events-per-instant %d", c.maxEventsPerInstant)
	}
	return cmd
}

// startCPUProfile starts writing the process's CPU profile to path and returns the function that
// stops it and closes the file.
func startCPUProfile(path string) (stop func() error, err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile %s: %w", path, err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("-cpuprofile %s: %w", path, err)
		}
		return nil
	}, nil
}
