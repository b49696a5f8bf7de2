package sim_test

import (
	"os"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/sim"
)

// TestCampaignGCSetsAndRestoresTheTarget: without GOGC in the environment, CampaignGC sets the
// collector's target to CampaignGCPercent and its restore puts the previous one back.
func TestCampaignGCSetsAndRestoresTheTarget(t *testing.T) {
	t.Setenv("GOGC", "") // registers the environment's restore at the end of the test
	require.NoError(t, os.Unsetenv("GOGC"))
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)

	restore := sim.CampaignGC()
	assert.Equal(t, sim.CampaignGCPercent, debug.SetGCPercent(sim.CampaignGCPercent), "the target in force after CampaignGC")
	restore()
	assert.Equal(t, 100, debug.SetGCPercent(100), "the target in force after its restore")
	assert.Contains(t, sim.GCDescription(), "campaign default")
}

// TestCampaignGCLeavesTheEnvironmentsTarget: with GOGC in the environment, CampaignGC changes
// nothing and the description names the environment's value.
func TestCampaignGCLeavesTheEnvironmentsTarget(t *testing.T) {
	t.Setenv("GOGC", "150")
	before := debug.SetGCPercent(150)
	defer debug.SetGCPercent(before)

	restore := sim.CampaignGC()
	assert.Equal(t, 150, debug.SetGCPercent(150), "the target in force after CampaignGC")
	restore()
	assert.Equal(t, 150, debug.SetGCPercent(150), "the target in force after its restore")
	assert.True(t, strings.HasPrefix(sim.GCDescription(), "GOGC=150 "), sim.GCDescription())
}
