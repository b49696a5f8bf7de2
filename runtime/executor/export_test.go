package executor

import "github.com/vigilsim/vigil/runtime/journal"

// StopIdle ends the workers e keeps for later attempts, as Crash does, without aborting any
// attempt: a test that checks for leaked goroutines calls it first, so that what it finds is a
// coroutine of an attempt that should have ended.
func StopIdle(e *Executor) { e.stopWorkers() }

// IdleWorkers is how many workers e keeps for later attempts.
func IdleWorkers(e *Executor) int { return len(e.idle) }

// KeptWorkers is how many workers stopped Spares keep for later executors.
func KeptWorkers() int {
	keptWorkers.Lock()
	defer keptWorkers.Unlock()
	return len(keptWorkers.free)
}

// SpareJournalRooms is how many journal rooms e keeps for later attempts, and how many entries
// in them still hold something of an ended attempt's journal.
func SpareJournalRooms(e *Executor) (rooms, written int) {
	for _, r := range e.tables.journalRooms {
		for i := range r {
			if !r[i].Equal(journal.Entry{}) {
				written++
			}
		}
	}
	return len(e.tables.journalRooms), written
}
