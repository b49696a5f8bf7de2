package executor_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/executor"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// TestCrashEndsWorkers: Crash ends the coroutines of parked attempts and the workers the
// executor keeps for later attempts alike, so a crashed executor leaves no goroutine; one used
// after Crash makes workers again, and the next Crash ends those.
func TestCrashEndsWorkers(t *testing.T) {
	stopIdle() // what earlier tests' executors keep is not this test's
	defer goleak.VerifyNone(t)
	h := newHarness(t, time.Minute, (&approval{}).service())
	for i := range 3 {
		h.start(invID(byte(60+i)), 1, inputEntry(t, request{Document: "d"}))
	}
	// The first gets its run acked and its decision: it ends, and its worker waits.
	h.ack(invID(60), 1, 2)
	h.complete(invID(60), 1, 1, value(t, "ok"))
	require.Equal(t, 2, h.ex.Active())
	require.Equal(t, 1, executor.IdleWorkers(h.ex))
	h.take()

	require.Len(t, h.ex.Crash(), 2)
	assert.Zero(t, executor.IdleWorkers(h.ex))
	require.NoError(t, goleak.Find(), "right after the crash")

	h.start(invID(63), 1, inputEntry(t, request{Document: "d"}))
	h.ack(invID(63), 1, 2)
	h.complete(invID(63), 1, 1, value(t, "ok"))
	h.start(invID(64), 1, inputEntry(t, request{Document: "d"}))
	require.Equal(t, 1, h.ex.Active())
	require.Len(t, h.ex.Crash(), 1)
}

// TestWorkerReusedCleanly: a worker whose handler was aborted while parked, suspended, failed on
// non-determinism or panicked runs the next attempt's handler exactly as a fresh executor's
// first worker does (same messages, same observations, its own input, a fresh random source),
// and the last handler's defers ran once, at its end, not again.
func TestWorkerReusedCleanly(t *testing.T) {
	defer noLeak(t)
	var defers []string
	svc := service(func(ctx durable.Context, in string) (string, error) {
		defer func() { defers = append(defers, in) }()
		draw := durable.Rand(ctx).Uint64()
		if in == "panic" {
			panic("boom")
		}
		v, err := durable.Awakeable[string](ctx).Result()
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s %d %s", in, draw, v), nil
	})
	next := invID(91)
	second := func(h *harness) ([]protocol.Message, []call) {
		h.take()
		h.obs.calls = nil
		h.start(next, 1, inputEntry(t, "second"))
		assert.Zero(t, executor.IdleWorkers(h.ex), "the second attempt runs on the waiting worker")
		h.complete(next, 1, 1, value(t, "ok"))
		return h.take(), h.obs.calls
	}
	wantSent, wantCalls := second(newHarness(t, time.Minute, svc))
	require.Equal(t, []protocol.Message{
		command(next, 1, 1, awakeableEntry()),
		endMsg(next, 1, 2, wantSent[1].Entry.Result),
	}, wantSent)
	require.Contains(t, string(wantSent[1].Entry.Result.Value), "second ")

	first := invID(90)
	for _, tc := range []struct {
		name  string
		input string
		j     []journal.Entry // after the input entry
		end   func(h *harness)
		how   string
	}{
		{name: "aborted", input: "first", end: func(h *harness) { h.abort(first, 1) }, how: "aborted"},
		{name: "suspended", input: "first", end: func(h *harness) { h.clock.Advance(time.Minute) }, how: "suspended"},
		{name: "non-deterministic", input: "first", j: []journal.Entry{runEntry("other", value(t, 1))}, how: "failed"},
		{name: "panicked", input: "panic", how: "panicked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defers = nil
			h := newHarness(t, time.Minute, svc)
			h.start(first, 1, append([]journal.Entry{inputEntry(t, tc.input)}, tc.j...)...)
			if tc.end != nil {
				require.Equal(t, 1, h.ex.Active(), "parked")
				tc.end(h)
			}
			require.Equal(t, []string{tc.input}, defers, "the handler's defers ran at its end")
			require.Equal(t, []string{"#1 " + tc.how}, h.obs.ended(first))
			require.Zero(t, h.ex.Active())
			require.Equal(t, 1, executor.IdleWorkers(h.ex), "its worker waits for the next attempt")

			sent, calls := second(h)
			assert.Equal(t, wantSent, sent)
			assert.Equal(t, wantCalls, calls)
			assert.Equal(t, []string{tc.input, "second"}, defers)
			assert.Equal(t, 1, executor.IdleWorkers(h.ex))
		})
	}
}
