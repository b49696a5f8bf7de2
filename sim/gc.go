package sim

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
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

// yieldToCollector lets the collector's background worker run between seeds. A seed never blocks:
// its coroutine switches bypass the scheduler, so on one P a mark phase the seed's allocations
// start gets no CPU until the scheduler preempts the run, ~10 ms later. All that time the write
// barrier is on and every pointer store and pointer-holding copy pays for it: in the approval
// benchmark's profile the barrier took a tenth of the CPU while marking itself took 1 %. Yielding
// once per seed (~300 µs) ends each mark phase within a seed or two (gctrace: 8–15 ms of marking
// per cycle before, 1–2 ms after). It does not touch the run: the simulation is single-threaded
// and reads no clock, so where the collector runs cannot change a trace.
func yieldToCollector() { runtime.Gosched() }
