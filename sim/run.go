package sim

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vigilsim/vigil/checkers"
	hist "github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/faults"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// Result is the outcome of one simulated run.
type Result struct {
	Scenario string
	Seed     uint64
	Plan     faults.Plan
	// Events is the number of queue events the run processed.
	Events uint64
	// Virtual is the virtual time the run covered.
	Virtual time.Duration
	// Invocations is how many invocations the engine accepted durably.
	Invocations int
	// Requests is how many requests the clients sent to the ingress.
	Requests uint64
	// TraceHash is a hash over the whole history: equal seeds must give equal hashes.
	TraceHash uint64
	// Violations are every property the run broke, checkers first, then the scenario's own.
	Violations []checkers.Violation
	// History is kept when Options.KeepHistory is set or the run has violations.
	History *checkers.History
	// Coverage counts how often the run reached each point of Points.
	Coverage map[Point]uint64
	// BusiestInstantEvents is the most events the run ran at one virtual instant: with Events,
	// the figure to compare with MaxEventsPerInstant and MaxEvents.
	BusiestInstantEvents int
	// Cut names the bound that ended the run early, BoundNone when it ran to its end. A cut run
	// carries one PropertyBound violation, first.
	Cut Bound
	// Options are the options the run was made with, defaults filled in: with Seed, what
	// ReproduceCommand needs to name the same run.
	Options Options
	// Reproduce, when set, is the command Report prints instead of ReproduceCommand: a go test
	// entry point sets it to the go test line that reruns exactly this run where the test lives.
	Reproduce string
}

// Failed reports whether the run broke any property.
func (r *Result) Failed() bool { return len(r.Violations) > 0 }

// RunSeed runs one simulation of the scenario and judges it. It runs on a world a finished run
// left (see worlds), which gives the same run, bit for bit, as a world made from nothing. Its
// executor's idle workers, which hold no handler, are kept for the next run; StopKeptWorkers
// ends them.
func RunSeed(sc Scenario, opts Options) *Result {
	w, _ := worlds.Get().(*World)
	if w == nil {
		w = &World{}
	}
	res, reusable := runOn(w, sc, opts)
	// Not reached when the run panics: a world left mid-run is dropped, never reused.
	if reusable {
		worlds.Put(w)
	}
	return res
}

// runOn runs one simulation on w, a new or recycled world (see newWorldOn). It leaves w recycled
// for a next run and reports true, unless the Result keeps the run's history: then the history is
// the world's own, which a workload may still point at (an invariant that captured it), and the
// world must not be reused.
func runOn(w *World, sc Scenario, opts Options) (*Result, bool) {
	defer startRun()()
	newWorldOn(w, sc, opts)
	w.run()
	w.endRun()
	w.close()
	res := &Result{
		Scenario:  sc.Name,
		Seed:      opts.Seed,
		Plan:      w.plan,
		Events:    w.events,
		Requests:  w.requests,
		Virtual:   w.now,
		TraceHash: hist.Hash(&w.history),
		Coverage:  w.takeCoverage(),

		BusiestInstantEvents: w.busiestInstant,
		Options:              w.opts,
	}
	for i := range w.history.Events {
		if w.history.Events[i].Kind == checkers.InvocationAccepted {
			res.Invocations++
		}
	}
	res.Violations = w.judge()
	res.Cut = w.cut
	if opts.KeepHistory || res.Failed() {
		res.History = &w.history
		return res, false
	}
	w.recycle()
	return res, true
}

// judge returns every violation of the run. A run cut short by a bound gets the bound's verdict
// first, then the checkers' (they judge any prefix of a history: on 219 runs of healthy seeds cut
// at a few hundred events they found nothing, and on a livelock they may find its cause) and what
// the simulator itself saw go wrong; but not the liveness check nor the scenario's own, which
// judge a whole run and would blame the runtime for what the cut left unfinished. An interrupted
// run is not judged at all: its driver wants it over, and the checkers can take a while.
func (w *World) judge() []checkers.Violation {
	if w.cut == BoundNone {
		if b, what := w.interrupted(Progress{Events: w.events, Virtual: w.now, Phase: PhaseJudging}); b != BoundNone {
			w.cutShort(b, what, PhaseJudging)
		}
	}
	j := w.takeJudges()
	defer w.putJudges()
	var vs []checkers.Violation
	if w.cut != BoundNone {
		vs = append(vs, w.cutViolation)
	}
	var x *checkers.Index // the history's index, once the checkers built it
	if w.cut != BoundInterrupted {
		vs = append(vs, j.all.Judge(&w.history, &j.read)...)
		x = j.all.Index()
		vs = append(vs, w.attemptViolations(j)...)
	}
	vs = append(vs, w.violations...)
	for _, err := range w.recoveryErrors {
		vs = append(vs, checkers.Violation{Checker: "recovery", Message: err.Error()})
	}
	if w.cut == BoundNone {
		vs = append(vs, w.livenessViolations()...)
		svs, read := w.storageViolations(j, x)
		vs = append(vs, svs...)
		vs = append(vs, w.workload.Check(&w.history)...)
		if w.plan.BitFlip {
			// The audit's rows are every key of the store when it read them all: nothing
			// writes to the store in between.
			var rows []checkers.Row
			if read {
				rows = w.auditRows
			}
			vs = append(vs, w.bitFlipViolations(rows, read)...)
		}
	}
	return vs
}

// livenessViolations reports invocations that did not finish within the liveness budget.
func (w *World) livenessViolations() []checkers.Violation {
	if w.runtime.eng == nil {
		return []checkers.Violation{{Checker: "liveness", Message: "the runtime node is down at the end of the run"}}
	}
	var vs []checkers.Violation
	for _, id := range w.runtime.eng.Unfinished() {
		vs = append(vs, checkers.Violation{Checker: "liveness", Invocation: id, Message: fmt.Sprintf("not finished %s after healing: %s", w.opts.LivenessBudget, w.runtime.eng.Describe(id))})
	}
	return vs
}

// Report writes a readable failure report: the seed, the plan, every violation, the command
// that reproduces the run, and (if verbose) the events around each violation.
func (r *Result) Report(out io.Writer, verbose bool) {
	fmt.Fprintf(out, "scenario %s seed %d: %d violation(s)\n", r.Scenario, r.Seed, len(r.Violations))
	fmt.Fprintf(out, "  plan: %s\n", r.Plan)
	for _, g := range groupViolations(r.Violations) {
		v := g[0]
		fmt.Fprintf(out, "  - %s\n", v)
		if verbose && r.History != nil {
			for _, i := range v.Events {
				if i >= 0 && i < len(r.History.Events) {
					fmt.Fprintf(out, "      #%d %s\n", i, r.History.Events[i])
				}
			}
		}
		if len(g) > 1 {
			fmt.Fprintf(out, "    (+%d more %s violation(s) of the same invocation; the last: %s)\n", len(g)-1, v.Checker, g[len(g)-1].Message)
		}
	}
	switch {
	case r.Reproduce != "":
		fmt.Fprintf(out, "  reproduce: %s\n", r.Reproduce)
	case r.Reproducible():
		fmt.Fprintf(out, "  reproduce: %s\n", r.ReproduceCommand())
	default:
		fmt.Fprintf(out, "  reproduce: not with simrun, which draws its own plans from the seed (%s); rerun the test that made it\n", r.whyNotReproducible())
	}
}

// groupViolations groups violations by property and invocation, in the order of each group's
// first: one broken rule of one invocation often trips many times (a replay diverging at every
// attempt end), and the report shows it once, with how many more there were.
func groupViolations(vs []checkers.Violation) [][]checkers.Violation {
	type key struct {
		checker string
		inv     protocol.InvocationID
	}
	var groups [][]checkers.Violation
	at := map[key]int{}
	for _, v := range vs {
		k := key{v.Checker, v.Invocation}
		if i, ok := at[k]; ok && !v.Invocation.IsZero() {
			groups[i] = append(groups[i], v)
			continue
		}
		at[k] = len(groups)
		groups = append(groups, []checkers.Violation{v})
	}
	return groups
}

// ReproduceCommand is the simrun command line that replays this run exactly: the scenario, the
// seed, and every option that changes what a run does and differs from its default (-faults,
// -budget, -liveness and the event caps). It names an in-tree scenario; a run simrun cannot
// draw (a custom fault plan, choices from rapid) has no such line: see Reproducible.
func (r *Result) ReproduceCommand() string {
	return fmt.Sprintf("go run ./cmd/simrun -scenario %s -seed %d", r.Scenario, r.Seed) + r.Options.Flags("-")
}

// Reproducible reports whether ReproduceCommand replays this run: false when the run's plan was
// set by hand or its choices came from a Source other than the seed's.
func (r *Result) Reproducible() bool { return r.whyNotReproducible() == "" }

func (r *Result) whyNotReproducible() string {
	switch {
	case r.Options.Source != nil:
		return "its choices came from a Source, not from the seed"
	case r.Options.Plan != nil:
		return "its fault plan was set by hand"
	}
	return ""
}

// Flags renders the options that change what a run does and differ from their defaults as
// command-line flags, each name after prefix ("-" for simrun, "-vigil." for go test): faults,
// budget, liveness, max-events and max-events-per-instant, in that order, each with a leading
// space. A zero field counts as its default, as in a run. The seed, the plan and the source are
// not flags here: the caller names the seed, and a plan or a source cannot be one.
func (o Options) Flags(prefix string) string {
	var b strings.Builder
	if o.Faults != faults.LevelDefault {
		fmt.Fprintf(&b, " %sfaults=%s", prefix, o.Faults)
	}
	if o.SafetyBudget > 0 && o.SafetyBudget != DefaultSafetyBudget {
		fmt.Fprintf(&b, " %sbudget=%s", prefix, o.SafetyBudget)
	}
	if o.LivenessBudget > 0 && o.LivenessBudget != DefaultLivenessBudget {
		fmt.Fprintf(&b, " %sliveness=%s", prefix, o.LivenessBudget)
	}
	if o.MaxEvents > 0 && o.MaxEvents != DefaultMaxEvents {
		fmt.Fprintf(&b, " %smax-events=%d", prefix, o.MaxEvents)
	}
	if o.MaxEventsPerInstant > 0 && o.MaxEventsPerInstant != DefaultMaxEventsPerInstant {
		fmt.Fprintf(&b, " %smax-events-per-instant=%d", prefix, o.MaxEventsPerInstant)
	}
	return b.String()
}

// WriteTrace writes every event of the history, one per line.
func (r *Result) WriteTrace(out io.Writer) {
	if r.History == nil {
		fmt.Fprintln(out, "(no history kept)")
		return
	}
	var b strings.Builder
	for i, e := range r.History.Events {
		b.Reset()
		fmt.Fprintf(&b, "#%-6d %s\n", i, e)
		io.WriteString(out, b.String())
	}
}
