package executor_test

// Regression tests for bugs found while writing this suite. Each names the behaviour that was
// wrong; see the comments for what happened before the fix.

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// TestFailDuringReplayIsNonDeterminism: a handler that diverges from its journal by failing the
// invocation (a malformed awakeable ID where the journal has another entry) must get a
// non-determinism error. Before the fix, attempt.Fail sent End at an index inside the journal;
// the engine only accepts an End at len(journal), so it dropped it and the invocation hung.
func TestFailDuringReplayIsNonDeterminism(t *testing.T) {
	defer noLeak(t)
	svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
		durable.ResolveAwakeable(ctx, "not-an-id", "x")
		return "", nil
	})
	h := newHarness(t, time.Minute, svc)
	inv := invID(60)
	h.start(inv, 2, inputEntry(t, nil), awakeableEntry())
	m := h.takeOne()
	msg := requireError(t, m, inv, 2)
	assert.Contains(t, msg, "non-determinism")
	assert.Contains(t, msg, "index 1")
	assert.Contains(t, msg, "awakeable")
	assert.Equal(t, 0, h.ex.Active())

	// Live, the same call is a terminal failure at the next index, as before.
	h.start(invID(61), 1, inputEntry(t, nil))
	m = h.takeOne()
	require.Equal(t, protocol.KindEnd, m.Kind)
	assert.Equal(t, uint32(1), m.Index)
	require.NotNil(t, m.Entry.Result.Failure)
	assert.Equal(t, uint16(400), m.Entry.Result.Failure.Code)
}

// TestStartOfEndedAttemptIgnored: a duplicated Start that arrives after its attempt ended
// (suspended, say) must not run the attempt again. Found while writing this suite and fixed
// meanwhile by commit 0f468ef (Executor.ended): before it the executor only compared against
// attempts still in its table, so the repeat re-ran the handler, the side effect executed a
// second time, its commands went out again and the observer saw the attempt start twice.
func TestStartOfEndedAttemptIgnored(t *testing.T) {
	defer noLeak(t)
	app := &approval{}
	h := newHarness(t, 0, app.service())
	inv := invID(62)
	in := inputEntry(t, request{Document: "d"})
	h.start(inv, 1, in)
	require.Len(t, h.take(), 3) // awakeable, run, suspend
	require.Equal(t, 1, app.runs)

	h.start(inv, 1, in) // the link duplicated the start
	assert.Empty(t, h.take())
	assert.Equal(t, 1, app.runs, "the side effect ran again")
	assert.Len(t, h.obs.of("AttemptStarted"), 1)

	// An older start is ignored too, and a newer one still runs.
	h.start(inv, 2, in, awakeableEntry(), runEntry("hand-out", value(t, awakeableID(inv, 1))))
	require.Equal(t, []protocol.Message{suspendMsg(inv, 2, 3, 1)}, h.take())
	h.start(inv, 1, in)
	assert.Empty(t, h.take())
	assert.Equal(t, 1, app.runs)

	// A crash forgets the attempts but not which ones were started.
	h.start(inv, 3, in, awakeableEntry(), runEntry("hand-out", value(t, awakeableID(inv, 1))))
	h.ex.Crash()
	h.start(inv, 3, in, awakeableEntry(), runEntry("hand-out", value(t, awakeableID(inv, 1))))
	assert.Len(t, h.obs.of("AttemptStarted"), 3)
}

// TestAckOfAwakeableDoesNotComplete: an Ack says an entry is durable, not that an awakeable has
// been completed. Before the fix an Ack for an awakeable's index marked it ready, and the waiting
// handler resumed with an empty value as if the awakeable had been resolved.
func TestAckOfAwakeableDoesNotComplete(t *testing.T) {
	defer noLeak(t)
	var got []string
	svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
		v, err := durable.Awakeable[string](ctx).Result()
		got = append(got, v)
		return v, err
	})
	h := newHarness(t, time.Minute, svc)
	inv := invID(63)
	h.start(inv, 1, inputEntry(t, nil))
	require.Len(t, h.take(), 1)
	h.ack(inv, 1, 1)
	assert.Empty(t, got, "the handler resumed on an ack of its awakeable")
	assert.Empty(t, h.take())
	h.complete(inv, 1, 1, value(t, "real"))
	assert.Equal(t, []string{"real"}, got)
	require.Equal(t, []protocol.Message{endMsg(inv, 1, 2, value(t, "real"))}, h.take())
}

// TestNestedDurableCallInRun: a Run closure that makes a durable call through the handler's
// context (RunContext offers none, but the closure can capture ctx) must fail clearly. Before
// the fix the nested call took the run's index: the awakeable went out as entry 1, the run as
// entry 2, and Run returned the awakeable's result as the run's; every replay then failed with a
// confusing non-determinism error.
func TestNestedDurableCallInRun(t *testing.T) {
	defer noLeak(t)
	svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
		return durable.Run(ctx, func(durable.RunContext) (string, error) {
			return durable.Awakeable[string](ctx).ID(), nil
		}, durable.WithName("nested"))
	})
	h := newHarness(t, time.Minute, svc)
	inv := invID(64)
	h.start(inv, 1, inputEntry(t, nil))
	m := h.takeOne()
	msg := requireError(t, m, inv, 1)
	assert.Contains(t, msg, "inside a Run")
	assert.Empty(t, h.obs.of("CommandEmitted"))
	assert.Equal(t, 0, h.ex.Active())
}

// TestRejectWithNilReason: RejectAwakeable with a nil reason used to dereference it and panic,
// which the executor turns into a retry, so the invocation retried until it gave up. It is now a
// terminal failure at once, like any other misuse of the resolve/reject API.
func TestRejectWithNilReason(t *testing.T) {
	svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
		durable.RejectAwakeable(ctx, awakeableID(invID(1), 1), nil)
		return "unreachable", nil
	})
	h := newHarness(t, time.Minute, svc)
	inv := invID(65)
	h.start(inv, 1, inputEntry(t, nil))
	m := h.takeOne()
	require.Equal(t, protocol.KindEnd, m.Kind, "got %s", m)
	require.NotNil(t, m.Entry.Result.Failure)
	assert.Equal(t, uint16(500), m.Entry.Result.Failure.Code)
	assert.Contains(t, m.Entry.Result.Failure.Message, "nil")
}

// TestRecoveredRunPanicLeavesNoGuard: the nested-call guard is lifted when a Run closure panics
// and the handler recovers, so the handler's next durable call still works and takes the index
// the failed run never journaled.
func TestRecoveredRunPanicLeavesNoGuard(t *testing.T) {
	defer noLeak(t)
	svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
		r := catchPanic(func() {
			_, _ = durable.Run(ctx, func(durable.RunContext) (int, error) { panic("side effect blew up") })
		})
		if r == nil {
			return "", durable.TerminalError(errFlaky)
		}
		return durable.Awakeable[string](ctx).Result()
	})
	h := newHarness(t, time.Minute, svc)
	inv := invID(66)
	h.start(inv, 1, inputEntry(t, nil))
	require.Equal(t, []protocol.Message{command(inv, 1, 1, awakeableEntry())}, h.take())
	h.complete(inv, 1, 1, value(t, "fine"))
	require.Equal(t, []protocol.Message{endMsg(inv, 1, 2, value(t, "fine"))}, h.take())
}
