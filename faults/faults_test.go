package faults

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type pcg struct{ r *rand.Rand }

func (p pcg) Draw(n uint64, _ string) uint64 { return p.r.Uint64N(n) }

func newDrawer(seed uint64) Drawer { return pcg{rand.New(rand.NewPCG(seed, 1))} }

func TestDrawIsDeterministic(t *testing.T) {
	for seed := range uint64(50) {
		require.Equal(t, Draw(newDrawer(seed)), Draw(newDrawer(seed)), "seed %d", seed)
	}
}

// TestDrawIsASwarm checks that seeds differ in which faults they enable: some crash the runtime,
// some do not, and the rates vary.
func TestDrawIsASwarm(t *testing.T) {
	var withRuntimeCrash, withExecutorCrash, withSlowSync int
	rates := map[string]bool{}
	for seed := range uint64(200) {
		p := Draw(newDrawer(seed))
		if p.RuntimeCrashEvery > 0 {
			withRuntimeCrash++
			rates[p.RuntimeCrashEvery.String()] = true
		}
		if p.ExecutorCrashEvery > 0 {
			withExecutorCrash++
		}
		if p.SyncDelayMax > 0 {
			withSlowSync++
		}
		require.Positive(t, p.LinkDelayMax)
		require.LessOrEqual(t, p.SuspendAtOncePercent, uint64(100))
	}
	for _, n := range []int{withRuntimeCrash, withExecutorCrash, withSlowSync} {
		require.Greater(t, n, 50)
		require.Less(t, n, 150)
	}
	require.Greater(t, len(rates), 50)
}

func TestPlanString(t *testing.T) {
	s := None().String()
	require.Contains(t, s, "runtime-crash-every=off")
	require.Contains(t, s, "link-delay-max=1ms")
	crashy := None().WithCrashes(2_000_000_000)
	require.True(t, strings.Contains(crashy.String(), "runtime-crash-every=2s"), crashy.String())
	require.Contains(t, crashy.String(), "executor-crash-every=2s")
}
