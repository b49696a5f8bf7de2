package executor_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// TestCompletionBeforeStart: a completion that reaches the executor before the start of its
// attempt (the network delayed the start) is kept and completes the start's journal, so the
// handler does not park on a wake-up that already came; one for another attempt is not used.
func TestCompletionBeforeStart(t *testing.T) {
	awaitOne := func() *durable.Service {
		return service(func(ctx durable.Context, _ struct{}) (string, error) {
			return durable.Awakeable[string](ctx).Result()
		})
	}
	t.Run("kept for its attempt", func(t *testing.T) {
		defer noLeak(t)
		h := newHarness(t, time.Minute, awaitOne())
		inv := invID(1)
		h.complete(inv, 2, 1, value(t, "early"))
		assert.Empty(t, h.take(), "nothing runs before the start")
		h.start(inv, 2, inputEntry(t, nil), awakeableEntry())
		require.Equal(t, []protocol.Message{endMsg(inv, 2, 2, value(t, "early"))}, h.take())
		assert.Equal(t, 0, h.timeouts, "the handler never parked")
	})
	t.Run("not for another attempt", func(t *testing.T) {
		defer noLeak(t)
		h := newHarness(t, time.Minute, awaitOne())
		inv := invID(1)
		h.complete(inv, 1, 1, value(t, "stale"))
		h.start(inv, 2, inputEntry(t, nil), awakeableEntry())
		assert.Empty(t, h.take(), "a completion for attempt 1 does not complete attempt 2")
		h.complete(inv, 2, 1, value(t, "fresh"))
		require.Equal(t, []protocol.Message{endMsg(inv, 2, 2, value(t, "fresh"))}, h.take())
	})
}
