package executor_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/fakeclock"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/executor"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// callClock is a fake clock with CallAfter, whose timers, like the simulator's, are never
// stopped: whatever the executor armed fires, and the attempt must ignore what it no longer
// expects.
type callClock struct {
	*fakeclock.Fake
	calls int
}

func (c *callClock) CallAfter(d time.Duration, t executor.TimerTarget, gen uint64) {
	c.calls++
	c.AfterFunc(d, func() { t.TimerFired(gen) })
}

// withCallClock rebuilds h's executor, for services, over a callClock on h's fake clock.
func withCallClock(h *harness, services ...*durable.Service) *callClock {
	c := &callClock{Fake: h.clock}
	h.ex = newExecutor(executor.Config{
		Services: services,
		Send:     func(m protocol.Message) { h.sent = append(h.sent, m) },
		Clock:    c,
		InactivityTimeout: func() time.Duration {
			h.timeouts++
			return h.timeout
		},
		Observer: h.obs,
	})
	return c
}

// TestCallClockSuspendAfterTimeout: through a CallClock a parked attempt suspends when its
// inactivity timeout has passed, and the timer of an earlier park, which fires anyway, does
// nothing.
func TestCallClockSuspendAfterTimeout(t *testing.T) {
	defer noLeak(t)
	app := &approval{}
	h := newHarness(t, 5*time.Second, app.service())
	c := withCallClock(h, app.service())
	inv := invID(8)

	h.start(inv, 1, inputEntry(t, request{Document: "d"}))
	require.Len(t, h.take(), 2)
	h.clock.Advance(5*time.Second - time.Nanosecond)
	assert.Empty(t, h.take(), "no suspension before the timeout")
	h.ack(inv, 1, 2)                 // resumes; now parked on the awakeable with a new 5 s timeout
	h.clock.Advance(4 * time.Second) // the first park's timer fires on the way
	assert.Empty(t, h.take(), "the timeout restarted at the new park")
	h.clock.Advance(time.Second)
	require.Equal(t, []protocol.Message{suspendMsg(inv, 1, 3, 1)}, h.take())
	assert.Equal(t, 0, h.ex.Active())
	assert.Equal(t, 2, c.calls, "both timers armed through CallAfter")
	assert.Equal(t, 1, app.defers)
}

// TestCallClockCompletionCancelsTimeout: through a CallClock a completion that resumes the
// handler makes its timer, which fires anyway, do nothing.
func TestCallClockCompletionCancelsTimeout(t *testing.T) {
	defer noLeak(t)
	svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
		return durable.Awakeable[string](ctx).Result()
	})
	h := newHarness(t, 5*time.Second, svc)
	withCallClock(h, svc)
	inv := invID(9)
	h.start(inv, 1, inputEntry(t, nil))
	require.Len(t, h.take(), 1)
	h.clock.Advance(3 * time.Second)
	h.complete(inv, 1, 1, value(t, "v"))
	require.Equal(t, []protocol.Message{endMsg(inv, 1, 2, value(t, "v"))}, h.take())
	h.clock.Advance(time.Hour)
	assert.Empty(t, h.take())
}
