package engine

// Reachability points: corners of the engine where durable execution tends to break. The engine
// reports each through Config.Reached when it passes there, so a simulation campaign can say
// which it reached and which it never did. Reporting changes nothing the engine does.
const (
	PointCompletionWhileSuspended = "completion-while-suspended"
	PointCompletionCrossedSuspend = "completion-crossed-suspension"
	PointEarlyCompletion          = "completion-before-its-awakeable"
	PointDuplicateCompletion      = "duplicate-completion-dropped"
	PointCompletionAfterFinish    = "completion-after-invocation-finished"
	PointStaleAttemptDropped      = "stale-attempt-message-dropped"
	PointCommandBuffered          = "command-out-of-order-buffered"
	PointDuplicateCommand         = "command-duplicate-ignored"
	PointExclusiveQueued          = "exclusive-call-queued"
	PointPromiseCompletedTwice    = "promise-completed-twice"
	PointPromiseBeforeWait        = "promise-completed-before-wait"
	PointWorkflowResubmitted      = "workflow-run-resubmitted"
	PointIdempotentRetry          = "idempotent-retry-answered"
	PointRetentionPurge           = "retention-purge"
	PointReadAfterPurge           = "read-after-purge"
	PointRetryBackoff             = "retry-backoff"
	PointTimerFiredEarlyRearmed   = "timer-delivered-early-rearmed"
	PointRecoveredRunning         = "recovery-restarted-running-invocation"
	PointRecoveredSuspended       = "recovery-kept-suspended-invocation"
	PointSleepFired               = "sleep-fired"
	PointRequestRefused           = "request-past-a-limit-refused"
	PointCommandRefused           = "command-past-a-limit-failed-its-invocation"
	PointDelayedSendStarted       = "delayed-send-started"
	PointAwakeableByHandler       = "awakeable-completed-by-a-handler"
	PointStateKeyCleared          = "state-key-cleared"
	PointStateAllCleared          = "state-all-cleared"
	PointIdempotencyKeyExpired    = "idempotency-key-expired"
	PointLookupByIdempotencyKey   = "attach-or-output-by-idempotency-key"
	PointCallStarted              = "call-or-send-started-its-callee"
	PointCallReturned             = "callee-output-completed-its-call"
	PointCancelled                = "invocation-cancelled"
)

// Points describes every reachability point of the engine.
var Points = map[string]string{
	PointCompletionWhileSuspended: "an awakeable or promise completion arrived while its invocation was suspended on it",
	PointCompletionCrossedSuspend: "a suspension arrived after what it waits on was already completed",
	PointEarlyCompletion:          "a resolve arrived before the command that created its awakeable",
	PointDuplicateCompletion:      "a second completion of an awakeable was dropped",
	PointCompletionAfterFinish:    "a completion arrived for a finished or unknown invocation",
	PointStaleAttemptDropped:      "a message of a stale attempt was dropped",
	PointCommandBuffered:          "a command arrived ahead of a gap in the journal and waited",
	PointDuplicateCommand:         "a command arrived twice",
	PointExclusiveQueued:          "an exclusive call queued behind its key's holder",
	PointPromiseCompletedTwice:    "a durable promise was completed a second time (409)",
	PointPromiseBeforeWait:        "a durable promise was completed before anyone waited on it",
	PointWorkflowResubmitted:      "a workflow run was submitted again for a key that had one",
	PointIdempotentRetry:          "a call repeated an idempotency key",
	PointRetentionPurge:           "retention ended and the engine purged what it kept",
	PointReadAfterPurge:           "an output or attach asked for a workflow after its purge",
	PointRetryBackoff:             "an attempt failed and the invocation backed off",
	PointTimerFiredEarlyRearmed:   "a timer was delivered before its deadline and armed again",
	PointRecoveredRunning:         "recovery started a new attempt of a running invocation",
	PointRecoveredSuspended:       "recovery kept an invocation suspended",
	PointSleepFired:               "a durable sleep fell due",
	PointRequestRefused:           "an ingress request with a key, body or delay past its limit got a 400",
	PointCommandRefused:           "a handler's command or output past a limit failed its invocation terminally",
	PointDelayedSendStarted:       "a delayed send's delay ended and it started or joined its key's inbox",
	PointAwakeableByHandler:       "a handler resolved or rejected an awakeable (ResolveAwakeable, RejectAwakeable)",
	PointStateKeyCleared:          "a handler cleared a state key that was set (Clear)",
	PointStateAllCleared:          "a handler cleared every state key of its object (ClearAll)",
	PointIdempotencyKeyExpired:    "an idempotency key was forgotten at the end of its retention, so it may start afresh",
	PointLookupByIdempotencyKey:   "an attach or output found its invocation by idempotency key",
	PointCallStarted:              "a handler's call or send started its callee",
	PointCallReturned:             "a callee finished and its output completed its caller's call entry",
	PointCancelled:                "an unfinished invocation was cancelled (from outside or by a handler)",
}

// Buggify points of the engine (see Config.Buggify).
const (
	BuggifySkipRunAck = "buggify-skip-run-ack"
)

func (e *Engine) buggify(point string) bool { return e.cfg.Buggify != nil && e.cfg.Buggify(point) }

func (e *Engine) reached(point string) {
	if e.cfg.Reached != nil {
		e.cfg.Reached(point)
	}
}
