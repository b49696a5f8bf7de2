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

type recorder struct {
	pcg
	labels *[]string
}

func (r recorder) Draw(n uint64, label string) uint64 {
	*r.labels = append(*r.labels, label)
	return r.pcg.Draw(n, label)
}

// TestStorageFaultsDrawnLast: the storage faults are drawn after every other field, so that a
// seed's other fields keep the values earlier builds drew; and the swarm enables each on some
// seeds and not on others.
func TestStorageFaultsDrawnLast(t *testing.T) {
	var syncFail, torn, flip int
	for seed := range uint64(200) {
		var labels []string
		p := Draw(recorder{pcg{rand.New(rand.NewPCG(seed, 1))}, &labels})
		first := len(labels)
		for i, l := range labels {
			if l == "sync-fail" {
				first = i
				break
			}
		}
		for _, l := range labels[first:] {
			require.Contains(t, []string{"sync-fail", "sync-fail-percent", "torn-write", "torn-write-percent", "bit-flip"}, l)
		}
		require.Equal(t, "bit-flip", labels[len(labels)-1])
		require.LessOrEqual(t, p.SyncFailPercent, uint64(3))
		if p.SyncFailPercent > 0 {
			syncFail++
		}
		if p.TornWritePercent > 0 {
			torn++
		}
		if p.BitFlip {
			flip++
		}
	}
	for _, n := range []int{syncFail, torn, flip} {
		require.Greater(t, n, 50)
		require.Less(t, n, 150)
	}
	require.Contains(t, Draw(newDrawer(1)).String(), "bit-flip=")
}

// TestRateLabels: a rate drawn after its switch is labelled as the switch with "-percent", as
// it was when the label was built from the switch's: Draw spells each out.
func TestRateLabels(t *testing.T) {
	rates := 0
	for seed := range uint64(100) {
		var labels []string
		Draw(recorder{pcg{rand.New(rand.NewPCG(seed, 1))}, &labels})
		for i, l := range labels {
			if !strings.HasSuffix(l, "-percent") || l == "suspend-at-once-percent" {
				continue
			}
			rates++
			require.Positive(t, i)
			require.Equal(t, labels[i-1]+"-percent", l, "seed %d, draw %d", seed, i)
		}
	}
	require.Greater(t, rates, 100)
}
