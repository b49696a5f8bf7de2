package executor

import (
	"sync"

	"github.com/vigilsim/vigil/internal/freelist"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// tables are an executor's bookkeeping by invocation (idTables), with its waiting workers. Their
// room is made at its first use, so that an executor that crashes before it runs anything (the
// simulator's often do) costs none; a Spare hands them, emptied, to the next executor, and a
// stopped Spare to the next executor built with a zero Spare (keptTables). None is ever iterated
// in an order that could reach behaviour, so what room a reused one has changes nothing.
type tables struct {
	// attempts are the running attempts.
	attempts idTable[*attempt]
	// ended remembers the attempt numbers of recently ended attempts, so that a start message
	// delayed past a newer attempt of the same invocation is recognised as stale and ignored
	// instead of re-running the handler. Bounded: the oldest are forgotten first.
	ended      idTable[uint32]
	endedOrder []protocol.InvocationID
	// early holds completions, acks and Durables that reached the executor before the start of
	// the attempt they are for (the network delayed the start past them): the start's journal was
	// built before they happened, so dropping them would lose the wake-up they carry. Bounded,
	// oldest invocations forgotten first.
	early      idTable[*earlyMessages]
	earlyOrder []protocol.InvocationID
	// spareEarly are emptied earlyMessages, taken before a new one is made.
	spareEarly []*earlyMessages
	// idle are the workers waiting for an attempt to run (see worker), the last one first.
	idle []*worker
	// calls are the calls of ended attempts, one kept for each of the last few handlers that
	// ran, which the next attempt of the same handler prepares its call in
	// (durable.Handler.PrepareReusing) instead of allocating one; made at the first call, and
	// kept apart so that an executor that never runs one stays small.
	calls *durable.SpareCalls
	// journalRooms are emptied journalRooms of ended attempts, lent to the next ones
	// (attempt.copyJournal, freeJournal).
	journalRooms []*journalRoom
}

// none reports whether t holds nothing, not even room.
func (t *tables) none() bool {
	return t.attempts.none() && t.ended.none() && t.endedOrder == nil && t.early.none() &&
		t.earlyOrder == nil && t.spareEarly == nil && t.idle == nil && t.calls == nil && t.journalRooms == nil
}

// emptied empties t's tables and returns them, their room kept: nothing of an attempt is left
// in them. The waiting workers stay, as they hold no attempt, and so do the kept calls, which
// hold nothing of theirs either (PrepareReusing leaves nothing of an earlier call in a new one),
// and the spare journalRooms, emptied as they were given back.
func (t *tables) emptied() tables {
	t.early.each(func(_ protocol.InvocationID, b *earlyMessages) { t.freeEarly(b) })
	return tables{attempts: t.attempts.emptied(), ended: t.ended.emptied(), endedOrder: t.endedOrder[:0], early: t.early.emptied(),
		earlyOrder: t.earlyOrder[:0], spareEarly: t.spareEarly, idle: t.idle, calls: t.calls, journalRooms: t.journalRooms}
}

// newEarly returns an empty earlyMessages for attempt, a spare one if there is one.
func (t *tables) newEarly(attempt uint32) *earlyMessages {
	if b, ok := freelist.Pop(&t.spareEarly); ok {
		b.attempt = attempt
		return b
	}
	return &earlyMessages{attempt: attempt}
}

// freeEarly takes back b, which nothing holds any more, emptied of its messages (which point at
// journals), for a later newEarly.
func (t *tables) freeEarly(b *earlyMessages) {
	if b == nil || len(t.spareEarly) >= maxSpareEarly {
		return
	}
	clear(b.msgs)
	b.msgs = b.msgs[:0]
	t.spareEarly = append(t.spareEarly, b)
}

// maxSpareEarly bounds the emptied earlyMessages an executor keeps.
const maxSpareEarly = 16

// keptTables are the emptied tables that stopped Spares left, for executors built with a zero
// Spare: the simulator makes its executor node, and so its Spare, afresh for every run, and
// without them every run grew its tables again. Bounded; guarded, since runs may go on at once
// on several goroutines.
var keptTables struct {
	sync.Mutex
	free []tables
}

// maxKeptTables bounds keptTables.
const maxKeptTables = 8

// keepTables empties t's tables into keptTables; its workers must be stopped.
func keepTables(t tables) {
	t = t.emptied()
	t.idle = t.idle[:0]
	// The calls hold the finished run's code and data: let go of those, keeping the calls'
	// memory for the next run's handlers of the same names and types.
	if t.calls != nil {
		t.calls.Scrub()
	}
	keptTables.Lock()
	defer keptTables.Unlock()
	if len(keptTables.free) < maxKeptTables {
		keptTables.free = append(keptTables.free, t)
	}
}

// takeKeptTables returns a set of tables that keepTables kept, or none.
func takeKeptTables() tables {
	keptTables.Lock()
	defer keptTables.Unlock()
	n := len(keptTables.free)
	if n == 0 {
		return tables{}
	}
	t := keptTables.free[n-1]
	keptTables.free[n-1] = tables{}
	keptTables.free = keptTables.free[:n-1]
	return t
}
