package executor

// Reachability points of the executor, reported through Config.Reached (see the engine's).
const (
	PointStaleStartIgnored     = "executor-stale-start-ignored"
	PointReplayedRun           = "executor-replayed-journaled-run"
	PointSuspended             = "executor-suspended-attempt"
	PointAbortedParked         = "executor-aborted-parked-attempt"
	PointNonDeterminism        = "executor-non-determinism-detected"
	PointWaitFirstMany         = "executor-waitfirst-several-futures"
	PointDuplicateCompletion   = "executor-duplicate-completion-ignored"
	PointStateKeysListed       = "executor-state-keys-listed"
	PointCompletionBeforeStart = "executor-completion-before-start-kept"
	PointGated                 = "executor-run-waited-for-durable-start"
	PointGateTimedOut          = "executor-gate-timed-out"
)

// Points describes every reachability point of the executor.
var Points = map[string]string{
	PointStaleStartIgnored:     "a start of an attempt older than one already seen was ignored",
	PointReplayedRun:           "a journaled run was replayed without executing its side effect",
	PointSuspended:             "a parked attempt suspended after its inactivity timeout",
	PointAbortedParked:         "a parked attempt was aborted (crash, newer attempt, broken stream)",
	PointNonDeterminism:        "a handler diverged from its journal",
	PointWaitFirstMany:         "a WaitFirst waited on several futures",
	PointDuplicateCompletion:   "a completion or ack arrived for an entry already completed",
	PointStateKeysListed:       "a handler listed its object's state keys (Keys) while running, not replaying",
	PointCompletionBeforeStart: "a completion or ack arrived before the start of its attempt and was kept for it",
	PointGated:                 "a speculatively started attempt reached a Run before its start was durable and waited",
	PointGateTimedOut:          "an attempt waiting at a Run for its start to be durable suspended after its inactivity timeout",
}

// Buggify points of the executor (see Config.Buggify).
const (
	BuggifyTransientError = "buggify-transient-error"
	BuggifyDieAfterEffect = "buggify-die-after-side-effect"
)

func (e *Executor) buggify(point string) bool {
	return e.cfg.Buggify != nil && !e.cfg.ReplayOnly && e.cfg.Buggify(point)
}

func (e *Executor) reached(point string) {
	if e.cfg.Reached != nil {
		e.cfg.Reached(point)
	}
}
