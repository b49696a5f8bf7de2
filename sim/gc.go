package sim

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync/atomic"
)

// CampaignGCPercent is the collector's target (GOGC) that campaigns, simrun -bench and the
// scenario benchmarks run with when the environment sets no GOGC. A run keeps little alive (one
// world, its history) and allocates fast, so at the default 100 the collector runs every few
// seeds: in profiles of the approval benchmark it took a quarter to a half of the CPU. At 400 a
// campaign's heap stays a few tens of megabytes (35 MB of RSS for an approval campaign on one
// worker); higher targets measured no faster here and grow the heap in step.
const CampaignGCPercent = 400

// CampaignGC sets the collector's target to CampaignGCPercent unless the environment sets GOGC,
// and returns the function that restores the previous target.
func CampaignGC() (restore func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	old := debug.SetGCPercent(CampaignGCPercent)
	return func() { debug.SetGCPercent(old) }
}

// GCDescription says which collector target CampaignGC leaves in force, for reports.
func GCDescription() string {
	if v, set := os.LookupEnv("GOGC"); set {
		return "GOGC=" + v + " (from the environment)"
	}
	return fmt.Sprintf("GOGC=%d (the campaign default; set GOGC to override)", CampaignGCPercent)
}

// runsInFlight counts the runs going on in this process (RunSeed on any goroutine).
var runsInFlight atomic.Int32

// startRun notes a run starting, lets the collector's background worker run first if no
// processor is idle, and returns the function that notes its end.
//
// A seed never blocks: its coroutine switches bypass the scheduler. When every P runs a seed, a
// mark phase that a seed's allocations start gets no CPU until the scheduler preempts a run,
// ~10 ms later; all that time the write barrier is on and every pointer store and
// pointer-holding copy pays for it: in the approval benchmark's profile on one core the barrier
// took a tenth of the CPU while marking itself took 1 %. Yielding once per seed (~300 µs) ends
// each mark phase within a seed or two (gctrace: 8–15 ms of marking per cycle before, 1–2 ms
// after). When a P is idle the collector's worker runs there anyway, and a yield only lets the
// idle P take the run, cold, to its core: simrun -bench's one worker on two Ps measured 8 %
// slower with it. Where the collector runs cannot change a trace: the simulation is
// single-threaded and reads no clock.
func startRun() (end func()) {
	if int(runsInFlight.Add(1)) >= runtime.GOMAXPROCS(0) {
		runtime.Gosched()
	}
	return endRun
}

func endRun() { runsInFlight.Add(-1) }
