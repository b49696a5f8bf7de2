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
	// LostWakeUp completes an entry of a running attempt without sending it the completion: the
	// attempt waits until its inactivity timeout suspends it, and the engine then resumes it.
	LostWakeUp
	// SpuriousWakeUp starts a new attempt of a suspended invocation when any of its entries
	// completes, not only one it waits on.
	SpuriousWakeUp
	// RowLeftAfterPurge leaves a purged invocation's last journal entry (its output) in the store.
	RowLeftAfterPurge
	// IdempotencyIgnoresHandler scopes idempotency keys by service and key only, so the same key
	// sent to two handlers of one service names one invocation.
	IdempotencyIgnoresHandler
	// IdempotencyIgnoresObjectKey scopes idempotency keys by service and handler only, so the
	// same key sent to two objects of one service names one invocation.
	IdempotencyIgnoresObjectKey
	// SkipNonDeterminismCheck lets a replaying handler issue a different command than its journal
	// holds at that index; the executor goes on with the journaled entry.
	SkipNonDeterminismCheck
	// UseSelectBeforeAck lets a handler act on a WaitFirst choice before the engine acknowledges
	// it durable, so a crash that loses the choice lets a re-run choose otherwise.
	UseSelectBeforeAck
	// DecoderDropsIdempotencyKey makes the ingress decoder ignore the Idempotency-Key header, so
	// every retry of an idempotent call starts a new invocation.
	DecoderDropsIdempotencyKey
	// RetentionFromIdempotencySetting computes a service's retention from its idempotency
	// retention setting instead of its retention setting.
	RetentionFromIdempotencySetting
	// OverwriteBufferedCompletion lets a later completion of an awakeable whose entry has not
	// arrived yet replace the one already buffered, so the later one wins.
	OverwriteBufferedCompletion
	// IgnoreSyncError makes the host go on after its store's sync failed: it performs the
	// group's effects (replies, messages) as if the batches were durable.
	IgnoreSyncError
	// RetryWithoutBackoff starts the next attempt of a failed invocation at once instead of
	// after the retry policy's backoff.
	RetryWithoutBackoff
	// NeverSuspendIdle makes the executor ignore its inactivity timeout: an attempt that waits
	// on something stays parked on its connection instead of suspending.
	NeverSuspendIdle
	// DropCompletionBeforeStart makes the executor drop a completion that reaches it before the
	// start of its attempt (the network delayed the start), so the attempt waits for what has
	// already happened.
	DropCompletionBeforeStart
	// CancelBeforeBufferedCompletion delivers a pending cancellation to an awakeable before the
	// completion buffered for it, so both are accepted.
	CancelBeforeBufferedCompletion
	// RunBeforeDurable makes the executor ignore the gate of a speculative attempt: a Run's side
	// effect executes before the attempt's start is durable, so a crash that loses the start
	// leaves a side effect of an invocation that never existed.
	RunBeforeDurable
	// DurableBeforeSync makes the host core tell a gated attempt that its start is durable when
	// it sends the start, before the group's sync.
	DurableBeforeSync
	count
)

var names = [...]string{
	None:                        "none",
	AcceptSecondCompletion:      "accept-second-completion",
	ReexecuteJournaledRun:       "reexecute-journaled-run",
	AcceptStaleAttempt:          "accept-stale-attempt",
	AckBeforeSync:               "ack-before-sync",
	CompletePromiseTwice:        "complete-promise-twice",
	ReleaseLockOnSuspend:        "release-lock-on-suspend",
	LoseInboxOrderOnRestart:     "lose-inbox-order-on-restart",
	FireTimerEarlyAfterRestart:  "fire-timer-early-after-restart",
	ForgetRetentionTimer:        "forget-retention-timer",
	PurgeWorkflowEarly:          "purge-workflow-early",
	CompletionToWrongIndex:      "completion-to-wrong-index",
	IgnoreIdempotencyKey:        "ignore-idempotency-key",
	ActOnEarlyTimer:             "act-on-early-timer",
	LostWakeUp:                  "lost-wake-up",
	SpuriousWakeUp:              "spurious-wake-up",
	RowLeftAfterPurge:           "row-left-after-purge",
	IdempotencyIgnoresHandler:   "idempotency-ignores-handler",
	IdempotencyIgnoresObjectKey: "idempotency-ignores-object-key",
	SkipNonDeterminismCheck:     "skip-non-determinism-check",
	UseSelectBeforeAck:          "use-select-before-ack",

	DecoderDropsIdempotencyKey:      "decoder-drops-idempotency-key",
	RetentionFromIdempotencySetting: "retention-from-idempotency-setting",
	OverwriteBufferedCompletion:     "overwrite-buffered-completion",
	IgnoreSyncError:                 "ignore-sync-error",
	RetryWithoutBackoff:             "retry-without-backoff",
	NeverSuspendIdle:                "never-suspend-idle",
	DropCompletionBeforeStart:       "drop-completion-before-start",
	CancelBeforeBufferedCompletion:  "cancel-before-buffered-completion",
	RunBeforeDurable:                "run-before-durable",
	DurableBeforeSync:               "durable-before-sync",
}

// String returns the mutant's name as simrun prints and accepts it.
func (id ID) String() string {
	if int(id) < len(names) {
		return names[id]
	}
	return "unknown"
}

// All lists every mutant of the catalogue (None excluded) that the default campaign must catch,
// in catalogue order: the planted-bug test and simrun -mutants hunt each of them.
func All() []ID {
	ids := make([]ID, 0, count-1)
	for id := None + 1; id < count; id++ {
		if _, waiting := NotYetCaught[id]; !waiting {
			ids = append(ids, id)
		}
	}
	return ids
}

// NotYetCaught lists planted bugs that exist (simrun -mutant plants them by name) but that the
// committed campaign cannot catch yet, with what they wait for. The planted-bug test would fail
// on them, so All leaves them out; an entry goes when what it waits for lands.
var NotYetCaught = map[ID]string{}

// Parse returns the mutant with the given name.
func Parse(name string) (ID, bool) {
	for id, n := range names {
		if n == name {
			return ID(id), true
		}
	}
	return None, false
}
