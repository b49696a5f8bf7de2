package executor

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
