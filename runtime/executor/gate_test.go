package executor_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// startGated delivers a Gated start: the driver sent it before its batch was durable.
func (h *harness) startGated(inv protocol.InvocationID, attempt uint32, j ...journal.Entry) {
	h.ex.Deliver(protocol.Message{Kind: protocol.KindStart, Invocation: inv, Attempt: attempt, Service: svcName, Handler: hName, Journal: j, Gated: true})
}

func (h *harness) durable(inv protocol.InvocationID, attempt uint32) {
	h.ex.Deliver(protocol.Message{Kind: protocol.KindDurable, Invocation: inv, Attempt: attempt})
}

func parkedMsg(inv protocol.InvocationID, attempt uint32) protocol.Message {
	return protocol.Message{Kind: protocol.KindParked, Invocation: inv, Attempt: attempt}
}

// TestGatedStart: an attempt whose start was sent before it was durable runs up to its first
// side effect, tells the driver it waits, and runs the side effect only once its Durable came;
// a Durable that never comes ends the attempt after the inactivity timeout with a suspension
// on its input entry, which the engine answers with a new (ungated) attempt.
func TestGatedStart(t *testing.T) {
	awID := func(inv protocol.InvocationID) string { return awakeableID(inv, 1) }
	t.Run("the side effect waits for the durable", func(t *testing.T) {
		defer noLeak(t)
		a := &approval{}
		h := newHarness(t, time.Minute, a.service())
		inv := invID(1)
		h.startGated(inv, 1, inputEntry(t, request{Document: "d"}))
		require.Equal(t, []protocol.Message{
			command(inv, 1, 1, awakeableEntry()),
			parkedMsg(inv, 1),
		}, h.take())
		assert.Zero(t, a.runs, "no side effect before the start is durable")
		h.durable(inv, 1)
		require.Equal(t, []protocol.Message{command(inv, 1, 2, runEntry("hand-out", value(t, awID(inv))))}, h.take())
		assert.Equal(t, 1, a.runs)
		h.ack(inv, 1, 2)
		assert.Empty(t, h.take(), "a durable attempt parks without telling the driver")
		h.complete(inv, 1, 1, value(t, "yes"))
		require.Equal(t, []protocol.Message{endMsg(inv, 1, 3, value(t, "review of d: yes"))}, h.take())
	})
	t.Run("a handler without side effects never waits", func(t *testing.T) {
		defer noLeak(t)
		h := newHarness(t, time.Minute, service(func(_ durable.Context, s string) (string, error) { return "hi " + s, nil }))
		inv := invID(2)
		h.startGated(inv, 1, inputEntry(t, "x"))
		require.Equal(t, []protocol.Message{endMsg(inv, 1, 1, value(t, "hi x"))}, h.take())
	})
	t.Run("a durable before the start is kept for it", func(t *testing.T) {
		defer noLeak(t)
		a := &approval{}
		h := newHarness(t, time.Minute, a.service())
		inv := invID(3)
		h.durable(inv, 1)
		h.startGated(inv, 1, inputEntry(t, request{Document: "d"}))
		assert.Equal(t, 1, a.runs, "the start was durable when it arrived")
		h.ex.Crash()
	})
	t.Run("no durable: a suspension after the inactivity timeout", func(t *testing.T) {
		defer noLeak(t)
		a := &approval{}
		h := newHarness(t, time.Minute, a.service())
		inv := invID(4)
		h.startGated(inv, 1, inputEntry(t, request{Document: "d"}))
		h.take()
		h.clock.Advance(time.Minute)
		require.Equal(t, suspendMsg(inv, 1, 2, 0), h.takeOne())
		assert.Zero(t, a.runs)
		assert.Equal(t, []string{"#1 suspended"}, h.obs.ended(inv))
		h.durable(inv, 1)
		assert.Empty(t, h.take(), "a durable after the attempt ended does nothing")
		assert.Zero(t, a.runs)
	})
	t.Run("a durable while parked elsewhere only lifts the gate", func(t *testing.T) {
		defer noLeak(t)
		runs := 0
		h := newHarness(t, time.Minute, service(func(ctx durable.Context, s string) (string, error) {
			d, err := durable.Awakeable[string](ctx).Result()
			if err != nil {
				return "", err
			}
			return durable.Run(ctx, func(durable.RunContext) (string, error) { runs++; return d + s, nil }, durable.WithName("join"))
		}))
		inv := invID(6)
		h.startGated(inv, 1, inputEntry(t, "x"))
		require.Equal(t, []protocol.Message{command(inv, 1, 1, awakeableEntry()), parkedMsg(inv, 1)}, h.take(),
			"parked on its awakeable, before any side effect")
		h.durable(inv, 1)
		assert.Empty(t, h.take(), "the durable does not wake an attempt that waits on an entry")
		h.complete(inv, 1, 1, value(t, "y"))
		require.Equal(t, []protocol.Message{command(inv, 1, 2, runEntry("join", value(t, "yx")))}, h.take(),
			"the side effect runs at once: the start is durable")
		assert.Equal(t, 1, runs)
		h.ack(inv, 1, 2)
		require.Equal(t, []protocol.Message{endMsg(inv, 1, 3, value(t, "yx"))}, h.take())
	})
	t.Run("a newer start supersedes a gated attempt", func(t *testing.T) {
		defer noLeak(t)
		a := &approval{}
		h := newHarness(t, time.Minute, a.service())
		inv := invID(5)
		h.startGated(inv, 1, inputEntry(t, request{Document: "d"}))
		h.take()
		h.start(inv, 2, inputEntry(t, request{Document: "d"}), awakeableEntry())
		assert.Equal(t, 1, a.runs, "the new attempt is not gated")
		assert.Equal(t, []string{"#1 superseded"}, h.obs.ended(inv))
		h.ex.Crash()
	})
}
