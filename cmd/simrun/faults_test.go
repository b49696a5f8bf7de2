package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/faults"
	"github.com/vigilsim/vigil/scenarios"
	"github.com/vigilsim/vigil/sim"
)

// TestFaultsFlagReachesTheRun: -faults none runs the fault-free plan, -faults light a light
// plan, the default today's swarm plan; a bad level is a usage error; the reproduce command
// repeats a level other than default.
func TestFaultsFlagReachesTheRun(t *testing.T) {
	name := scenarios.Names()[0]
	plan := func(args ...string) string {
		t.Helper()
		code, out, errs := simrun(t, append([]string{"-scenario", name, "-seed", "3", "-budget", "10s"}, args...)...)
		require.Contains(t, []int{exitOK, exitViolation}, code, errs)
		m := regexp.MustCompile(`(?m)^plan: (.*)$`).FindStringSubmatch(out)
		require.NotNil(t, m, out)
		return m[1]
	}
	assert.Equal(t, faults.None().String(), plan("-faults", "none"))
	light := plan("-faults", "light")
	assert.Contains(t, light, "link-loss=0% request-loss=0% response-loss=0%")
	assert.Contains(t, light, "buggify=0%")
	assert.NotContains(t, light, "runtime-crash-every=off")
	assert.Equal(t, plan(), plan("-faults", "default"))

	code, _, errs := simrun(t, "-faults", "heavy")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errs, `unknown fault level "heavy"`)

	for _, lvl := range faults.Levels() {
		cfg := &config{budget: defaultBudget, liveness: defaultLiveness, faults: lvl}
		cmd := cfg.reproduceCommand(&sim.Result{Scenario: name, Seed: 3})
		if lvl == faults.LevelDefault {
			assert.NotContains(t, cmd, "-faults")
		} else {
			assert.True(t, strings.HasSuffix(cmd, " -faults "+lvl.String()), cmd)
		}
	}
}
