// Package mutant names the bugs that can be planted in the runtime to prove that the simulator
// and its checkers catch them.
//
// A mutant is compiled in only under the build tag vigil_mutants. In every other build On is a
// constant false, so the planted branches are dead code that the compiler removes: production
// and ordinary test binaries carry none of them. The package imports nothing of Vigil's.
package mutant

// ID names one planted bug.
type ID uint8

// The catalogue. Each is a realistic mistake a runtime developer could make.
const (
	// None plants nothing.
	None ID = iota
	// AcceptSecondCompletion lets a later resolve or reject of an already completed awakeable
	// overwrite the first one instead of being dropped.
	AcceptSecondCompletion
	// ReexecuteJournaledRun makes the executor run a side effect again on replay even though its
	// result is journaled.
	ReexecuteJournaledRun
	// AcceptStaleAttempt makes the engine accept commands from an attempt older than the current.
	AcceptStaleAttempt
	// AckBeforeSync makes the driver send replies as soon as the engine produces them, before the
	// store batch they depend on is synced.
	AckBeforeSync
	// CompletePromiseTwice lets a second resolve or reject of a durable promise overwrite the
	// first and report success.
	CompletePromiseTwice
	// ReleaseLockOnSuspend frees an object's key when its exclusive handler suspends, letting the
	// next queued call run while the first still waits.
	ReleaseLockOnSuspend
	// LoseInboxOrderOnRestart rebuilds a key's inbox in invocation-ID order instead of acceptance
	// order after a restart.
	LoseInboxOrderOnRestart
	// FireTimerEarlyAfterRestart re-arms recovered sleep timers at half their remaining time and
	// acts on them without checking the deadline.
	FireTimerEarlyAfterRestart
	// ForgetRetentionTimer does not re-arm retention timers on recovery, so what was finished
	// before a crash is never purged.
	ForgetRetentionTimer
	// PurgeWorkflowEarly purges a finished workflow when the retention of one of its shared
	// handlers' outputs ends, which can come before the workflow's own.
	PurgeWorkflowEarly
	// CompletionToWrongIndex files a completion that arrives before its awakeable's entry under
	// the next journal index.
	CompletionToWrongIndex
	// IgnoreIdempotencyKey starts a new invocation for a retried call with an idempotency key.
	IgnoreIdempotencyKey
	// ActOnEarlyTimer acts on a timer the driver delivers before its deadline by the engine's
	// clock (after the clock stepped back) instead of arming it again.
	ActOnEarlyTimer
	count
)

var names = [...]string{
	None:                       "none",
	AcceptSecondCompletion:     "accept-second-completion",
	ReexecuteJournaledRun:      "reexecute-journaled-run",
	AcceptStaleAttempt:         "accept-stale-attempt",
	AckBeforeSync:              "ack-before-sync",
	CompletePromiseTwice:       "complete-promise-twice",
	ReleaseLockOnSuspend:       "release-lock-on-suspend",
	LoseInboxOrderOnRestart:    "lose-inbox-order-on-restart",
	FireTimerEarlyAfterRestart: "fire-timer-early-after-restart",
	ForgetRetentionTimer:       "forget-retention-timer",
	PurgeWorkflowEarly:         "purge-workflow-early",
	CompletionToWrongIndex:     "completion-to-wrong-index",
	IgnoreIdempotencyKey:       "ignore-idempotency-key",
	ActOnEarlyTimer:            "act-on-early-timer",
}

// String returns the mutant's name as simrun prints and accepts it.
func (id ID) String() string {
	if int(id) < len(names) {
		return names[id]
	}
	return "unknown"
}

// All lists every mutant of the catalogue (None excluded), in catalogue order.
func All() []ID {
	ids := make([]ID, 0, count-1)
	for id := None + 1; id < count; id++ {
		ids = append(ids, id)
	}
	return ids
}

// Parse returns the mutant with the given name.
func Parse(name string) (ID, bool) {
	for id, n := range names {
		if n == name {
			return ID(id), true
		}
	}
	return None, false
}
