package sim

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/runtime/executor"
)

// CheckOptions configures Check.
type CheckOptions struct {
	// Seeds is how many seeds to run (default 100).
	Seeds int
	// FirstSeed is the first seed; the run covers FirstSeed .. FirstSeed+Seeds-1. Zero means 1,
	// where simrun's campaigns start too, so that "seeds 1..300 pass" means the same thing in a
	// go test and on the command line (seed 0 is still reachable through RunSeed).
	FirstSeed uint64
	// Options are passed to every run; their Seed is overwritten.
	Options Options
	// Reproduce, if set, names the command that reruns a failing run; the report prints it in
	// place of the default (the simrun line, or for a run simrun cannot draw, the go test line
	// that reruns the whole test). The vigiltest kit sets it to its -vigil.seed line.
	Reproduce func(t testing.TB, r *Result) string
}

// DefaultFirstSeed is the first seed of Check and of simrun's campaigns.
const DefaultFirstSeed = 1

// Check runs sc over many seeds from a go test and fails t at the first seed that breaks a
// property, with the report and the command that reproduces it. The failure is reported at the
// line of the caller's test, not inside Vigil.
//
//	func TestApproval(t *testing.T) {
//		sim.Check(t, approval.Scenario, sim.CheckOptions{Seeds: 500})
//	}
func Check(t testing.TB, sc Scenario, co CheckOptions) {
	t.Helper()
	if co.Seeds <= 0 {
		co.Seeds = 100
	}
	if co.FirstSeed == 0 {
		co.FirstSeed = DefaultFirstSeed
	}
	var failed *Result
	stats := Campaign(sc, co.FirstSeed, co.Seeds, co.Options, func(r *Result) bool {
		if r.Failed() {
			failed = r
			return false
		}
		return true
	})
	// Reported here rather than in the callback, so that t.Helper marks every frame between the
	// user's test and t.Errorf: Campaign is not a helper, and a failure reported from inside it
	// would point at Vigil's source instead of at the test.
	if failed != nil {
		t.Errorf("%s", FailureReport(t, failed, co.Reproduce))
		return
	}
	t.Logf("%s: %d seeds (%d..%d), %d events, %s virtual", sc.Name, stats.Seeds, co.FirstSeed, co.FirstSeed+uint64(stats.Seeds)-1, stats.Events, stats.Virtual)
}

// FailureReport renders a failing run for a go test: the verbose report (plan, violations with
// their events) ending with the reproduce command that reproduce names, or the default one (see
// CheckOptions.Reproduce).
func FailureReport(t testing.TB, r *Result, reproduce func(testing.TB, *Result) string) string {
	switch {
	case reproduce != nil:
		r.Reproduce = reproduce(t, r)
	case !r.Reproducible():
		r.Reproduce = GoTestCommand(t.Name(), "") + "   (reruns every seed of the test; the same seed fails again)"
	}
	var b strings.Builder
	r.Report(&b, true)
	return b.String()
}

// GoTestCommand is the go test command line that runs exactly the test (or subtest) called name
// in the current package, followed by flags (each with a leading space, as Options.Flags
// renders them). Each part of a subtest path is anchored and quoted, so that TestA does not also
// run TestAB.
func GoTestCommand(name, flags string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return fmt.Sprintf("go test -run '%s' -count=1 .%s", strings.Join(parts, "/"), flags)
}

// CheckRapid runs sc once with every random choice drawn from t, so that rapid shrinks a failing
// run — fault plan and workload together — to a smaller one.
//
//	func TestApprovalRapid(t *testing.T) {
//		rapid.Check(t, func(t *rapid.T) { sim.CheckRapid(t, approval.Scenario) })
//	}
func CheckRapid(t *rapid.T, sc Scenario) {
	t.Helper()
	r := RunSeed(sc, Options{Source: NewRapidSource(t)})
	if r.Failed() {
		// The run's choices came from rapid, not from a seed: rapid replays them from the fail
		// file it names, so that is the reproduction to point at.
		r.Reproduce = "rerun the test: rapid replays this run from the fail file it names below"
		var b strings.Builder
		r.Report(&b, true)
		t.Fatalf("%s", b.String())
	}
}

// CheckDeterminism runs seeds FirstSeed .. FirstSeed+Seeds-1 of sc twice each (default 20
// seeds) and fails t when a seed's two runs differ in trace hash or event count, or when fewer
// than three quarters of the seeds give distinct runs (a workload that ignores its seed tests
// little).
//
//	func TestApprovalIsDeterministic(t *testing.T) {
//		sim.CheckDeterminism(t, approval.Scenario, sim.CheckOptions{Seeds: 20})
//	}
func CheckDeterminism(t testing.TB, sc Scenario, co CheckOptions) {
	t.Helper()
	defer StopKeptWorkers()
	if co.Seeds <= 0 {
		co.Seeds = 20
	}
	if co.FirstSeed == 0 {
		co.FirstSeed = DefaultFirstSeed
	}
	distinct := map[uint64]bool{}
	for i := range co.Seeds {
		opts := co.Options
		opts.Seed = co.FirstSeed + uint64(i)
		a, b := RunSeed(sc, opts), RunSeed(sc, opts)
		if a.TraceHash != b.TraceHash || a.Events != b.Events {
			t.Fatalf("%s seed %d: two runs differ: trace hash %016x, %016x; events %d, %d",
				sc.Name, opts.Seed, a.TraceHash, b.TraceHash, a.Events, b.Events)
		}
		distinct[a.TraceHash] = true
	}
	if len(distinct)*4 < co.Seeds*3 {
		t.Fatalf("%s: %d seeds gave only %d distinct runs", sc.Name, co.Seeds, len(distinct))
	}
}

// CampaignStats sums up many runs.
type CampaignStats struct {
	Seeds       int
	Failed      int
	Events      uint64
	Invocations int
	Virtual     time.Duration
}

// Campaign runs sc over seeds first .. first+n-1 in order and calls each (if set) with every
// result; each returning false stops the campaign early. It ends the idle workers its runs kept
// (StopKeptWorkers) before it returns.
func Campaign(sc Scenario, first uint64, n int, base Options, each func(*Result) bool) CampaignStats {
	defer StopKeptWorkers()
	var s CampaignStats
	for i := range n {
		opts := base
		opts.Seed = first + uint64(i)
		r := RunSeed(sc, opts)
		s.add(r)
		if each != nil && !each(r) {
			break
		}
	}
	return s
}

// StopKeptWorkers ends the idle handler coroutines that runs keep for the runs after them (a
// run's executor hands its waiting workers, which hold no handler, to the next run's instead of
// making new ones: executor.StopKeptWorkers). Campaign, Check, CheckDeterminism and
// vigiltest.Check call it when they return, so that a goroutine-leak check after them
// (goleak.VerifyNone) finds none; a driver that calls RunSeed itself calls it when it is done.
func StopKeptWorkers() { executor.StopKeptWorkers() }

func (s *CampaignStats) add(r *Result) {
	s.Seeds++
	if r.Failed() {
		s.Failed++
	}
	s.Events += r.Events
	s.Invocations += r.Invocations
	s.Virtual += r.Virtual
}

// Add folds one result into the stats (for drivers that run seeds themselves).
func (s *CampaignStats) Add(r *Result) { s.add(r) }
