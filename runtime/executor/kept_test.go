package executor_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/executor"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// TestContextKeptPastSuspension: a context whose attempt suspended (the handler unwound while it
// waited) refuses a later call with a panic wrapping durable.ErrContextEnded, which names the
// misuse, not ErrWrongGoroutine: no goroutine is involved. The call journals nothing, and the
// invocation's next attempt is unaffected.
func TestContextKeptPastSuspension(t *testing.T) {
	defer noLeak(t)
	var kept durable.Context
	svc := service(func(ctx durable.Context, in string) (string, error) {
		if kept == nil {
			kept = ctx
		}
		v, err := durable.Awakeable[string](ctx).Result()
		return in + v, err
	})
	h := newHarness(t, 0, svc) // a parked attempt suspends at once
	inv := invID(62)
	h.start(inv, 1, inputEntry(t, "a"))
	require.Equal(t, []protocol.Message{command(inv, 1, 1, awakeableEntry()), suspendMsg(inv, 1, 2, 1)}, h.take())

	r := catchPanic(func() { durable.Awakeable[string](kept) })
	err, ok := r.(error)
	require.True(t, ok, "want an error panic, got %#v", r)
	assert.ErrorIs(t, err, durable.ErrContextEnded)
	assert.NotErrorIs(t, err, executor.ErrWrongGoroutine)
	assert.Contains(t, err.Error(), inv.String()+" attempt 1")
	assert.Empty(t, h.take())

	h.start(inv, 2, inputEntry(t, "a"), completedAwakeable(value(t, "1")))
	assert.Equal(t, []protocol.Message{endMsg(inv, 2, 2, value(t, "a1"))}, h.take())
}
