package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/scenarios"
	"github.com/vigilsim/vigil/sim"
)

// A recorded tape, written and read back, replays its run with the same trace hash.
func TestTapeReplaysBitForBit(t *testing.T) {
	for _, name := range []string{"approval", "timeouts"} {
		sc, ok := scenarios.Lookup(name)
		require.True(t, ok)
		for seed := uint64(1); seed <= 4; seed++ {
			rec := &sim.Tape{}
			orig := sim.RunSeed(sc, sim.Options{Seed: seed, SafetyBudget: defaultBudget, Record: rec})
			require.NotEmpty(t, rec.Draws)
			assert.Equal(t, name, rec.Scenario)
			assert.Equal(t, seed, rec.Seed)

			var buf bytes.Buffer
			require.NoError(t, rec.Write(&buf))
			back, err := sim.ReadTape(&buf)
			require.NoError(t, err)
			require.Equal(t, rec, back)

			again := &sim.Tape{}
			replay := sim.RunSeed(sc, sim.Options{Seed: seed, Source: back.Replay(), Record: again})
			assert.Equal(t, orig.TraceHash, replay.TraceHash, "%s seed %d", name, seed)
			assert.Equal(t, orig.Plan, replay.Plan)
			assert.Equal(t, rec.Draws, again.Draws, "a replay draws what it was fed")
		}
	}
}

// An empty tape reads zero everywhere: no fault of any kind, and a healthy run.
func TestZeroTapeIsTheSimplestRun(t *testing.T) {
	empty := &sim.Tape{}
	for _, sc := range scenarios.All() {
		r := sim.RunSeed(sc, sim.Options{Source: empty.Replay()})
		assert.Zero(t, planFaults(r.Plan), "%s: %s", sc.Name, r.Plan)
		assert.False(t, r.Failed(), "%s: %v", sc.Name, r.Violations)
	}
}

func TestTapeOutAndReplay(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a.tape")
	code, out, errs := simrun(t, "-scenario", "approval", "-seed", "5", "-tape-out", file)
	require.Equal(t, exitOK, code, "%s%s", out, errs)
	assert.Contains(t, errs, "replay: go run ./cmd/simrun -tape "+file)
	hash := regexp.MustCompile(`trace hash: (\w+)`).FindStringSubmatch(out)
	require.NotNil(t, hash)

	code, out2, errs := simrun(t, "-tape", file)
	require.Equal(t, exitOK, code, "%s%s", out2, errs)
	assert.Contains(t, out2, "trace hash: "+hash[1])

	code, _, errs = simrun(t, "-tape", file, "-seed", "3")
	assert.Equal(t, exitUsage, code, errs)
	code, _, errs = simrun(t, "-tape-out", file)
	assert.Equal(t, exitUsage, code, errs)
	code, _, errs = simrun(t, "-shrink")
	assert.Equal(t, exitUsage, code, errs)
}

// A seed that breaks a property (here the event cap, the one a healthy build can be made to
// break) shrinks to a smaller tape that still breaks it, and the shrunk tape replays, with the
// flags it was recorded under, to the same verdict.
func TestShrinkKeepsTheProperty(t *testing.T) {
	file := filepath.Join(t.TempDir(), "s.tape")
	code, out, errs := simrun(t, "-scenario", "approval", "-seed", "3", "-max-events", "150", "-shrink", "-tape-out", file)
	require.Equal(t, exitViolation, code, "%s%s", out, errs)
	t.Log(out)
	m := regexp.MustCompile(`before: (\d+) draws \((\d+) non-zero, weight ([\d.]+)\), (\d+) events, (\d+) fault kinds on\n` +
		`  after:  (\d+) draws \((\d+) non-zero, weight ([\d.]+)\), (\d+) events, (\d+) fault kinds on`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	n := func(i int) float64 { v, _ := strconv.ParseFloat(m[i], 64); return v }
	assert.Less(t, n(7), n(2), "fewer non-zero draws")
	assert.LessOrEqual(t, n(6), n(1), "no more draws")
	assert.Less(t, n(8), n(3), "less weight")
	assert.LessOrEqual(t, n(10), n(5), "no more faults")
	assert.Contains(t, out, `shrunk "bound"`)
	assert.Contains(t, out, "replay: go run ./cmd/simrun -tape "+file)

	data, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Contains(t, string(data), "flags -max-events=150")
	code, out, errs = simrun(t, "-tape", file)
	assert.Equal(t, exitViolation, code, "%s%s", out, errs)
	assert.Contains(t, out, "bound")

	// A passing seed has nothing to shrink.
	code, out, _ = simrun(t, "-scenario", "approval", "-seed", "3", "-shrink", "-tape-out", file)
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "nothing to shrink")
}
