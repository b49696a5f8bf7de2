package executor_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/fakeclock"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/executor"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// TestApprovalFlow walks the seed's approval handler through one attempt: the awakeable and the
// run are sent as commands, the handler waits for the run's ack, then for the awakeable, and
// ends with its output at the next index.
func TestApprovalFlow(t *testing.T) {
	defer noLeak(t)
	app := &approval{}
	h := newHarness(t, time.Minute, app.service())
	inv := invID(1)
	id := awakeableID(inv, 1)

	h.start(inv, 1, inputEntry(t, request{Document: "doc-1"}))
	require.Equal(t, []protocol.Message{
		command(inv, 1, 1, awakeableEntry()),
		command(inv, 1, 2, runEntry("hand-out", value(t, id))),
	}, h.take())
	require.Equal(t, 1, app.runs)
	require.Equal(t, []string{id}, app.handed)
	assert.Equal(t, 0, app.acked, "Run must wait for its ack before it returns")
	assert.Equal(t, 1, h.ex.Active())
	assert.Equal(t, 1, h.clock.Pending(), "a parked attempt arms its inactivity timer")

	h.ack(inv, 1, 2)
	assert.Equal(t, 1, app.acked, "the ack resumes the handler")
	assert.Empty(t, h.take(), "awaiting the awakeable parks without a message")
	assert.Equal(t, 1, h.ex.Active())
	assert.Equal(t, 1, h.clock.Pending(), "the old timer is stopped, a new one armed")

	h.complete(inv, 1, 1, value(t, "approved"))
	require.Equal(t, []protocol.Message{endMsg(inv, 1, 3, value(t, "review of doc-1: approved"))}, h.take())
	assert.Equal(t, 0, h.ex.Active())
	assert.Equal(t, 0, h.clock.Pending())
	assert.Equal(t, 1, app.defers)
	assert.Equal(t, 1, app.runs)
	assert.Equal(t, 2, h.timeouts, "one inactivity timeout per park")

	// The observer saw the whole story, in order.
	var methods []string
	for _, c := range h.obs.calls {
		methods = append(methods, fmt.Sprintf("%s[%d]", c.Method, c.Index))
	}
	assert.Equal(t, []string{
		"AttemptStarted[0]", "CommandEmitted[1]", "RunExecuted[2]", "CommandEmitted[2]",
		"ValueObserved[2]", "ValueObserved[1]", "AttemptEnded[0]",
	}, methods)
	assert.Equal(t, []string{"#1 done"}, h.obs.ended(inv))
	assert.Equal(t, []journal.Entry{inputEntry(t, request{Document: "doc-1"})}, h.obs.of("AttemptStarted")[0].Journal)
	observed := h.obs.of("ValueObserved")
	assert.Equal(t, journal.KindRun, observed[0].Kind)
	assert.True(t, observed[0].Result.Equal(value(t, id)))
	assert.Equal(t, journal.KindAwakeable, observed[1].Kind)
	assert.True(t, observed[1].Result.Equal(value(t, "approved")))

	// Anything after the end is dropped.
	h.complete(inv, 1, 1, value(t, "late"))
	h.ack(inv, 1, 2)
	h.abort(inv, 1)
	assert.Empty(t, h.take())
}

// TestAckBeforeAwaitIsRemembered: an ack or completion for an index the handler is not waiting
// on yet is kept and used when it gets there.
func TestAckAndCompletionAhead(t *testing.T) {
	defer noLeak(t)
	// Two awakeables created before either is awaited; the second completes first.
	var order []string
	svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
		a := durable.Awakeable[string](ctx)
		b := durable.Awakeable[string](ctx)
		va, err := a.Result()
		if err != nil {
			return "", err
		}
		order = append(order, "a")
		vb, err := b.Result()
		if err != nil {
			return "", err
		}
		order = append(order, "b")
		return va + vb, nil
	})
	h := newHarness(t, time.Minute, svc)
	inv := invID(1)
	h.start(inv, 1, inputEntry(t, nil))
	require.Len(t, h.take(), 2)
	h.complete(inv, 1, 2, value(t, "B"))
	assert.Empty(t, h.take())
	assert.Empty(t, order, "completing the other index must not resume the handler")
	h.complete(inv, 1, 1, value(t, "A"))
	assert.Equal(t, []string{"a", "b"}, order)
	require.Equal(t, []protocol.Message{endMsg(inv, 1, 3, value(t, "AB"))}, h.take())
	assert.Equal(t, 1, h.timeouts, "b was ready: only one park")
}

// TestRejection: a rejected awakeable is a terminal error in the handler (code 500, message =
// reason); returned, it fails the invocation; caught, the handler goes on.
func TestRejection(t *testing.T) {
	for _, catch := range []bool{false, true} {
		t.Run(fmt.Sprintf("catch=%t", catch), func(t *testing.T) {
			defer noLeak(t)
			app := &approval{catchErr: catch}
			h := newHarness(t, time.Minute, app.service())
			inv := invID(2)
			h.start(inv, 1, inputEntry(t, request{Document: "d"}))
			require.Len(t, h.take(), 2)
			h.ack(inv, 1, 2)
			h.complete(inv, 1, 1, failure(500, "not today"))

			require.Error(t, app.seenErr)
			assert.True(t, durable.IsTerminalError(app.seenErr))
			assert.Equal(t, uint16(500), durable.ErrorCode(app.seenErr))
			assert.Equal(t, "not today", app.seenErr.Error())

			want := failure(500, "not today")
			if catch {
				want = value(t, "rejected: not today")
			}
			require.Equal(t, []protocol.Message{endMsg(inv, 1, 3, want)}, h.take())
			assert.Equal(t, []string{"#1 done"}, h.obs.ended(inv))
		})
	}
}

// TestRejectionKeepsCode: a rejection with another code reaches the handler with that code.
func TestRejectionKeepsCode(t *testing.T) {
	app := &approval{}
	h := newHarness(t, time.Minute, app.service())
	inv := invID(2)
	h.start(inv, 1, inputEntry(t, request{}), completedAwakeable(failure(409, "Cancelled")), runEntry("hand-out", value(t, awakeableID(inv, 1))))
	require.Equal(t, []protocol.Message{endMsg(inv, 1, 3, failure(409, "Cancelled"))}, h.take())
	assert.Equal(t, uint16(409), durable.ErrorCode(app.seenErr))
}

// TestReplay: a journal with the awakeable completed and the run journaled replays without a
// command, without running the side effect, and gives the handler the journaled values.
func TestReplay(t *testing.T) {
	defer noLeak(t)
	app := &approval{}
	h := newHarness(t, time.Minute, app.service())
	inv := invID(3)
	id := awakeableID(inv, 1)
	j := []journal.Entry{
		inputEntry(t, request{Document: "doc"}),
		completedAwakeable(value(t, "yes")),
		runEntry("hand-out", value(t, id)),
	}
	h.start(inv, 4, j...)
	require.Equal(t, []protocol.Message{endMsg(inv, 4, 3, value(t, "review of doc: yes"))}, h.take())
	assert.Equal(t, 0, app.runs, "a journaled run is never executed again")
	assert.Empty(t, h.obs.of("RunExecuted"))
	assert.Empty(t, h.obs.of("CommandEmitted"))
	assert.Equal(t, 0, h.timeouts, "nothing to wait for")

	observed := h.obs.of("ValueObserved")
	require.Len(t, observed, 2)
	for _, o := range observed {
		assert.Equal(t, uint32(4), o.Attempt)
		assert.Equal(t, j[o.Index].Kind, o.Kind)
		assert.True(t, j[o.Index].Result.Equal(o.Result), "index %d: observed %s, journal %s", o.Index, o.Result, j[o.Index].Result)
	}
	// The journal handed to the observer is the start journal.
	assert.Equal(t, j, h.obs.of("AttemptStarted")[0].Journal)
}

// TestReplayThenContinue: a journal that stops part-way replays its prefix and then goes on
// producing commands from the next index.
func TestReplayThenContinue(t *testing.T) {
	t.Run("awakeable pending, run journaled", func(t *testing.T) {
		defer noLeak(t)
		app := &approval{}
		h := newHarness(t, time.Minute, app.service())
		inv := invID(4)
		h.start(inv, 2, inputEntry(t, request{Document: "x"}), awakeableEntry(), runEntry("hand-out", value(t, awakeableID(inv, 1))))
		assert.Empty(t, h.take(), "replayed entries are not sent again")
		assert.Equal(t, 0, app.runs)
		assert.Equal(t, 1, app.acked, "a journaled run needs no ack")
		assert.Equal(t, 1, h.ex.Active())
		h.complete(inv, 2, 1, value(t, "ok"))
		require.Equal(t, []protocol.Message{endMsg(inv, 2, 3, value(t, "review of x: ok"))}, h.take())
	})
	t.Run("only the awakeable journaled", func(t *testing.T) {
		defer noLeak(t)
		app := &approval{}
		h := newHarness(t, time.Minute, app.service())
		inv := invID(5)
		id := awakeableID(inv, 1)
		h.start(inv, 2, inputEntry(t, request{Document: "x"}), completedAwakeable(value(t, "early")))
		require.Equal(t, []protocol.Message{command(inv, 2, 2, runEntry("hand-out", value(t, id)))}, h.take())
		assert.Equal(t, 1, app.runs)
		assert.Equal(t, []call{{Method: "RunExecuted", Inv: inv, Attempt: 2, Index: 2}}, h.obs.of("RunExecuted"))
		h.ack(inv, 2, 2)
		require.Equal(t, []protocol.Message{endMsg(inv, 2, 3, value(t, "review of x: early"))}, h.take())
	})
}

// TestNonDeterminism: a handler that diverges from its journal gets a retryable error that names
// the index and both entries; it never overwrites the journal.
func TestNonDeterminism(t *testing.T) {
	inv := invID(6)
	tests := []struct {
		name    string
		handler func(durable.Context, struct{}) (string, error)
		journal []journal.Entry
		want    []string
	}{
		{
			name: "awakeable where the journal has a run",
			handler: func(ctx durable.Context, _ struct{}) (string, error) {
				v, err := durable.Awakeable[string](ctx).Result()
				return v, err
			},
			journal: []journal.Entry{runEntry("fetch", value(t, 7))},
			want:    []string{"non-determinism", "index 1", `run name="fetch"`, "awakeable"},
		},
		{
			name: "run where the journal has an awakeable",
			handler: func(ctx durable.Context, _ struct{}) (string, error) {
				return durable.Run(ctx, func(durable.RunContext) (string, error) { return "x", nil }, durable.WithName("fetch"))
			},
			journal: []journal.Entry{awakeableEntry()},
			want:    []string{"non-determinism", "index 1", "awakeable", `run name="fetch"`},
		},
		{
			name: "run with another name",
			handler: func(ctx durable.Context, _ struct{}) (string, error) {
				return durable.Run(ctx, func(durable.RunContext) (string, error) { return "x", nil }, durable.WithName("store"))
			},
			journal: []journal.Entry{runEntry("fetch", value(t, "x"))},
			want:    []string{"index 1", `name="fetch"`, `name="store"`},
		},
		{
			name: "resolve with another value",
			handler: func(ctx durable.Context, _ struct{}) (string, error) {
				durable.ResolveAwakeable(ctx, awakeableID(invID(9), 1), "b")
				return "", nil
			},
			journal: []journal.Entry{{Kind: journal.KindCompleteAwakeable, Target: awakeableID(invID(9), 1), Param: value(t, "a")}},
			want:    []string{"index 1", `value("a")`, `value("b")`},
		},
		{
			name: "returns while the journal has more entries",
			handler: func(ctx durable.Context, _ struct{}) (string, error) {
				durable.Awakeable[string](ctx)
				return "done early", nil
			},
			journal: []journal.Entry{awakeableEntry(), runEntry("later", value(t, 1))},
			want:    []string{"non-determinism", "index 2", `run name="later"`, "output", "returned early"},
		},
		{
			name: "fails with a terminal error while the journal has more entries",
			handler: func(ctx durable.Context, _ struct{}) (string, error) {
				return "", durable.TerminalError(errors.New("give up"), 422)
			},
			journal: []journal.Entry{awakeableEntry()},
			want:    []string{"non-determinism", "index 1", "awakeable", "give up"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer noLeak(t)
			h := newHarness(t, time.Minute, service(tt.handler))
			h.start(inv, 3, append([]journal.Entry{inputEntry(t, nil)}, tt.journal...)...)
			msg := requireError(t, h.takeOne(), inv, 3)
			for _, w := range tt.want {
				assert.Contains(t, msg, w)
			}
			assert.Equal(t, 0, h.ex.Active())
			assert.Equal(t, []string{"#3 failed"}, h.obs.ended(inv))
			assert.Empty(t, h.obs.of("CommandEmitted"))
		})
	}
}

// TestSuspendAtOnce: with an inactivity timeout of zero a parked attempt suspends right away,
// naming the index it waits on and the number of entries it knows, and leaves nothing behind.
func TestSuspendAtOnce(t *testing.T) {
	defer noLeak(t)
	app := &approval{}
	h := newHarness(t, 0, app.service())
	inv := invID(7)
	id := awakeableID(inv, 1)

	h.start(inv, 1, inputEntry(t, request{Document: "d"}))
	require.Equal(t, []protocol.Message{
		command(inv, 1, 1, awakeableEntry()),
		command(inv, 1, 2, runEntry("hand-out", value(t, id))),
		suspendMsg(inv, 1, 3, 2), // waits for the run's ack
	}, h.take())
	assert.Equal(t, 0, h.ex.Active())
	assert.Equal(t, 1, app.defers, "suspending unwinds the handler")
	assert.Equal(t, 0, h.clock.Pending())
	assert.Equal(t, []string{"#1 suspended"}, h.obs.ended(inv))
	noLeak(t) // the coroutine is gone at once, not only at the end of the test

	// Messages for the suspended attempt are dropped.
	h.ack(inv, 1, 2)
	assert.Empty(t, h.take())

	// The engine resumes it with the run journaled; it now waits on the awakeable.
	h.start(inv, 2, inputEntry(t, request{Document: "d"}), awakeableEntry(), runEntry("hand-out", value(t, id)))
	require.Equal(t, []protocol.Message{suspendMsg(inv, 2, 3, 1)}, h.take())
	noLeak(t)

	h.start(inv, 3, inputEntry(t, request{Document: "d"}), completedAwakeable(value(t, "fine")), runEntry("hand-out", value(t, id)))
	require.Equal(t, []protocol.Message{endMsg(inv, 3, 3, value(t, "review of d: fine"))}, h.take())
	assert.Equal(t, 1, app.runs, "the run executed once over three attempts")
	assert.Equal(t, 3, app.defers)
	assert.Equal(t, []string{"#1 suspended", "#2 suspended", "#3 done"}, h.obs.ended(inv))
}

// TestSuspendAfterTimeout: a parked attempt suspends only when its inactivity timeout has
// passed on the clock; every park starts a fresh timeout.
func TestSuspendAfterTimeout(t *testing.T) {
	defer noLeak(t)
	app := &approval{}
	h := newHarness(t, 5*time.Second, app.service())
	inv := invID(8)

	h.start(inv, 1, inputEntry(t, request{Document: "d"}))
	require.Len(t, h.take(), 2)
	h.clock.Advance(5*time.Second - time.Nanosecond)
	assert.Empty(t, h.take(), "no suspension before the timeout")
	h.ack(inv, 1, 2) // resumes; now parked on the awakeable with a new 5 s timeout
	assert.Equal(t, 1, h.clock.Pending())
	h.clock.Advance(4 * time.Second)
	assert.Empty(t, h.take(), "the timeout restarted at the new park")
	h.clock.Advance(time.Second)
	require.Equal(t, []protocol.Message{suspendMsg(inv, 1, 3, 1)}, h.take())
	assert.Equal(t, 0, h.ex.Active())
	assert.Equal(t, 0, h.clock.Pending())
	assert.Equal(t, 1, app.defers)
	noLeak(t)

	h.complete(inv, 1, 1, value(t, "late"))
	h.clock.Advance(time.Hour)
	assert.Empty(t, h.take())
}

// TestCompletionCancelsTimeout: a completion that resumes the handler stops its inactivity
// timer; a completion for another index does not.
func TestCompletionCancelsTimeout(t *testing.T) {
	t.Run("resumed", func(t *testing.T) {
		defer noLeak(t)
		svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
			return durable.Awakeable[string](ctx).Result()
		})
		h := newHarness(t, 5*time.Second, svc)
		inv := invID(9)
		h.start(inv, 1, inputEntry(t, nil))
		require.Len(t, h.take(), 1)
		h.clock.Advance(3 * time.Second)
		h.complete(inv, 1, 1, value(t, "v"))
		require.Equal(t, []protocol.Message{endMsg(inv, 1, 2, value(t, "v"))}, h.take())
		assert.Equal(t, 0, h.clock.Pending(), "the timer was stopped")
		h.clock.Advance(time.Hour)
		assert.Empty(t, h.take())
	})
	t.Run("other index", func(t *testing.T) {
		defer noLeak(t)
		svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
			a := durable.Awakeable[string](ctx)
			durable.Awakeable[string](ctx)
			return a.Result()
		})
		h := newHarness(t, 5*time.Second, svc)
		inv := invID(9)
		h.start(inv, 1, inputEntry(t, nil))
		require.Len(t, h.take(), 2)
		h.complete(inv, 1, 2, value(t, "v"))
		h.clock.Advance(5 * time.Second)
		require.Equal(t, []protocol.Message{suspendMsg(inv, 1, 3, 1)}, h.take())
	})
}

// TestAbort: an abort stops the attempt silently, runs the handler's defers and leaves no
// goroutine; an abort of another attempt number does nothing.
func TestAbort(t *testing.T) {
	defer noLeak(t)
	app := &approval{}
	h := newHarness(t, time.Minute, app.service())
	inv := invID(10)
	h.start(inv, 2, inputEntry(t, request{}))
	require.Len(t, h.take(), 2)

	h.abort(inv, 1)
	h.abort(inv, 3)
	h.abort(invID(11), 2)
	assert.Equal(t, 1, h.ex.Active(), "aborts of other attempts are ignored")
	assert.Equal(t, 0, app.defers)

	h.abort(inv, 2)
	assert.Empty(t, h.take(), "an abort sends nothing")
	assert.Equal(t, 0, h.ex.Active())
	assert.Equal(t, 1, app.defers)
	assert.Equal(t, 0, h.clock.Pending())
	assert.Equal(t, []string{"#2 aborted"}, h.obs.ended(inv))
	noLeak(t)

	h.ack(inv, 2, 2)
	h.abort(inv, 2)
	assert.Empty(t, h.take())
	assert.Equal(t, 1, app.defers)
}

// TestCrash: a crash aborts every attempt (defers run, no goroutine left) and returns one
// retryable Error per attempt, in invocation order, without sending anything itself.
func TestCrash(t *testing.T) {
	defer noLeak(t)
	app := &approval{}
	h := newHarness(t, time.Minute, app.service())
	ids := []protocol.InvocationID{invID(3), {0: 0x01}, invID(1), {0: 0xff, 15: 1}}
	for i, inv := range ids {
		h.start(inv, uint32(i+1), inputEntry(t, request{}))
	}
	h.ack(invID(1), 3, 2) // one of them parked on its awakeable rather than its run
	require.Len(t, h.take(), 2*len(ids))
	require.Equal(t, len(ids), h.ex.Active())

	lost := h.ex.Crash()
	assert.Empty(t, h.take(), "Crash returns the errors, it does not send them")
	want := []protocol.InvocationID{{0: 0x01}, invID(1), invID(3), {0: 0xff, 15: 1}}
	require.Len(t, lost, len(want))
	attempts := map[protocol.InvocationID]uint32{invID(3): 1, {0: 0x01}: 2, invID(1): 3, {0: 0xff, 15: 1}: 4}
	for i, m := range lost {
		requireError(t, m, want[i], attempts[want[i]])
		assert.NotEmpty(t, m.Message)
	}
	assert.Equal(t, len(ids), app.defers)
	assert.Equal(t, 0, h.ex.Active())
	assert.Equal(t, 0, h.clock.Pending())
	for _, inv := range ids {
		assert.Equal(t, []string{fmt.Sprintf("#%d crashed", attempts[inv])}, h.obs.ended(inv))
	}
	noLeak(t)

	assert.Empty(t, h.ex.Crash(), "nothing left to crash")
	h.clock.Advance(time.Hour)
	assert.Empty(t, h.take())
}

// TestStaleMessages: completions and acks of an older attempt are ignored; a duplicate start is
// ignored; a newer start supersedes the running attempt.
func TestStaleMessages(t *testing.T) {
	defer noLeak(t)
	app := &approval{}
	h := newHarness(t, time.Minute, app.service())
	inv := invID(12)
	id := awakeableID(inv, 1)
	in := inputEntry(t, request{Document: "s"})

	h.start(inv, 2, in)
	require.Equal(t, []protocol.Message{
		command(inv, 2, 1, awakeableEntry()),
		command(inv, 2, 2, runEntry("hand-out", value(t, id))),
	}, h.take())

	h.ack(inv, 1, 2)
	h.complete(inv, 1, 1, value(t, "stale"))
	assert.Equal(t, 0, app.acked, "an ack of an older attempt is ignored")
	h.start(inv, 2, in)
	h.start(inv, 1, in)
	assert.Empty(t, h.take(), "a duplicate or older start is ignored")
	assert.Equal(t, 1, app.runs)
	assert.Len(t, h.obs.of("AttemptStarted"), 1)

	h.ack(inv, 2, 2)
	assert.Equal(t, 1, app.acked)
	h.ack(inv, 2, 2) // a duplicate ack changes nothing
	assert.Equal(t, 1, app.acked)

	// A newer start supersedes attempt 2 (the engine retried it, say).
	h.start(inv, 3, in, awakeableEntry(), runEntry("hand-out", value(t, id)))
	assert.Empty(t, h.take())
	assert.Equal(t, []string{"#2 superseded"}, h.obs.ended(inv))
	assert.Equal(t, 1, app.defers, "the superseded attempt's defers ran")
	assert.Equal(t, 1, h.ex.Active())

	h.complete(inv, 2, 1, value(t, "for the old attempt"))
	assert.Empty(t, h.take())
	h.complete(inv, 3, 1, value(t, "new"))
	require.Equal(t, []protocol.Message{endMsg(inv, 3, 3, value(t, "review of s: new"))}, h.take())
	h.complete(inv, 3, 1, value(t, "dup"))
	assert.Empty(t, h.take())
	assert.Equal(t, 1, app.runs)
}

// TestFirstCompletionWins: a second completion of the same index, even with another value, does
// not change what the handler saw.
func TestFirstCompletionWins(t *testing.T) {
	var seen []string
	svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
		a := durable.Awakeable[string](ctx)
		b := durable.Awakeable[string](ctx)
		vb, _ := b.Result()
		seen = append(seen, vb)
		va, _ := a.Result()
		seen = append(seen, va)
		return va, nil
	})
	h := newHarness(t, time.Minute, svc)
	inv := invID(13)
	h.start(inv, 1, inputEntry(t, nil))
	h.take()
	h.complete(inv, 1, 1, value(t, "first"))
	h.complete(inv, 1, 1, value(t, "second"))
	h.complete(inv, 1, 1, failure(500, "third"))
	h.complete(inv, 1, 2, value(t, "b"))
	assert.Equal(t, []string{"b", "first"}, seen)
	require.Equal(t, []protocol.Message{endMsg(inv, 1, 3, value(t, "first"))}, h.take())
}

// TestCompletionOfWrongKindIgnored: a completion for the input, a run or an index past the
// journal changes nothing.
func TestCompletionOfWrongKindIgnored(t *testing.T) {
	defer noLeak(t)
	app := &approval{}
	h := newHarness(t, time.Minute, app.service())
	inv := invID(14)
	h.start(inv, 1, inputEntry(t, request{}))
	h.take()
	h.complete(inv, 1, 0, value(t, "x"))
	h.complete(inv, 1, 2, value(t, "x"))
	h.complete(inv, 1, 3, value(t, "x"))
	h.complete(inv, 1, 1<<31, value(t, "x"))
	h.ack(inv, 1, 99)
	assert.Equal(t, 0, app.acked)
	assert.Empty(t, h.take())
	h.ack(inv, 1, 2)
	h.complete(inv, 1, 1, value(t, "ok"))
	require.Equal(t, protocol.KindEnd, h.takeOne().Kind)
}

// TestHandlerPanic: a panic in handler code becomes a retryable error carrying the panic value,
// before and after a park, and never escapes Deliver.
func TestHandlerPanic(t *testing.T) {
	t.Run("before parking", func(t *testing.T) {
		defer noLeak(t)
		deferred := false
		svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
			defer func() { deferred = true }()
			durable.Awakeable[string](ctx)
			panic("boom at start")
		})
		h := newHarness(t, time.Minute, svc)
		inv := invID(15)
		require.NotPanics(t, func() { h.start(inv, 1, inputEntry(t, nil)) })
		ms := h.take()
		require.Len(t, ms, 2)
		assert.Equal(t, protocol.KindCommand, ms[0].Kind)
		assert.Contains(t, requireError(t, ms[1], inv, 1), "boom at start")
		assert.True(t, deferred)
		assert.Equal(t, []string{"#1 panicked"}, h.obs.ended(inv))
		assert.Equal(t, 0, h.ex.Active())
	})
	t.Run("with an Unwind it kept", func(t *testing.T) {
		// durable.Unwind is the attempt's abort only while it is aborted; one the handler kept (of
		// a replay's stop, say) and panics with again is its own panic, and the attempt fails.
		defer noLeak(t)
		svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
			durable.Awakeable[string](ctx)
			panic(durable.Unwind{})
		})
		h := newHarness(t, time.Minute, svc)
		inv := invID(16)
		require.NotPanics(t, func() { h.start(inv, 1, inputEntry(t, nil)) })
		ms := h.take()
		require.Len(t, ms, 2)
		assert.Contains(t, requireError(t, ms[1], inv, 1), "handler panicked")
		assert.Equal(t, []string{"#1 panicked"}, h.obs.ended(inv))
		assert.Equal(t, 0, h.ex.Active())
	})
	t.Run("after resuming", func(t *testing.T) {
		defer noLeak(t)
		svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
			v, _ := durable.Awakeable[int](ctx).Result()
			var s []int
			_ = s[v+5] // an index out of range: a runtime error
			return "", nil
		})
		h := newHarness(t, time.Minute, svc)
		inv := invID(16)
		h.start(inv, 1, inputEntry(t, nil))
		h.take()
		require.NotPanics(t, func() { h.complete(inv, 1, 1, value(t, 3)) })
		msg := requireError(t, h.takeOne(), inv, 1)
		assert.Contains(t, msg, "index out of range")
		assert.Equal(t, 0, h.clock.Pending())
	})
	t.Run("error value", func(t *testing.T) {
		svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
			panic(fmt.Errorf("wrapped: %w", errFlaky))
		})
		h := newHarness(t, time.Minute, svc)
		h.start(invID(17), 1, inputEntry(t, nil))
		assert.Contains(t, requireError(t, h.takeOne(), invID(17), 1), "wrapped: flaky side effect")
	})
}

// TestHandlerError: a plain error returned by the handler retries; a terminal one ends it.
func TestHandlerError(t *testing.T) {
	svc := service(func(ctx durable.Context, in string) (string, error) {
		if in == "retry" {
			return "", errFlaky
		}
		return "", durable.TerminalError(errors.New("bad request"), 422)
	})
	h := newHarness(t, time.Minute, svc)
	h.start(invID(18), 1, inputEntry(t, "retry"))
	assert.Equal(t, errFlaky.Error(), requireError(t, h.takeOne(), invID(18), 1))
	assert.Equal(t, []string{"#1 failed"}, h.obs.ended(invID(18)))
	h.start(invID(19), 1, inputEntry(t, "stop"))
	require.Equal(t, []protocol.Message{endMsg(invID(19), 1, 1, failure(422, "bad request"))}, h.take())
}

// TestRunNonTerminalError: a plain error from a Run closure retries the attempt and journals
// nothing for the run.
func TestRunNonTerminalError(t *testing.T) {
	defer noLeak(t)
	deferred := false
	svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
		defer func() { deferred = true }()
		durable.Awakeable[string](ctx)
		_, err := durable.Run(ctx, func(durable.RunContext) (int, error) { return 0, errFlaky }, durable.WithName("flaky"))
		return "unreachable", err
	})
	h := newHarness(t, time.Minute, svc)
	inv := invID(20)
	h.start(inv, 1, inputEntry(t, nil))
	ms := h.take()
	require.Len(t, ms, 2)
	assert.Equal(t, command(inv, 1, 1, awakeableEntry()), ms[0])
	msg := requireError(t, ms[1], inv, 1)
	assert.Contains(t, msg, "flaky side effect")
	assert.Contains(t, msg, "index 2")
	assert.True(t, deferred)
	assert.Len(t, h.obs.of("CommandEmitted"), 1)
	assert.Equal(t, []string{"#1 failed"}, h.obs.ended(inv))
}

// TestRunTerminalError: a terminal error from a Run closure is journaled as the run's failure
// and returned as a terminal error, now and on replay.
func TestRunTerminalError(t *testing.T) {
	defer noLeak(t)
	execs := 0
	var seen error
	svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
		_, err := durable.Run(ctx, func(durable.RunContext) (int, error) {
			execs++
			return 0, durable.TerminalError(errors.New("card declined"), 402)
		}, durable.WithName("charge"))
		seen = err
		return "", err
	})
	h := newHarness(t, time.Minute, svc)
	inv := invID(21)
	h.start(inv, 1, inputEntry(t, nil))
	require.Equal(t, []protocol.Message{command(inv, 1, 1, runEntry("charge", failure(402, "card declined")))}, h.take())
	assert.Nil(t, seen, "the run waits for its ack")
	h.ack(inv, 1, 1)
	require.Equal(t, []protocol.Message{endMsg(inv, 1, 2, failure(402, "card declined"))}, h.take())
	assert.True(t, durable.IsTerminalError(seen))
	assert.Equal(t, uint16(402), durable.ErrorCode(seen))

	seen = nil
	h.start(inv, 2, inputEntry(t, nil), runEntry("charge", failure(402, "card declined")))
	require.Equal(t, []protocol.Message{endMsg(inv, 2, 2, failure(402, "card declined"))}, h.take())
	assert.Equal(t, 1, execs, "the failed run is journaled and not executed again")
	assert.True(t, durable.IsTerminalError(seen))
}

// TestBadInput: an input that does not decode into the handler's type fails the invocation with
// a terminal 400 at once.
func TestBadInput(t *testing.T) {
	called := false
	svc := service(func(ctx durable.Context, in request) (string, error) {
		called = true
		return in.Document, nil
	})
	for i, in := range [][]byte{[]byte(`{"document": 5}`), []byte(`{`), []byte(`"text"`)} {
		h := newHarness(t, time.Minute, svc)
		inv := invID(byte(30 + i))
		h.start(inv, 1, journal.Entry{Kind: journal.KindInput, Result: journal.Result{Value: in}})
		m := h.takeOne()
		require.Equal(t, protocol.KindEnd, m.Kind, "input %s: %s", in, m)
		assert.Equal(t, uint32(1), m.Index)
		require.NotNil(t, m.Entry.Result.Failure, "input %s", in)
		assert.Equal(t, uint16(400), m.Entry.Result.Failure.Code)
		assert.Contains(t, m.Entry.Result.Failure.Message, "decode input")
	}
	assert.False(t, called)
}

// TestBadStart: a start without an input entry, or for a handler the executor does not have,
// fails the attempt with a retryable error.
func TestBadStart(t *testing.T) {
	defer noLeak(t)
	app := &approval{}
	h := newHarness(t, time.Minute, app.service())
	inv := invID(40)

	h.start(inv, 1)
	assert.Contains(t, requireError(t, h.takeOne(), inv, 1), "input")
	h.start(inv, 2, awakeableEntry())
	assert.Contains(t, requireError(t, h.takeOne(), inv, 2), "input")

	h.ex.Deliver(protocol.Message{Kind: protocol.KindStart, Invocation: inv, Attempt: 3, Service: svcName, Handler: "nope", Journal: []journal.Entry{inputEntry(t, nil)}})
	assert.Contains(t, requireError(t, h.takeOne(), inv, 3), svcName+"/nope")
	h.ex.Deliver(protocol.Message{Kind: protocol.KindStart, Invocation: inv, Attempt: 4, Service: "Other", Handler: hName, Journal: []journal.Entry{inputEntry(t, nil)}})
	assert.Contains(t, requireError(t, h.takeOne(), inv, 4), "Other/"+hName)
	assert.Equal(t, 0, h.ex.Active())
	assert.Equal(t, 0, app.runs)
}

// TestDeliverRejectsOutboundKinds: giving the executor a message meant for the engine is a
// programming error of the transport.
func TestDeliverRejectsOutboundKinds(t *testing.T) {
	h := newHarness(t, time.Minute)
	for _, k := range []protocol.Kind{protocol.KindCommand, protocol.KindSuspend, protocol.KindEnd, protocol.KindError} {
		assert.Panics(t, func() { h.ex.Deliver(protocol.Message{Kind: k}) }, "kind %s", k)
	}
}

// TestWrongGoroutine: a durable call from a goroutine the handler started, made while the
// handler is parked, panics with an error wrapping ErrWrongGoroutine; a call through a context
// kept after the handler returned panics with one wrapping durable.ErrContextEnded, which says
// what the handler did wrong.
func TestWrongGoroutine(t *testing.T) {
	defer noLeak(t)
	proceed := make(chan struct{})
	report := make(chan any, 1)
	var kept durable.Context
	svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
		kept = ctx
		aw := durable.Awakeable[string](ctx)
		go func() {
			defer func() { report <- recover() }()
			<-proceed
			durable.Awakeable[string](ctx) // the handler is parked: not allowed
		}()
		return aw.Result()
	})
	h := newHarness(t, time.Minute, svc)
	inv := invID(41)
	h.start(inv, 1, inputEntry(t, nil))
	require.Len(t, h.take(), 1)
	close(proceed)
	var r any
	select {
	case r = <-report:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler's goroutine never reported")
	}
	err, ok := r.(error)
	require.True(t, ok, "want an error panic, got %#v", r)
	assert.ErrorIs(t, err, executor.ErrWrongGoroutine)
	assert.NotErrorIs(t, err, durable.ErrContextEnded, "the handler is parked, its attempt alive")
	assert.Contains(t, err.Error(), inv.String())

	// The stray call changed nothing: the attempt goes on at the same index.
	assert.Empty(t, h.take())
	h.complete(inv, 1, 1, value(t, "v"))
	require.Equal(t, []protocol.Message{endMsg(inv, 1, 2, value(t, "v"))}, h.take())

	// A call after the handler returned is refused as a kept context's.
	r = catchPanic(func() { durable.Awakeable[string](kept) })
	err, ok = r.(error)
	require.True(t, ok, "want an error panic, got %#v", r)
	assert.ErrorIs(t, err, durable.ErrContextEnded)
	assert.NotErrorIs(t, err, executor.ErrWrongGoroutine)
	assert.Contains(t, err.Error(), inv.String())
	assert.Empty(t, h.take())
}

// TestResolveAndReject: resolving or rejecting another awakeable is a command that needs no ack;
// a malformed ID fails the invocation with a terminal 400 at once.
func TestResolveAndReject(t *testing.T) {
	target := awakeableID(invID(99), 7)
	t.Run("resolve", func(t *testing.T) {
		svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
			durable.ResolveAwakeable(ctx, target, map[string]int{"n": 1})
			return "ok", nil
		})
		h := newHarness(t, time.Minute, svc)
		inv := invID(42)
		h.start(inv, 1, inputEntry(t, nil))
		require.Equal(t, []protocol.Message{
			command(inv, 1, 1, journal.Entry{Kind: journal.KindCompleteAwakeable, Target: target, Param: value(t, map[string]int{"n": 1})}),
			endMsg(inv, 1, 2, value(t, "ok")),
		}, h.take())
		assert.Equal(t, 0, h.timeouts, "a complete-awakeable command does not wait")
	})
	t.Run("reject", func(t *testing.T) {
		svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
			durable.RejectAwakeable(ctx, target, errors.New("no"))
			durable.RejectAwakeable(ctx, target, durable.TerminalError(errors.New("gone"), 404))
			return "ok", nil
		})
		h := newHarness(t, time.Minute, svc)
		inv := invID(43)
		h.start(inv, 1, inputEntry(t, nil))
		require.Equal(t, []protocol.Message{
			command(inv, 1, 1, journal.Entry{Kind: journal.KindCompleteAwakeable, Target: target, Param: failure(500, "no")}),
			command(inv, 1, 2, journal.Entry{Kind: journal.KindCompleteAwakeable, Target: target, Param: failure(404, "gone")}),
			endMsg(inv, 1, 3, value(t, "ok")),
		}, h.take())
	})
	t.Run("malformed id", func(t *testing.T) {
		for _, bad := range []string{"", "sign_1", "sign_1!!!", "inv_123", target + "A", strings.TrimPrefix(target, "sign_1"), awakeableID(protocol.InvocationID{}, 1)} {
			for _, reject := range []bool{false, true} {
				returned := false
				svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
					durable.Awakeable[string](ctx)
					if reject {
						durable.RejectAwakeable(ctx, bad, errors.New("x"))
					} else {
						durable.ResolveAwakeable(ctx, bad, "x")
					}
					returned = true
					return "unreachable", nil
				})
				h := newHarness(t, time.Minute, svc)
				inv := invID(44)
				h.start(inv, 1, inputEntry(t, nil))
				ms := h.take()
				require.Len(t, ms, 2, "id %q", bad)
				m := ms[1]
				require.Equal(t, protocol.KindEnd, m.Kind, "id %q: %s", bad, m)
				assert.Equal(t, uint32(2), m.Index)
				require.NotNil(t, m.Entry.Result.Failure)
				assert.Equal(t, uint16(400), m.Entry.Result.Failure.Code)
				assert.Contains(t, m.Entry.Result.Failure.Message, fmt.Sprintf("%q", bad))
				assert.False(t, returned, "the call must not return")
				assert.Equal(t, []string{"#1 failed"}, h.obs.ended(inv))
			}
		}
	})
	t.Run("unencodable value", func(t *testing.T) {
		svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
			durable.ResolveAwakeable(ctx, target, make(chan int))
			return "unreachable", nil
		})
		h := newHarness(t, time.Minute, svc)
		inv := invID(45)
		h.start(inv, 1, inputEntry(t, nil))
		m := h.takeOne()
		require.Equal(t, protocol.KindEnd, m.Kind)
		require.NotNil(t, m.Entry.Result.Failure)
		assert.Equal(t, uint16(500), m.Entry.Result.Failure.Code)
	})
}

// TestUndecodableValue: a completion whose value does not decode into the awaited type is a
// terminal error in the handler, not a retry.
func TestUndecodableValue(t *testing.T) {
	var seen error
	svc := service(func(ctx durable.Context, _ struct{}) (int, error) {
		n, err := durable.Awakeable[int](ctx).Result()
		seen = err
		return n, err
	})
	h := newHarness(t, time.Minute, svc)
	inv := invID(46)
	h.start(inv, 1, inputEntry(t, nil))
	h.take()
	h.complete(inv, 1, 1, value(t, "not a number"))
	require.Error(t, seen)
	assert.True(t, durable.IsTerminalError(seen))
	assert.Contains(t, seen.Error(), "decode")
	m := h.takeOne()
	require.Equal(t, protocol.KindEnd, m.Kind, "a terminal failure, not a retry: %s", m)
	require.NotNil(t, m.Entry.Result.Failure)
	assert.Equal(t, uint16(500), m.Entry.Result.Failure.Code)

	// An empty value decodes as the zero value.
	seen = errFlaky
	h.start(invID(47), 1, inputEntry(t, nil), completedAwakeable(journal.Result{}))
	require.Equal(t, []protocol.Message{endMsg(invID(47), 1, 2, value(t, 0))}, h.take())
	assert.NoError(t, seen)
}

// TestIndexFixedAtCreation: fan-out awaited in another order replays identically, because an
// operation's index is fixed when it is created.
func TestIndexFixedAtCreation(t *testing.T) {
	svc := service(func(ctx durable.Context, _ struct{}) ([]string, error) {
		fs := []durable.AwakeableFuture[string]{durable.Awakeable[string](ctx), durable.Awakeable[string](ctx), durable.Awakeable[string](ctx)}
		var out []string
		for _, k := range []int{2, 0, 1} {
			v, err := fs[k].Result()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	})
	h := newHarness(t, time.Minute, svc)
	inv := invID(48)
	h.start(inv, 1, inputEntry(t, nil))
	require.Len(t, h.take(), 3)
	h.complete(inv, 1, 2, value(t, "b"))
	h.complete(inv, 1, 1, value(t, "a"))
	assert.Empty(t, h.take())
	h.complete(inv, 1, 3, value(t, "c"))
	require.Equal(t, []protocol.Message{endMsg(inv, 1, 4, value(t, []string{"c", "a", "b"}))}, h.take())

	h.start(inv, 2, inputEntry(t, nil), completedAwakeable(value(t, "a")), completedAwakeable(value(t, "b")), completedAwakeable(value(t, "c")))
	require.Equal(t, []protocol.Message{endMsg(inv, 2, 4, value(t, []string{"c", "a", "b"}))}, h.take())
}

// TestSpecs: the executor describes its services in name order.
func TestSpecs(t *testing.T) {
	noop := durable.NewServiceHandler(func(durable.Context, struct{}) (struct{}, error) { return struct{}{}, nil })
	h := newHarness(t, time.Minute,
		durable.NewService("b").Handler("z", noop).Handler("a", noop),
		durable.NewService("a").Handler("m", noop),
		durable.NewService("c"),
	)
	assert.Equal(t, []protocol.ServiceSpec{
		{Name: "a", Handlers: []protocol.HandlerSpec{{Name: "m"}}},
		{Name: "b", Handlers: []protocol.HandlerSpec{{Name: "a"}, {Name: "z"}}},
		{Name: "c"},
	}, h.ex.Specs())
}

// TestNewRequiresSendAndClock: a half-configured executor is refused at once.
func TestNewRequiresSendAndClock(t *testing.T) {
	assert.Panics(t, func() { executor.New(executor.Config{}) })
	assert.Panics(t, func() { executor.New(executor.Config{Send: func(protocol.Message) {}}) })
}

// TestDefaultInactivityTimeout: without a configured timeout a parked attempt waits a minute.
func TestDefaultInactivityTimeout(t *testing.T) {
	defer noLeak(t)
	h := newHarness(t, 0, (&approval{}).service())
	h.ex = newExecutor(executor.Config{Services: []*durable.Service{(&approval{}).service()}, Send: func(m protocol.Message) { h.sent = append(h.sent, m) }, Clock: h.clock})
	inv := invID(49)
	h.start(inv, 1, inputEntry(t, request{}))
	require.Len(t, h.take(), 2)
	h.clock.Advance(time.Minute - 1)
	assert.Empty(t, h.take())
	h.clock.Advance(1)
	require.Equal(t, []protocol.Message{suspendMsg(inv, 1, 3, 2)}, h.take())
}

// TestValueObservedMatchesHandler: what the observer reports is what the handler got, for
// values and failures, live and on replay.
func TestValueObservedMatchesHandler(t *testing.T) {
	var got []string
	svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
		for range 3 {
			v, err := durable.Awakeable[string](ctx).Result()
			if err != nil {
				got = append(got, "err:"+err.Error())
			} else {
				got = append(got, v)
			}
		}
		return "", nil
	})
	h := newHarness(t, time.Minute, svc)
	inv := invID(50)
	h.start(inv, 1, inputEntry(t, nil), completedAwakeable(value(t, "replayed")))
	h.complete(inv, 1, 2, failure(500, "rejected"))
	h.complete(inv, 1, 3, value(t, "live"))
	assert.Equal(t, []string{"replayed", "err:rejected", "live"}, got)
	var observed []string
	for _, c := range h.obs.of("ValueObserved") {
		var s string
		if c.Result.Failure != nil {
			s = "err:" + c.Result.Failure.Message
		} else {
			require.NoError(t, json.Unmarshal(c.Result.Value, &s))
		}
		observed = append(observed, fmt.Sprintf("%d:%s", c.Index, s))
	}
	assert.Equal(t, []string{"1:replayed", "2:err:rejected", "3:live"}, observed)
}

// TestCompletionBeforeItsStart: the network delays a start past a completion for the same
// attempt; the completion is kept and completes the start's journal, so the handler does not
// wait for what already happened. Completions for attempts that ended or were superseded are
// not kept.
func TestCompletionBeforeItsStart(t *testing.T) {
	defer noLeak(t)
	app := &approval{}
	h := newHarness(t, time.Minute, app.service())
	inv := invID(40)
	id := awakeableID(inv, 1)
	j := []journal.Entry{inputEntry(t, request{Document: "d"}), awakeableEntry(), runEntry("hand-out", value(t, id))}

	h.complete(inv, 5, 1, value(t, "early"))
	h.complete(inv, 4, 1, value(t, "for an older attempt"))
	h.start(inv, 5, j...)
	require.Equal(t, []protocol.Message{endMsg(inv, 5, 3, value(t, "review of d: early"))}, h.take())
	assert.Equal(t, 0, h.timeouts, "nothing to wait for")

	// Kept for attempt 7, then attempt 6 starts: what was kept is not for it.
	other := invID(41)
	h.complete(other, 7, 1, value(t, "for attempt 7"))
	h.start(other, 6, inputEntry(t, request{Document: "o"}), awakeableEntry(), runEntry("hand-out", value(t, awakeableID(other, 1))))
	assert.Empty(t, h.take(), "attempt 6 waits for its awakeable")
	h.abort(other, 6)
}

// TestNewRefusesTwoServicesOfOneName: two services of one name are refused, whether an executor
// looks its few services up by a scan or its many in a map, and each finds its handlers.
func TestNewRefusesTwoServicesOfOneName(t *testing.T) {
	for _, n := range []int{2, 8, 9, 20} {
		svcs := make([]*durable.Service, n)
		for i := range svcs {
			svcs[i] = durable.NewService(fmt.Sprintf("s%d", i)).Handler(hName, durable.NewServiceHandler(
				func(durable.Context, struct{}) (int, error) { return i, nil }))
		}
		send := func(protocol.Message) {}
		clock := fakeclock.NewFake(epoch)
		assert.Panics(t, func() {
			executor.New(executor.Config{Services: append(slices.Clone(svcs), svcs[n-1]), Send: send, Clock: clock})
		}, "%d services and a repeat of the last", n)

		var sent []protocol.Message
		ex := newExecutor(executor.Config{Services: svcs, Send: func(m protocol.Message) { sent = append(sent, m) }, Clock: clock})
		for i := range n + 1 {
			ex.Deliver(protocol.Message{Kind: protocol.KindStart, Invocation: invID(byte(i)), Attempt: 1, Service: fmt.Sprintf("s%d", i), Handler: hName,
				Journal: []journal.Entry{inputEntry(t, struct{}{})}})
		}
		require.Len(t, sent, n+1)
		for i, m := range sent[:n] {
			assert.Equal(t, endMsg(invID(byte(i)), 1, 1, value(t, i)), m)
		}
		assert.Contains(t, requireError(t, sent[n], invID(byte(n)), 1), fmt.Sprintf("no handler s%d/%s", n, hName))
	}
}
