package vigiltest

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigilsim/vigil/faults"
	"github.com/vigilsim/vigil/sim"
)

// Options configures Check. Zero fields take the defaults; the -vigil.* flags of go test
// override them.
type Options struct {
	// Seeds is how many seeds to run (default 100; -vigil.seeds).
	Seeds int
	// FirstSeed is the first seed (default 1, as simrun); the run covers FirstSeed ..
	// FirstSeed+Seeds-1.
	FirstSeed uint64
	// Faults is the fault intensity (default faults.LevelDefault, the whole swarm;
	// -vigil.faults). Start with faults.LevelNone: a scenario that fails without faults fails
	// on its own logic.
	Faults faults.Level
	// Plan, if set, is the fault plan of every run instead of one drawn per seed.
	Plan *faults.Plan
	// SafetyBudget and LivenessBudget are the virtual durations of the phase with faults and
	// of the phase after healing (defaults 60 s and 10 min; -vigil.budget, -vigil.liveness).
	SafetyBudget, LivenessBudget time.Duration
	// MaxEvents and MaxEventsPerInstant cap each run (defaults sim.DefaultMaxEvents and
	// sim.DefaultMaxEventsPerInstant; -vigil.max-events, -vigil.max-events-per-instant).
	MaxEvents, MaxEventsPerInstant int
	// Corpus is the directory, relative to the test's package, where failing seeds are saved
	// and replayed first by later runs (default "testdata/vigil"; "-" turns the corpus off).
	Corpus string
}

// The flags of go test that steer Check, registered when the kit is imported. They make a
// reproduce line work wherever the test lives: go test -run '^TestShop$' -vigil.seed=7.
var (
	flagSeed     = flag.Uint64("vigil.seed", 0, "vigiltest: run only this seed (the reproduce line of a failure sets it)")
	flagSeeds    = flag.Int("vigil.seeds", 0, "vigiltest: seeds per Check, overriding the test's Options.Seeds")
	flagFaults   = faults.LevelDefault
	flagBudget   = flag.Duration("vigil.budget", 0, "vigiltest: virtual duration of the safety phase (faults on)")
	flagLiveness = flag.Duration("vigil.liveness", 0, "vigiltest: virtual duration after healing within which every invocation must finish")
	flagMax      = flag.Int("vigil.max-events", 0, "vigiltest: cap on the events of one run")
	flagMaxInst  = flag.Int("vigil.max-events-per-instant", 0, "vigiltest: cap on the events at one virtual instant")
	flagTape     = flag.String("vigil.tape", "", "vigiltest: replay the choice tape FILE bit for bit (a failing seed's tape is written next to the corpus)")
)

func init() {
	flag.Var(&flagFaults, "vigil.faults", "vigiltest: "+faults.LevelUsage)
}

// settings are the flags that were set on the command line, as Check applies them.
type settings struct {
	seed     *uint64
	seeds    int
	faults   *faults.Level
	budget   time.Duration
	liveness time.Duration
	max      int
	maxInst  int
	tape     string
}

func commandLine() settings {
	var st settings
	if !flag.Parsed() {
		return st
	}
	flag.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "vigil.seed":
			st.seed = flagSeed
		case "vigil.seeds":
			st.seeds = *flagSeeds
		case "vigil.faults":
			st.faults = &flagFaults
		case "vigil.budget":
			st.budget = *flagBudget
		case "vigil.liveness":
			st.liveness = *flagLiveness
		case "vigil.max-events":
			st.max = *flagMax
		case "vigil.max-events-per-instant":
			st.maxInst = *flagMaxInst
		case "vigil.tape":
			st.tape = *flagTape
		}
	})
	return st
}

// Check runs the scenario over many seeds and fails t at the first seed that breaks a property —
// a runtime checker's or one of the scenario's invariants — reporting at the line of your test:
// the fault plan, each violation with the events it points at, the trace hash, and the go test
// line that reruns exactly that run, for example
//
//	go test -run '^TestShop$' -count=1 . -vigil.seed=7 -vigil.faults=light
//
// Seeds saved by earlier failures (Options.Corpus) run first, so a fixed bug stays fixed.
//
// When it returns, no goroutine of the runs is left (sim.StopKeptWorkers): a goroutine-leak
// check after it finds only your own.
func Check(t testing.TB, sc Scenario, o Options) {
	t.Helper()
	defer sim.StopKeptWorkers()
	check(t, sc, o, commandLine())
}

func check(t testing.TB, sc Scenario, o Options, st settings) {
	t.Helper()
	o = o.with(st)
	s := sc.Sim()
	base := o.simOptions()
	corpus := corpusFile(o.Corpus, t.Name())
	if st.tape != "" {
		replayTape(t, s, base, st.tape)
		return
	}
	if st.seed != nil {
		runOne(t, s, base, *st.seed, corpus)
		return
	}
	for _, saved := range readCorpus(t, corpus) {
		opts := base
		opts.Faults = saved.faults
		if !runOne(t, s, opts, saved.seed, "") {
			return
		}
	}
	var failed *sim.Result
	stats := sim.Campaign(s, o.FirstSeed, o.Seeds, base, func(r *sim.Result) bool {
		if r.Failed() {
			failed = r
			return false
		}
		return true
	})
	if failed != nil {
		report(t, s, failed, corpus)
		return
	}
	t.Logf("%s: seeds %d..%d passed at faults=%s, %d events, %s virtual", sc.Name, o.FirstSeed,
		o.FirstSeed+uint64(o.Seeds)-1, o.Faults, stats.Events, stats.Virtual)
}

// runOne runs one seed; on a failure it reports it (saving it to corpus, if set) and returns
// false. A passing seed logs its trace hash, which is what a reproduction is compared by.
func runOne(t testing.TB, s sim.Scenario, opts sim.Options, seed uint64, corpus string) bool {
	t.Helper()
	opts.Seed = seed
	r := sim.RunSeed(s, opts)
	if r.Failed() {
		report(t, s, r, corpus)
		return false
	}
	t.Logf("%s seed %d: no violation; trace hash %016x", s.Name, seed, r.TraceHash)
	return true
}

// report fails t with r's report and saves its seed to the corpus.
func report(t testing.TB, s sim.Scenario, r *sim.Result, corpus string) {
	t.Helper()
	line := ReproduceLine(t.Name(), r)
	msg := sim.FailureReport(t, r, func(testing.TB, *sim.Result) string { return line })
	msg += fmt.Sprintf("  trace hash: %016x\n", r.TraceHash)
	if corpus != "" {
		if err := saveCorpus(corpus, r); err != nil {
			msg += fmt.Sprintf("  (could not save the seed to %s: %v)\n", corpus, err)
		} else {
			msg += fmt.Sprintf("  saved to %s: later runs of the test replay it first\n", corpus)
		}
		if file, err := saveTape(s, corpus, t.Name(), r); err == nil {
			msg += fmt.Sprintf("  tape: %s (replay: %s)\n", file, sim.GoTestCommand(t.Name(), " -vigil.tape="+file))
		}
	}
	t.Errorf("%s", msg)
}

// saveTape runs r's seed again recording its choice tape and writes it beside the corpus, as
// <Test>-<seed>.tape, for -vigil.tape to replay bit for bit. It returns the file's path.
func saveTape(s sim.Scenario, corpus, test string, r *sim.Result) (string, error) {
	if !r.Reproducible() || r.Scenario == "" {
		return "", fmt.Errorf("the run did not draw from its seed")
	}
	opts := r.Options
	opts.Record = &sim.Tape{}
	sim.RunSeed(s, opts)
	file := filepath.Join(filepath.Dir(corpus), fmt.Sprintf("%s-%d.tape", strings.ReplaceAll(test, "/", "_"), r.Seed))
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return "", err
	}
	f, err := os.Create(file)
	if err != nil {
		return "", err
	}
	if err := opts.Record.Write(f); err != nil {
		f.Close()
		return "", err
	}
	return file, f.Close()
}

// replayTape runs the choice tape in file: its seed, with its flags (the fault intensity, the
// budgets and the caps), every draw taken from the tape.
func replayTape(t testing.TB, s sim.Scenario, opts sim.Options, file string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("-vigil.tape: %v", err)
	}
	tape, err := sim.ReadTape(bufio.NewReader(f))
	f.Close()
	if err != nil {
		t.Fatalf("-vigil.tape %s: %v", file, err)
	}
	fs := flag.NewFlagSet("tape", flag.ContinueOnError)
	level := opts.Faults
	fs.Var(&level, "faults", "")
	fs.DurationVar(&opts.SafetyBudget, "budget", opts.SafetyBudget, "")
	fs.DurationVar(&opts.LivenessBudget, "liveness", opts.LivenessBudget, "")
	fs.IntVar(&opts.MaxEvents, "max-events", opts.MaxEvents, "")
	fs.IntVar(&opts.MaxEventsPerInstant, "max-events-per-instant", opts.MaxEventsPerInstant, "")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(strings.Fields(tape.Flags)); err != nil {
		t.Fatalf("-vigil.tape %s: flags %q: %v", file, tape.Flags, err)
	}
	opts.Faults, opts.Seed, opts.Source = level, tape.Seed, tape.Replay()
	r := sim.RunSeed(s, opts)
	if !r.Failed() {
		t.Logf("%s: tape %s (seed %d): no violation; trace hash %016x", s.Name, file, tape.Seed, r.TraceHash)
		return
	}
	line := sim.GoTestCommand(t.Name(), " -vigil.tape="+file)
	t.Errorf("%s  trace hash: %016x\n", sim.FailureReport(t, r, func(testing.TB, *sim.Result) string { return line }), r.TraceHash)
}

// ReproduceLine is the go test command that reruns exactly the run r of the test called test:
// the seed, the fault intensity, the budgets and the caps, as -vigil.* flags. It is to be run
// in the test's package directory, wherever that is.
func ReproduceLine(test string, r *sim.Result) string {
	return sim.GoTestCommand(test, fmt.Sprintf(" -vigil.seed=%d", r.Seed)+r.Options.Flags("-vigil."))
}

// with applies the defaults and the command line.
func (o Options) with(st settings) Options {
	if st.seeds > 0 {
		o.Seeds = st.seeds
	}
	if st.faults != nil {
		o.Faults = *st.faults
	}
	if st.budget > 0 {
		o.SafetyBudget = st.budget
	}
	if st.liveness > 0 {
		o.LivenessBudget = st.liveness
	}
	if st.max > 0 {
		o.MaxEvents = st.max
	}
	if st.maxInst > 0 {
		o.MaxEventsPerInstant = st.maxInst
	}
	if o.Seeds <= 0 {
		o.Seeds = 100
	}
	if o.FirstSeed == 0 {
		o.FirstSeed = sim.DefaultFirstSeed
	}
	if o.Corpus == "" {
		o.Corpus = filepath.Join("testdata", "vigil")
	}
	return o
}

func (o Options) simOptions() sim.Options {
	return sim.Options{Faults: o.Faults, Plan: o.Plan, SafetyBudget: o.SafetyBudget, LivenessBudget: o.LivenessBudget,
		MaxEvents: o.MaxEvents, MaxEventsPerInstant: o.MaxEventsPerInstant}
}

// The corpus: one file per test under the corpus directory, one failing run per line as
// "seed faults" ("7 light"), in the order they were found. The budgets are not saved: they are
// the test's own, in its code or on its command line.

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func corpusFile(dir, test string) string {
	if dir == "-" {
		return ""
	}
	return filepath.Join(dir, unsafeName.ReplaceAllString(strings.ReplaceAll(test, "/", "__"), "_")+".txt")
}

type savedRun struct {
	seed   uint64
	faults faults.Level
}

func readCorpus(t testing.TB, file string) []savedRun {
	t.Helper()
	if file == "" {
		return nil
	}
	f, err := os.Open(file)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("vigiltest: corpus: %v", err)
	}
	defer f.Close()
	var runs []savedRun
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		seed, err := strconv.ParseUint(fields[0], 10, 64)
		lvl := faults.LevelDefault
		if err == nil && len(fields) > 1 {
			lvl, err = faults.ParseLevel(fields[1])
		}
		if err != nil {
			t.Fatalf("vigiltest: %s:%d: %v (want \"seed [none|light|default]\")", file, n, err)
		}
		runs = append(runs, savedRun{seed: seed, faults: lvl})
	}
	return runs
}

// saveCorpus appends r's seed and fault level to file unless it is there already.
func saveCorpus(file string, r *sim.Result) error {
	line := fmt.Sprintf("%d %s", r.Seed, r.Options.Faults)
	old, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	for l := range strings.Lines(string(old)) {
		if strings.TrimSpace(l) == line {
			return nil
		}
	}
	if len(old) == 0 {
		line = "# failing runs found by vigiltest.Check, replayed first: seed faults\n" + line
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(f, line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
