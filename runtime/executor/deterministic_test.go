package executor_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// drawn is what the deterministic handler returns: values a replay must reproduce.
type drawn struct {
	Ints  []int
	UUIDs []string
	Now   time.Time
}

func deterministicService() *durable.Service {
	return service(func(ctx durable.Context, _ string) (drawn, error) {
		var d drawn
		for range 3 {
			d.Ints = append(d.Ints, durable.Rand(ctx).IntN(1_000_000))
		}
		d.UUIDs = []string{durable.UUID(ctx), durable.UUID(ctx)}
		now, err := durable.Now(ctx)
		if err != nil {
			return d, err
		}
		d.Now = now
		return d, nil
	})
}

// Rand, UUID and Now give a replay exactly what the first execution saw: Rand and UUID by
// seeding from the invocation ID, Now by journaling the clock reading. Another invocation draws
// other values.
func TestDeterministicHelpersReplay(t *testing.T) {
	defer noLeak(t)
	h := newHarness(t, time.Minute, deterministicService())
	inv := invID(7)
	h.start(inv, 1, inputEntry(t, "x"))
	cmd := h.takeOne()
	require.Equal(t, protocol.KindCommand, cmd.Kind)
	require.Equal(t, journal.KindRun, cmd.Entry.Kind)
	assert.Equal(t, "now", cmd.Entry.Name)
	h.ack(inv, 1, 1)
	first := outputOf(t, h.takeOne())
	assert.True(t, first.Now.Equal(epoch), "the executor's clock: %v", first.Now)
	assert.Len(t, first.UUIDs, 2)
	assert.NotEqual(t, first.UUIDs[0], first.UUIDs[1])
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, first.UUIDs[0])

	// Attempt 2 replays the journal an hour later: the same draws, the journaled time.
	h.clock.Advance(time.Hour)
	h.start(inv, 2, inputEntry(t, "x"), cmd.Entry)
	again := outputOf(t, h.takeOne())
	assert.Equal(t, first.Ints, again.Ints)
	assert.Equal(t, first.UUIDs, again.UUIDs)
	assert.True(t, first.Now.Equal(again.Now), "replayed %v, journaled %v", again.Now, first.Now)

	// Another invocation draws other values.
	other := invID(8)
	h.start(other, 1, inputEntry(t, "x"))
	h.ack(other, 1, h.takeOne().Index)
	assert.NotEqual(t, first.Ints, outputOf(t, h.takeOne()).Ints)
}

// outputOf decodes the output of an End message.
func outputOf(t *testing.T, m protocol.Message) drawn {
	t.Helper()
	require.Equal(t, protocol.KindEnd, m.Kind, "%s", m)
	require.Nil(t, m.Entry.Result.Failure, fmt.Sprint(m.Entry.Result))
	var d drawn
	require.NoError(t, json.Unmarshal(m.Entry.Result.Value, &d))
	return d
}

// A call from a handler is a journaled command that waits for its completion; a send is a
// command that waits for nothing; both replay without being sent again.
func TestCallsFromAHandler(t *testing.T) {
	defer noLeak(t)
	svc := service(func(ctx durable.Context, order string) (string, error) {
		durable.ObjectClient[string](ctx, "Mailer", order, "notify").Send("paid", durable.WithDelay(time.Minute))
		receipt, err := durable.ServiceClient[string](ctx, "Payments", "charge").Request(order)
		if err != nil {
			return "", err
		}
		return order + ": " + receipt, nil
	})
	h := newHarness(t, time.Minute, svc)
	inv := invID(9)
	h.start(inv, 1, inputEntry(t, "o-1"))
	ms := h.take()
	require.Len(t, ms, 2, "%v", ms)
	send, call := ms[0].Entry, ms[1].Entry
	assert.Equal(t, journal.Entry{Kind: journal.KindSend, Target: "Mailer/notify", Name: "o-1", Param: value(t, "paid"), Duration: time.Minute}, send)
	assert.Equal(t, journal.Entry{Kind: journal.KindCall, Target: "Payments/charge", Param: value(t, "o-1")}, call)
	h.ex.Deliver(protocol.Message{Kind: protocol.KindCompletion, Invocation: inv, Attempt: 1, Index: 2,
		Entry: journal.Entry{Kind: journal.KindCall, Completed: true, Result: value(t, "r-7")}})
	assert.Equal(t, []protocol.Message{endMsg(inv, 1, 3, value(t, "o-1: r-7"))}, h.take())

	// A replay with the call completed sends nothing again; a callee's terminal failure is the
	// caller's terminal error.
	completed := call
	completed.Completed, completed.Result = true, failure(402, "declined")
	h.start(inv, 2, inputEntry(t, "o-1"), send, completed)
	end := h.takeOne()
	require.Equal(t, protocol.KindEnd, end.Kind)
	require.NotNil(t, end.Entry.Result.Failure)
	assert.Equal(t, uint16(402), end.Entry.Result.Failure.Code)
}
