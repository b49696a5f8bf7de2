package engine_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/engine"
)

// TestRecycledReadiesAreTheSame drives two engines with the same inputs, one of whose Readies
// are handed back after each step (Engine.Recycle), and whose engine recovered after a restart
// is rebuilt over the old one (engine.RecoverOver): every Ready is the same either way, and a
// recycled Ready is left empty, its slices taken back.
func TestRecycledReadiesAreTheSame(t *testing.T) {
	a, b := newHarness(t), newHarness(t)
	both := func(what string, do func(h *harness)) {
		t.Helper()
		do(a)
		do(b)
		ra := a.step()
		got := engine.Ready{Batch: cloneOrNil(ra.Batch), Messages: cloneOrNil(ra.Messages), Replies: cloneOrNil(ra.Replies),
			Timers: cloneOrNil(ra.Timers), Notes: cloneOrNil(ra.Notes)}
		a.eng.Recycle(&ra)
		require.Equal(t, engine.Ready{}, ra, "%s: Recycle takes the Ready's slices", what)
		require.Equal(t, b.step(), got, "%s: the Ready filled in recycled slices", what)
	}
	both("call", func(h *harness) { h.call("Greeter", "greet", `"x"`) })
	both("awakeable", func(h *harness) { h.eng.Receive(cmd(idN(1), 1, 1, awakeableEntry())) })
	both("resolve", func(h *harness) { h.resolve(idN(1), 1, `"yes"`) })
	both("run", func(h *harness) { h.eng.Receive(cmd(idN(1), 1, 2, runEntry("r", `1`))) })
	both("end", func(h *harness) { h.eng.Receive(endMsg(idN(1), 1, 3, `"done"`)) })
	both("nothing", func(*harness) {})
	both("send", func(h *harness) { h.send("Other", "run", `"y"`) })
	both("output", func(h *harness) { h.output(idN(1)) })

	// A restart: a's engine is recovered over the old one, b's starts from nothing.
	old := a.eng
	a.reuse = true
	a.crash()
	b.crash()
	require.Same(t, old, a.eng, "RecoverOver rebuilds the old engine")
	both("recovered", func(*harness) {})
	both("call after the restart", func(h *harness) { h.call("Greeter", "approve", `"z"`) })
	both("awakeable after the restart", func(h *harness) { h.eng.Receive(cmd(idN(3), 1, 1, awakeableEntry())) })
	both("resolve after the restart", func(h *harness) { h.resolve(idN(3), 1, `"no"`) })
}

// cloneOrNil copies s, nil when it is empty: an empty recycled slice and a nil fresh one say
// the same.
func cloneOrNil[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}
