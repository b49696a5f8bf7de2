//go:build vigil_mutants

package host_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/mutant"
)

// TestCoreAckBeforeSyncPlanted shows the planted bug where it lives: the reply leaves at Apply,
// before the group's sync.
func TestCoreAckBeforeSyncPlanted(t *testing.T) {
	mutant.Plant(mutant.AckBeforeSync)
	defer mutant.Plant(mutant.None)
	c, _, log := newTestCore(t)
	send(c, log, 1)
	require.NoError(t, c.Flush())
	require.Equal(t, coreLog{"apply", "reply 1: 202", "send start"}, *log,
		"the reply leaves before the sync, beside the gated start (the one message that may)")
}

// TestCoreIgnoreSyncErrorPlanted shows the planted bug where it lives: a failed sync is taken
// as durable and the group's effects leave.
func TestCoreIgnoreSyncErrorPlanted(t *testing.T) {
	mutant.Plant(mutant.IgnoreSyncError)
	defer mutant.Plant(mutant.None)
	c, st, log := newTestCore(t)
	send(c, log, 1)
	require.NoError(t, c.Flush())
	st.failSync = true
	require.NoError(t, c.Commit(), "the failure is ignored")
	require.Greater(t, indexOf(*log, "reply 1: 202"), indexOf(*log, "sync failed"), "the reply leaves after the failed sync")
}

// TestCoreDurableBeforeSyncPlanted shows the planted bug where it lives: the gated start's
// Durable leaves with the start at Apply, before the group's sync.
func TestCoreDurableBeforeSyncPlanted(t *testing.T) {
	mutant.Plant(mutant.DurableBeforeSync)
	defer mutant.Plant(mutant.None)
	c, _, log := newTestCore(t)
	send(c, log, 1)
	require.NoError(t, c.Flush())
	require.Equal(t, coreLog{"apply", "send start", "send durable"}, *log, "the Durable leaves before the sync")
}
