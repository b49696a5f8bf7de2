package sim_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/faults"

	"github.com/vigilsim/vigil/scenarios/approval"
	"github.com/vigilsim/vigil/scenarios/objectstate"
	"github.com/vigilsim/vigil/scenarios/reviewworkflow"
	"github.com/vigilsim/vigil/sim"
)

// TestStorageFaultsForced runs scenarios with each storage fault forced on, over crashy plans:
// every run must end without a violation (no silent corruption, no lost acknowledged write, no
// unexplained record set aside), and the fault must have been injected and detected.
func TestStorageFaultsForced(t *testing.T) {
	for _, tc := range []struct {
		name  string
		set   func(p *faults.Plan)
		point sim.Point
	}{
		{"sync-fail", func(p *faults.Plan) { p.SyncFailPercent = 20 }, sim.CoverSyncFailed},
		{"torn-write", func(p *faults.Plan) { p.TornWritePercent = 100 }, sim.CoverTornWriteDetected},
		{"bit-flip", func(p *faults.Plan) { p.BitFlip = true }, sim.CoverBitFlipDetected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := crashy
			tc.set(&plan)
			var reached uint64
			for _, sc := range []sim.Scenario{approval.Scenario, reviewworkflow.Scenario} {
				for seed := uint64(1); seed <= 15; seed++ {
					r := sim.RunSeed(sc, sim.Options{Seed: seed, Plan: &plan})
					require.False(t, r.Failed(), "seed %d: %v", seed, r.Violations)
					reached += r.Coverage[tc.point]
				}
			}
			require.Positive(t, reached, "%s was never reached", tc.point)
		})
	}
}

// TestBitFlipInEveryRecord flips a bit in every record of stores that runs cut short left (so
// that unfinished invocations, whose records recovery reads, are among them), one at a time: each
// flip must be detected, and recovery must set aside the damaged record and nothing unrelated.
func TestBitFlipInEveryRecord(t *testing.T) {
	aside := map[string]bool{}
	for _, sc := range []sim.Scenario{approval.Scenario, reviewworkflow.Scenario, objectstate.Scenario} {
		for _, maxEvents := range []int{150, 400} {
			plan := crashy
			keys, setAside, vs := sim.FlipEveryRecord(sc, sim.Options{Seed: 3, Plan: &plan, MaxEvents: maxEvents})
			require.Empty(t, vs, "%s cut at %d events", sc.Name, maxEvents)
			require.NotEmpty(t, keys)
			for _, k := range setAside {
				prefix, _, _ := strings.Cut(k, "/")
				aside[prefix] = true
			}
		}
	}
	for _, prefix := range []string{"inv", "jnl", "st", "meta"} {
		require.True(t, aside[prefix], "no %s/ record was set aside by a restart (set aside: %v)", prefix, aside)
	}
}

// TestBitFlipJudgeFails: damage the flip does not explain — a record of another invocation set
// aside by the same restart — is a storage-faults violation.
func TestBitFlipJudgeFails(t *testing.T) {
	plan := crashy
	// The first seed whose run, cut short, leaves records of two unfinished invocations.
	var vs []checkers.Violation
	tried := false
	for seed := uint64(3); seed < 20 && !tried; seed++ {
		vs, tried = sim.FlipWithUnrelatedDamage(approval.Scenario, sim.Options{Seed: seed, Plan: &plan, MaxEvents: 400})
	}
	require.True(t, tried, "no run left two unfinished invocations to damage")
	require.NotEmpty(t, vs, "a second damaged invocation went unnoticed")
	require.Equal(t, "storage-faults", vs[0].Checker)
	require.Contains(t, vs[0].Message, "which the flip does not explain")
}
