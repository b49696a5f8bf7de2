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

// TestSpareAcrossCrash: an executor built with the Spare a crashed one filled behaves as a new
// one (it knows no attempt of its predecessor: a start the predecessor saw is not stale for
// it), runs its attempts on the kept workers, and Spare.Stop leaves no goroutine behind.
func TestSpareAcrossCrash(t *testing.T) {
	defer noLeak(t)
	svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
		return durable.Awakeable[string](ctx).Result()
	})
	var spare executor.Spare
	h := newHarness(t, time.Minute, svc)
	cfg := executor.Config{Services: []*durable.Service{svc}, Send: func(m protocol.Message) { h.sent = append(h.sent, m) }, Clock: h.clock, Spare: &spare}
	h.ex = executor.New(cfg)
	inv := invID(90)
	h.start(inv, 1, inputEntry(t, nil))
	h.complete(inv, 1, 1, value(t, "one"))
	require.Equal(t, []protocol.Message{command(inv, 1, 1, awakeableEntry()), endMsg(inv, 1, 2, value(t, "one"))}, h.take())
	h.start(invID(91), 1, inputEntry(t, nil)) // parked at its crash
	h.take()
	require.Len(t, h.ex.Crash(), 1)

	crashed := h.ex
	h.ex = executor.New(cfg)
	assert.Same(t, crashed, h.ex, "the next executor is made in the crashed one's memory")
	assert.Zero(t, h.ex.Active())
	h.start(inv, 1, inputEntry(t, nil)) // the crashed executor ended this attempt; this one never saw it
	h.complete(inv, 1, 1, value(t, "two"))
	assert.Equal(t, []protocol.Message{command(inv, 1, 1, awakeableEntry()), endMsg(inv, 1, 2, value(t, "two"))}, h.take())
	assert.Equal(t, 0, h.ex.Active())

	assert.Empty(t, h.ex.Crash())
	spare.Stop()
	noLeak(t)

	// A stopped Spare keeps only its last executor's memory, zeroed, for the next run's.
	last := h.ex
	h.ex = executor.New(cfg)
	assert.Same(t, last, h.ex)
	h.start(inv, 1, inputEntry(t, nil))
	h.complete(inv, 1, 1, value(t, "three"))
	assert.Equal(t, []protocol.Message{command(inv, 1, 1, awakeableEntry()), endMsg(inv, 1, 2, value(t, "three"))}, h.take())
	h.ex.Crash()
	spare.Stop()
}

// TestTablesOfAStoppedSpare: a stopped Spare leaves its tables, emptied, to an executor built
// with a zero Spare (the simulator's next run), which knows nothing of the earlier executors'
// attempts: not the one that ended (its start is not stale), not what was kept for one that
// never started (a completion that reached a crashed executor early does not complete it).
func TestTablesOfAStoppedSpare(t *testing.T) {
	defer noLeak(t)
	svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
		return durable.Awakeable[string](ctx).Result()
	})
	h := newHarness(t, time.Minute, svc)
	var spare executor.Spare
	cfg := executor.Config{Services: []*durable.Service{svc}, Send: func(m protocol.Message) { h.sent = append(h.sent, m) }, Clock: h.clock, Spare: &spare}
	ended, early := invID(92), invID(93)
	for range 3 { // tables go round: kept, taken, kept again
		h.ex = executor.New(cfg)
		h.start(ended, 1, inputEntry(t, nil))
		h.complete(ended, 1, 1, value(t, "one"))
		require.Equal(t, []protocol.Message{command(ended, 1, 1, awakeableEntry()), endMsg(ended, 1, 2, value(t, "one"))}, h.take())
		h.complete(early, 1, 1, value(t, "early")) // kept for a start that never comes
		h.ex.Crash()
		spare.Stop()
		spare = executor.Spare{}
	}
	h.ex = executor.New(cfg)
	h.start(ended, 1, inputEntry(t, nil))
	h.start(early, 1, inputEntry(t, nil), awakeableEntry())
	assert.Equal(t, []protocol.Message{command(ended, 1, 1, awakeableEntry())}, h.take(), "the ended attempt runs again, the early completion is gone")
	assert.Equal(t, 2, h.ex.Active())
	h.ex.Crash()
	spare.Stop()
}

// TestWorkersKeptAcrossSpares: the waiting workers of a stopped Spare (the simulator's at the end
// of a run) run the attempts of an executor built with a later Spare (the next run's) instead
// of new ones, exactly as new ones would; an executor built without a Spare (the production
// host's) takes none; and StopKeptWorkers ends them.
func TestWorkersKeptAcrossSpares(t *testing.T) {
	defer noLeak(t)
	stopIdle() // what earlier tests' executors keep is not this test's
	svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
		return durable.Awakeable[string](ctx).Result()
	})
	h := newHarness(t, time.Minute, svc)
	inv := invID(94)
	want := []protocol.Message{command(inv, 1, 1, awakeableEntry()), endMsg(inv, 1, 2, value(t, "one"))}
	run := func(spare *executor.Spare) {
		t.Helper()
		h.ex = executor.New(executor.Config{Services: []*durable.Service{svc}, Send: func(m protocol.Message) { h.sent = append(h.sent, m) }, Clock: h.clock, Spare: spare})
		h.start(inv, 1, inputEntry(t, nil))
		h.complete(inv, 1, 1, value(t, "one"))
		require.Equal(t, want, h.take())
		require.Empty(t, h.ex.Crash())
	}
	var first executor.Spare
	run(&first)
	first.Stop()
	require.Equal(t, 1, executor.KeptWorkers(), "the run's worker is kept")

	run(nil)
	executor.StopIdle(h.ex)
	assert.Equal(t, 1, executor.KeptWorkers(), "an executor without a Spare takes none")

	var second executor.Spare
	run(&second)
	assert.Zero(t, executor.KeptWorkers(), "the next run's executor took it")
	second.Stop()
	assert.Equal(t, 1, executor.KeptWorkers())
	executor.StopKeptWorkers()
	assert.Zero(t, executor.KeptWorkers())
}

// TestEndedAttemptsGiveBackEmptiedJournalRooms: an attempt's short journal lives in a room the
// executor lends it; when the attempt ends the room comes back with nothing of its journal left
// in it (the spare list must not keep an ended attempt's values alive), and the next attempt
// runs in it exactly as in a new one.
func TestEndedAttemptsGiveBackEmptiedJournalRooms(t *testing.T) {
	defer noLeak(t)
	svc := service(func(ctx durable.Context, _ struct{}) (string, error) {
		return durable.Awakeable[string](ctx).Result()
	})
	h := newHarness(t, time.Minute, svc)
	for i, inv := range []protocol.InvocationID{invID(95), invID(96)} {
		h.start(inv, 1, inputEntry(t, nil))
		h.complete(inv, 1, 1, value(t, "done"))
		want := []protocol.Message{command(inv, 1, 1, awakeableEntry()), endMsg(inv, 1, 2, value(t, "done"))}
		require.Equal(t, want, h.take(), "attempt %d", i+1)
		rooms, written := executor.SpareJournalRooms(h.ex)
		assert.Equal(t, 1, rooms, "the ended attempt's room is given back, and taken again by the next")
		assert.Zero(t, written, "entries of an ended attempt's journal left in a spare room")
	}
}
