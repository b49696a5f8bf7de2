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
	shrinkUsage = "with -seed, when the seed fails: minimise its choice tape (zero draws, cut its tail,\n" +
		"then lower the values left: fewer faults, clients, steps, shorter delays, an earlier stop)\n" +
		"while the same property still fails, write it and print the sizes before and after and\n" +
		"the command that replays it (at most 500 tries, 8 per value lowered, and 2 minutes)"
)

// Bounds of one shrink.
const (
	shrinkMaxTries = 500
	shrinkMaxWall  = 2 * time.Minute
	// shrinkLowerTries bounds the runs spent lowering one draw's value: a try of the least
	// non-zero value, then seven halvings of what is left, which end within v/128 of the
	// smallest value that still fails — closer than a reader tells apart (a delay within 1% of
	// the least one). Zeroing leaves few draws non-zero (6 of 42 on the README's example, 3 of
	// them booleans that cost nothing), so the pass costs tens of runs, well inside
	// shrinkMaxTries.
	shrinkLowerTries = 8
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
	// weight is the sum of the draws' values, each as a fraction of its bound: what lowering
	// values reduces (a raw sum would be all invocation IDs and nanosecond delays).
	weight float64
	events uint64
	faults int
}

func sizeOf(t *sim.Tape, r *sim.Result) tapeSize {
	return tapeSize{draws: len(t.Draws), nonZero: t.NonZero(), weight: weightOf(t), events: r.Events, faults: planFaults(r.Plan)}
}

func weightOf(t *sim.Tape) float64 {
	w := 0.0
	for _, d := range t.Draws {
		if d.N > 0 {
			w += float64(d.Value) / float64(d.N)
		}
	}
	return w
}

func (s tapeSize) String() string {
	return fmt.Sprintf("%d draws (%d non-zero, weight %.2f), %d events, %d fault kinds on", s.draws, s.nonZero, s.weight, s.events, s.faults)
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
	// lowerTries and lowered count the lowering pass's runs and the draws it lowered.
	lowerTries, lowered int
	// best is the smallest failing tape so far (as its run consumed it, trailing zeros trimmed)
	// and bestRes its run.
	best    *sim.Tape
	bestRes *sim.Result
}

var errShrinkOut = errors.New("shrink: out of time")

// newShrinker sets up the shrink of the failing run res of sc, made with opts, whose draws tape
// recorded: the property is the run's first violation's, and the bounds are shrinkMaxTries and
// shrinkMaxWall from now.
func newShrinker(sc sim.Scenario, opts sim.Options, tape *sim.Tape, res *sim.Result) *shrinker {
	opts.Record = nil
	if opts.MaxEvents <= 0 {
		opts.MaxEvents = sim.DefaultMaxEvents
	}
	if prop := res.Violations[0].Checker; prop != "bound" {
		// A candidate may run much longer than the seed did; it is no simpler then, and
		// slow: cap it (a run under the cap is the same run without it).
		opts.MaxEvents = min(opts.MaxEvents, int(2*res.Events)+1000)
	}
	tape.TrimZeros()
	return &shrinker{sc: sc, opts: opts, property: res.Violations[0].Checker, maxTries: shrinkMaxTries,
		deadline: time.Now().Add(shrinkMaxWall), best: tape, bestRes: res}
}

// try runs the candidate tape; when the run still breaks the property, has no more events
// than the best's and its tape is simpler, it becomes the best.
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
	if o.res.Events > s.bestRes.Events || !simpler(rec, s.best) {
		// No smaller, though it fails: keep the best. A run longer than the best's is no
		// simpler to read whatever its tape: a zeroed draw or a lowered interval can make a
		// fault fire more often (approval seed 3 went from 233 events to 1466 that way).
		return false
	}
	s.best, s.bestRes = rec, o.res
	return true
}

// simpler tells whether tape a is simpler than b: fewer non-zero draws; with as many, fewer
// draws; with as many again, a lower value at the first draw where they differ. A run that
// diverges after a lowered draw records whatever it draws next, and only the first difference
// counts. The order is well-founded (counts and values are bounded below), so every accepted
// candidate is a step down that cannot be undone, and the shrink ends.
func simpler(a, b *sim.Tape) bool {
	if na, nb := a.NonZero(), b.NonZero(); na != nb {
		return na < nb
	}
	if len(a.Draws) != len(b.Draws) {
		return len(a.Draws) < len(b.Draws)
	}
	for i := range a.Draws {
		if a.Draws[i].Value != b.Draws[i].Value {
			return a.Draws[i].Value < b.Draws[i].Value
		}
	}
	return false
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

// run shrinks greedily: zeroing passes until they stop helping, then one lowering pass, then,
// if it lowered anything (a smaller bound or delay can make more draws or a longer tail
// unnecessary), the zeroing passes again. Lowering runs once: a second pass would bisect the
// values it already lowered again for little.
func (s *shrinker) run() {
	s.zero()
	if s.lower() {
		s.zero()
	}
}

// zero cuts the tape's tail (a binary search for the shortest failing prefix), then zeroes
// chunks of draws, halving the chunk size down to single draws, the plan's draws (first on the
// tape) one by one first; repeated while a pass helps.
func (s *shrinker) zero() {
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

// lower lowers each non-zero draw's value toward zero, front to back (the fault plan and the
// workload's shape first), keeping the smallest value at which the property still fails: a
// lower bound, a shorter delay, fewer clients or steps where a draw counts them. Zero itself was
// tried by the zeroing passes, so a draw of value 1 is left alone; 1 is tried first, then the
// range bisected. Each draw gets at most shrinkLowerTries runs; it reports whether any draw
// was lowered.
func (s *shrinker) lower() bool {
	progress := false
	for i := 0; i < len(s.best.Draws) && !s.out(); i++ {
		// lo is a value taken not to fail (zero: the zeroing passes found the draw needed),
		// hi the lowest known to fail. A candidate's run is the best's up to draw i and draws
		// i under the same bound, so an accepted candidate keeps draw i, at the value tried.
		orig := s.best.Draws[i].Value
		lo, hi := uint64(0), orig
		for n := 0; n < shrinkLowerTries && hi-lo > 1 && !s.out(); n++ {
			// The first try is the least non-zero value, which settles at once a draw that
			// only needs to be on (a delay that only needs to be there); then halve.
			mid := lo + (hi-lo)/2
			if n == 0 {
				mid = 1
			}
			cand := s.best.Clone()
			cand.Draws[i].Value = mid
			s.lowerTries++
			if s.try(cand) {
				hi = s.best.Draws[i].Value
			} else {
				lo = mid
			}
		}
		if s.best.Draws[i].Value < orig {
			s.lowered++
			progress = true
		}
	}
	return progress
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
		before := sizeOf(orig, o.res)
		start := time.Now()
		s := newShrinker(sc, opts, orig, o.res)
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
		fmt.Fprintf(out, "scenario %s seed %d: shrunk %q in %d tries (%d of them lowering values, %d draws lowered), %s\n",
			sc.Name, cfg.seed, s.property, s.tries, s.lowerTries, s.lowered, time.Since(start).Round(time.Millisecond))
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
