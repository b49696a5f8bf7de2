package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/vigilsim/vigil/faults"
	"github.com/vigilsim/vigil/scenarios"
	"github.com/vigilsim/vigil/sim"
)

// Choice tapes (sim.Tape): -tape-out records the draws of a -seed run, -tape replays a tape bit
// for bit, -shrink minimises the tape of a failing seed while the same property still fails.

const (
	tapeUsage = "replay the choice tape in `file` (written by -tape-out or -shrink) bit for bit: the scenario,\n" +
		"the seed and the flags it ran with come from the tape (flags given here override them)"
	tapeOutUsage = "with -seed, write the run's choice tape (every draw, its label and bound) to `file`;\n" +
		"with -shrink, where the shrunk tape goes (default ./<scenario>-<seed>.tape)"
	shrinkUsage = "with -seed, when the seed fails: minimise its choice tape (zero draws, cut its tail:\n" +
		"fewer faults, clients, steps, an earlier stop) while the same property still fails,\n" +
		"write it and print the sizes before and after and the command that replays it\n" +
		"(at most 500 tries and 2 minutes)"
)

// Bounds of one shrink.
const (
	shrinkMaxTries = 500
	shrinkMaxWall  = 2 * time.Minute
)

// tapeFlags are -tape, -tape-out and -shrink.
type tapeFlags struct {
	in     string
	out    string
	shrink bool
	// tape is the tape -tape read.
	tape *sim.Tape
}

func addTapeFlags(fs *flag.FlagSet, t *tapeFlags) {
	fs.StringVar(&t.in, "tape", "", tapeUsage)
	fs.StringVar(&t.out, "tape-out", "", tapeOutUsage)
	fs.BoolVar(&t.shrink, "shrink", false, shrinkUsage)
}

// checkTapeFlags validates the tape flags once the others are parsed. With -tape it reads the
// tape, applies its flags where the command line did not set them (by parsing them into fs
// first and args again after), and makes the run a -seed run of its scenario.
func checkTapeFlags(cfg *config, fs *flag.FlagSet, args []string, set map[string]bool) error {
	t := &cfg.tapes
	switch {
	case set["tape-out"] && !cfg.reproduce:
		return usagef("-tape-out writes the tape of one -seed run; give -seed")
	case t.shrink && !cfg.reproduce:
		return usagef("-shrink minimises the tape of one failing -seed run; give -seed")
	case set["tape"] && (set["seed"] || set["seeds"] || set["first"] || set["shrink"]):
		return usagef("-tape replays a tape; it cannot be combined with -seed, -seeds, -first or -shrink")
	case set["tape-out"] && len(cfg.scenarios) != 1:
		return usagef("-tape-out writes one tape; name one scenario with -scenario")
	}
	if !set["tape"] {
		return nil
	}
	f, err := os.Open(t.in)
	if err != nil {
		return usagef("-tape: %v", err)
	}
	defer f.Close()
	tape, err := sim.ReadTape(bufio.NewReader(f))
	if err != nil {
		return usagef("-tape %s: %v", t.in, err)
	}
	sc, ok := scenarios.Lookup(tape.Scenario)
	if !ok {
		return usagef("-tape %s: unknown scenario %q", t.in, tape.Scenario)
	}
	if set["scenario"] && (len(cfg.scenarios) != 1 || cfg.scenarios[0].Name != sc.Name) {
		return usagef("-tape %s is a tape of scenario %s; -scenario names another", t.in, sc.Name)
	}
	if err := fs.Parse(strings.Fields(tape.Flags)); err != nil {
		return usagef("-tape %s: flags %q: %v", t.in, tape.Flags, err)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	t.tape = tape
	cfg.scenarios = []sim.Scenario{sc}
	cfg.seed = tape.Seed
	cfg.reproduce = true
	return nil
}

// tapeOptions adapts the options of a -seed run to the tape flags: a -tape run draws from the
// tape, a -tape-out run records into rec.
func (c *config) tapeOptions(opts sim.Options, rec *sim.Tape) sim.Options {
	if c.tapes.tape != nil {
		opts.Source = c.tapes.tape.Replay()
	}
	opts.Record = rec
	return opts
}

// replayCommand is the command that replays the tape in file with the options of c.
func (c *config) replayCommand(file string) string {
	cmd := "go run ./cmd/simrun -tape " + file
	if c.mutant != 0 {
		cmd = "go run -tags vigil_mutants ./cmd/simrun -tape " + file + " -mutant " + c.mutant.String()
	}
	return cmd
}

func writeTapeFile(file string, t *sim.Tape) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := t.Write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// tapeSize is what the shrink report compares.
type tapeSize struct {
	draws, nonZero int
	events         uint64
	faults         int
}

func sizeOf(t *sim.Tape, r *sim.Result) tapeSize {
	return tapeSize{draws: len(t.Draws), nonZero: t.NonZero(), events: r.Events, faults: planFaults(r.Plan)}
}

func (s tapeSize) String() string {
	return fmt.Sprintf("%d draws (%d non-zero), %d events, %d fault kinds on", s.draws, s.nonZero, s.events, s.faults)
}

// planFaults counts the fault kinds a plan turns on (its bounds, such as the link delay or the
// client timeout, are not faults by themselves).
func planFaults(p faults.Plan) int {
	n := 0
	for _, on := range []bool{
		p.RuntimeCrashEvery > 0, p.ExecutorCrashEvery > 0, p.SyncDelayMax > 0, p.SuspendAtOncePercent > 0,
		p.LongTailPercent > 0, p.DuplicatePercent > 0, p.LinkLossPercent > 0, p.RequestLossPercent > 0,
		p.ResponseLossPercent > 0, p.RuntimePauseEvery > 0, p.ExecutorPauseEvery > 0, p.ShuffleTies,
		p.ClockSkewMax > 0, p.ClockStepEvery > 0, p.BuggifyPercent > 0, p.TimeQuantum > 0,
		p.AckWindowPercent > 0, p.SyncFailPercent > 0, p.TornWritePercent > 0, p.BitFlip,
	} {
		if on {
			n++
		}
	}
	return n
}

// shrinker minimises the tape of one failing run.
type shrinker struct {
	sc       sim.Scenario
	opts     sim.Options
	property string
	tries    int
	maxTries int
	deadline time.Time
	// best is the smallest failing tape so far (as its run consumed it, trailing zeros trimmed)
	// and bestRes its run.
	best    *sim.Tape
	bestRes *sim.Result
}

var errShrinkOut = errors.New("shrink: out of time")

// try runs the candidate tape; when the run still breaks the property it becomes the best.
func (s *shrinker) try(cand *sim.Tape) bool {
	if s.tries >= s.maxTries || time.Now().After(s.deadline) {
		return false
	}
	s.tries++
	opts := s.opts
	opts.Source = cand.Replay()
	rec := &sim.Tape{}
	opts.Record = rec
	deadline := s.deadline
	opts.Interrupt = func(sim.Progress) error {
		if time.Now().After(deadline) {
			return errShrinkOut
		}
		return nil
	}
	o := runSeed(s.sc, opts)
	if o.panicked || !breaks(o.res, s.property) || o.res.Cut == sim.BoundInterrupted {
		return false
	}
	rec.Seed, rec.Scenario = s.best.Seed, s.best.Scenario
	rec.TrimZeros()
	if rec.NonZero() > s.best.NonZero() || (rec.NonZero() == s.best.NonZero() && len(rec.Draws) >= len(s.best.Draws)) {
		return false // no smaller, though it fails: keep the best
	}
	s.best, s.bestRes = rec, o.res
	return true
}

func breaks(r *sim.Result, property string) bool {
	for _, v := range r.Violations {
		if v.Checker == property {
			return true
		}
	}
	return false
}

func (s *shrinker) out() bool { return s.tries >= s.maxTries || time.Now().After(s.deadline) }

// run shrinks greedily: cut the tape's tail (a binary search for the shortest failing prefix),
// then zero chunks of draws, halving the chunk size down to single draws, the plan's draws
// (first on the tape) one by one first; repeated while a pass helps.
func (s *shrinker) run() {
	for progress := true; progress && !s.out(); {
		progress = false
		// The shortest failing prefix.
		lo, hi := 0, len(s.best.Draws)
		for lo < hi && !s.out() {
			mid := (lo + hi) / 2
			cand := s.best.Clone()
			cand.Draws = cand.Draws[:mid]
			if s.try(cand) {
				progress = true
				hi = min(mid, len(s.best.Draws))
			} else {
				lo = mid + 1
			}
		}
		// The first draws one by one (the fault plan, the workload's shape).
		for i := 0; i < min(64, len(s.best.Draws)) && !s.out(); i++ {
			if s.best.Draws[i].Value == 0 {
				continue
			}
			cand := s.best.Clone()
			cand.Draws[i].Value = 0
			if s.try(cand) {
				progress = true
			}
		}
		// Chunks of the rest, halving.
		for size := len(s.best.Draws) / 2; size >= 1 && !s.out(); size /= 2 {
			for start := 0; start < len(s.best.Draws) && !s.out(); start += size {
				end := min(start+size, len(s.best.Draws))
				zero := true
				for _, d := range s.best.Draws[start:end] {
					zero = zero && d.Value == 0
				}
				if zero {
					continue
				}
				cand := s.best.Clone()
				for i := start; i < end; i++ {
					cand.Draws[i].Value = 0
				}
				if s.try(cand) {
					progress = true
				}
			}
		}
	}
}

// shrinkSeeds runs the -seed run of every selected scenario recording its tape and, where it
// fails, shrinks it and writes the result.
func shrinkSeeds(cfg *config, out *bufio.Writer, stderr io.Writer) int {
	code := exitOK
	for _, sc := range cfg.scenarios {
		opts := cfg.options(cfg.seed)
		orig := &sim.Tape{}
		opts.Record = orig
		o := runSeed(sc, opts)
		if o.panicked {
			fmt.Fprintf(out, "scenario %s seed %d: panicked; a panic cannot be shrunk here:\n", sc.Name, cfg.seed)
			writeReport(out, cfg, o, true)
			code = exitViolation
			continue
		}
		if !o.res.Failed() {
			fmt.Fprintf(out, "scenario %s seed %d: no violation, nothing to shrink\n", sc.Name, cfg.seed)
			continue
		}
		code = exitViolation
		opts.Record = nil
		if prop := o.res.Violations[0].Checker; prop != "bound" {
			// A candidate may run much longer than the seed did; it is no simpler then, and
			// slow: cap it (a run under the cap is the same run without it).
			opts.MaxEvents = min(opts.MaxEvents, int(2*o.res.Events)+1000)
		}
		s := &shrinker{sc: sc, opts: opts, property: o.res.Violations[0].Checker, maxTries: shrinkMaxTries,
			deadline: time.Now().Add(shrinkMaxWall), best: orig, bestRes: o.res}
		before := sizeOf(orig, o.res)
		orig.TrimZeros()
		start := time.Now()
		s.run()
		file := cfg.tapes.out
		if file == "" {
			file = fmt.Sprintf("%s-%d.tape", sc.Name, cfg.seed)
		}
		if err := writeTapeFile(file, s.best); err != nil {
			fmt.Fprintf(stderr, "simrun: %v\n", err)
			return exitUsage
		}
		after := sizeOf(s.best, s.bestRes)
		fmt.Fprintf(out, "scenario %s seed %d: shrunk %q in %d tries, %s\n", sc.Name, cfg.seed, s.property, s.tries, time.Since(start).Round(time.Millisecond))
		fmt.Fprintf(out, "  before: %s\n  after:  %s\n", before, after)
		fmt.Fprintf(out, "  plan:   %s\n", s.bestRes.Plan)
		for _, v := range s.bestRes.Violations {
			if v.Checker == s.property {
				fmt.Fprintf(out, "  - %s\n", v)
				break
			}
		}
		fmt.Fprintf(out, "  tape:   %s\n  replay: %s\n", file, cfg.replayCommand(file))
	}
	return code
}
