package sim

import (
	"slices"

	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/executor"
)

// Point names a place a campaign should reach: a corner of the runtime (reported by the engine
// and the executor through their Reached hooks) or a fault of the simulator.
type Point = string

// Simulator points.
const (
	CoverCrashUnsynced        Point = "crash-between-batch-and-sync"
	CoverCrashLostWrites      Point = "crash-lost-unsynced-writes"
	CoverCrashBeforeSends     Point = "crash-after-sync-before-sends"
	CoverCrashAfterSends      Point = "crash-after-sends"
	CoverExecutorCrashAttempt Point = "executor-crash-mid-attempt"
	CoverTimerDuringCrash     Point = "timer-due-while-runtime-down"
	CoverLinkLoss             Point = "link-message-lost"
	CoverDuplicateMessage     Point = "link-message-duplicated"
	CoverRequestLost          Point = "client-request-lost"
	CoverResponseLost         Point = "client-response-lost"
	CoverPause                Point = "node-paused"
	CoverSyncFailed           Point = "sync-failed"
	CoverTornWriteDetected    Point = "torn-write-detected"
	CoverBitFlipDetected      Point = "bit-flip-detected"
)

// simulatorPoints describes the simulator's own points.
var simulatorPoints = map[Point]string{
	CoverCrashUnsynced:             "the runtime crashed with store batches applied but not synced",
	CoverCrashLostWrites:           "a runtime crash lost some unsynced batches",
	CoverCrashBeforeSends:          "the runtime crashed after a sync, before the effects it made durable were sent",
	CoverCrashAfterSends:           "the runtime crashed with nothing waiting for a sync",
	CoverExecutorCrashAttempt:      "the executor crashed with attempts in flight",
	CoverTimerDuringCrash:          "an engine timer fell due while the runtime was down",
	CoverLinkLoss:                  "an engine<->executor message was lost, breaking its attempt's stream",
	CoverDuplicateMessage:          "an engine<->executor message was delivered twice",
	CoverRequestLost:               "a client request never reached the runtime",
	CoverResponseLost:              "a response never reached its client (black hole)",
	CoverPause:                     "a node paused and resumed",
	CoverSyncFailed:                "a sync of the runtime's store failed; the runtime acknowledged nothing it covered and crash-restarted",
	CoverTornWriteDetected:         "a runtime crash tore the last batch written; its checksum caught it at restart and the batch was dropped whole",
	CoverBitFlipDetected:           "a bit flipped in a stored value at rest failed its checksum when read, and a restart set aside that record with its invocation (or did not read it), nothing else",
	executor.BuggifyTransientError: "buggify: a spurious transient failure before a durable call",
	executor.BuggifyDieAfterEffect: "buggify: an attempt died after its side effect, before journaling it",
	engine.BuggifySkipRunAck:       "buggify: the engine withheld a run's acknowledgement",
}

// PointInfo describes one point of the coverage table.
type PointInfo struct {
	Name        Point
	Description string
	// Required says a campaign over every scenario must reach the point (simrun
	// -require-coverage). A point only a client that bypasses the ingress reaches is listed,
	// not required. (Non-determinism is required: scenarios/deployment reaches it with an
	// in-place update of a handler's code.)
	Required bool
}

// optionalPoints are listed but not required; see PointInfo.Required.
var optionalPoints = map[Point]bool{
	// The ingress refuses such requests at the door, so only a client that bypasses it (a
	// test) reaches the engine's own check.
	engine.PointRequestRefused: true,
	engine.PointCommandRefused: true,
}

// Points lists every point a campaign should reach, sorted by name: the engine's, the
// executor's and the simulator's.
func Points() []PointInfo {
	var all []PointInfo
	for _, points := range []map[string]string{engine.Points, executor.Points, simulatorPoints, workloadPoints} {
		for name, d := range points {
			all = append(all, PointInfo{Name: name, Description: d, Required: !optionalPoints[name]})
		}
	}
	slices.SortFunc(all, func(a, b PointInfo) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return all
}

// buggify answers the runtime's fault points: misbehave there now, with the plan's chance, and
// only while faults are on.
func (w *World) buggify(point string) bool {
	if w.healed || w.plan.BuggifyPercent == 0 || !w.faultRand.Percent(w.plan.BuggifyPercent, point) {
		return false
	}
	w.cover(point)
	return true
}

// cover counts one reach of point p: in w.covered while the run goes, whose few points a search
// finds sooner than a map's hash and which a recycled world keeps with its capacity (the map,
// grown afresh for every seed, was a handful of allocations a run); once the Result has taken
// the counts (takeCoverage), in the map it took, as before.
func (w *World) cover(p Point) {
	if w.coverTaken {
		// What the judge reaches counts in the Result's map, if it has one (a map made now would
		// reach no one).
		if w.coverage != nil {
			w.coverage[p]++
		}
		return
	}
	for i := range w.covered {
		if w.covered[i].point == p {
			w.covered[i].n++
			return
		}
	}
	w.covered = append(w.covered, coverCount{p, 1})
}

// coverCount is how often a run reached one point.
type coverCount struct {
	point Point
	n     uint64
}

// takeCoverage returns the run's coverage counts as the Result keeps them, nil when it reached no
// point; later reaches count in the returned map (see cover).
func (w *World) takeCoverage() map[Point]uint64 {
	w.coverTaken = true
	if len(w.covered) == 0 {
		return nil
	}
	w.coverage = make(map[Point]uint64, len(w.covered))
	for _, c := range w.covered {
		w.coverage[c.point] = c.n
	}
	return w.coverage
}
