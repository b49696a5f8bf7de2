package sim

import (
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// CheckOptions configures Check.
type CheckOptions struct {
	// Seeds is how many seeds to run (default 100).
	Seeds int
	// FirstSeed is the first seed; the run covers FirstSeed .. FirstSeed+Seeds-1.
	FirstSeed uint64
	// Options are passed to every run; their Seed is overwritten.
	Options Options
}

// Check runs sc over many seeds from a go test and fails t at the first seed that breaks a
// property, with the report and the simrun command that reproduces it.
//
//	func TestApproval(t *testing.T) {
//		sim.Check(t, approval.Scenario, sim.CheckOptions{Seeds: 500})
//	}
func Check(t testing.TB, sc Scenario, co CheckOptions) {
	t.Helper()
	if co.Seeds <= 0 {
		co.Seeds = 100
	}
	stats := Campaign(sc, co.FirstSeed, co.Seeds, co.Options, func(r *Result) bool {
		if r.Failed() {
			var b strings.Builder
			r.Report(&b, true)
			t.Errorf("%s", b.String())
			return false
		}
		return true
	})
	t.Logf("%s: %d seeds, %d events, %s virtual", sc.Name, stats.Seeds, stats.Events, stats.Virtual)
}

// CheckRapid runs sc once with every random choice drawn from t, so that rapid shrinks a failing
// run — fault plan and workload together — to a smaller one.
//
//	func TestApprovalRapid(t *testing.T) {
//		rapid.Check(t, func(t *rapid.T) { sim.CheckRapid(t, approval.Scenario) })
//	}
func CheckRapid(t *rapid.T, sc Scenario) {
	r := RunSeed(sc, Options{Source: NewRapidSource(t)})
	if r.Failed() {
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
	if co.Seeds <= 0 {
		co.Seeds = 20
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
// result; each returning false stops the campaign early.
func Campaign(sc Scenario, first uint64, n int, base Options, each func(*Result) bool) CampaignStats {
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
