package sim

import (
	"fmt"
	"os"
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
