package executor_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/executor"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// TestKeptContextAfterItsCallIsReused: an attempt prepares its call in the memory of an ended
// attempt's (durable.Handler.PrepareReusing), but the context a handler kept past its run still
// reaches its own, ended attempt, which refuses it (durable.ErrContextEnded), and never the
// attempt that reuses the call: the durable call fails naming the kept context's invocation, and
// the running attempt goes on at the index it was at, its input its own.
func TestKeptContextAfterItsCallIsReused(t *testing.T) {
	defer noLeak(t)
	var kept []durable.Context
	var inputs []string
	svc := service(func(ctx durable.Context, in string) (string, error) {
		kept = append(kept, ctx)
		inputs = append(inputs, in)
		v, err := durable.Awakeable[string](ctx).Result()
		return in + v, err
	})
	h := newHarness(t, time.Minute, svc)
	first, second := invID(60), invID(61)
	h.start(first, 1, inputEntry(t, "a"))
	h.complete(first, 1, 1, value(t, "1"))
	require.Equal(t, endMsg(first, 1, 2, value(t, "a1")), h.take()[1])

	h.start(second, 1, inputEntry(t, "b")) // parked, in the call the first attempt left
	require.Len(t, h.take(), 1)
	r := catchPanic(func() { durable.Awakeable[string](kept[0]) })
	err, ok := r.(error)
	require.True(t, ok, "want an error panic, got %#v", r)
	assert.ErrorIs(t, err, durable.ErrContextEnded)
	assert.NotErrorIs(t, err, executor.ErrWrongGoroutine)
	assert.Contains(t, err.Error(), first.String(), "the kept context reached another attempt than its own")

	assert.Empty(t, h.take())
	h.complete(second, 1, 1, value(t, "2"))
	assert.Equal(t, []protocol.Message{endMsg(second, 1, 2, value(t, "b2"))}, h.take())
	assert.Equal(t, []string{"a", "b"}, inputs)
	assert.NotSame(t, kept[0], kept[1])
}
