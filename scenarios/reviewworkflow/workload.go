package reviewworkflow

import (
	"errors"
	"fmt"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/scenarios/internal/wfload"
	"github.com/vigilsim/vigil/vigiltest"
)

// workload drives submitters, reviewers and readers from the run's random stream, as clients of
// the user kit. Every client that needs an answer retries after connection errors with a
// backoff, so that every run can finish once the faults are healed.
type workload struct {
	s  *vigiltest.Sim
	cl *wfload.Actors
	// asks counts AskReview calls (executions of run's side effect); reviews numbers every
	// review text, so that each submission's value is unique in the history.
	asks    int
	reviews int
}

var errReviewersDown = errors.New("reviewer system unavailable")

func (wl *workload) Check(h *checkers.History) []checkers.Violation { return Check(h, wl.cl.Inputs()) }

// start schedules, per workflow key: the first run submission, sometimes a duplicate one, an
// early review (possibly before run is submitted), readers of the output and of the promise
// inside and after the retention, sometimes a late review and a second round after the purge.
func (wl *workload) start() {
	r := wl.s.Rand()
	keys := 2 + r.Intn(2, "keys")
	for i := range keys {
		key := fmt.Sprintf("rw-%d", i)
		at := r.Duration(0, 20*time.Second, "submit-at")
		wl.s.After(at, func() { wl.submitRun(key, 0) })
		if r.Percent(30, "duplicate-run") {
			wl.s.After(at+r.Duration(0, 10*time.Second, "duplicate-at"), func() { wl.submitRun(key, 1) })
		}
		if r.Percent(25, "early-review") {
			wl.s.After(r.Duration(0, at, "early-review-at"), func() { wl.review(key, "early reviewer") })
		}
		for range r.Intn(3, "output-readers") {
			wl.s.After(r.Duration(0, 150*time.Second, "read-at"), func() { wl.cl.ReadRunOutput(key) })
		}
		for range r.Intn(3, "promise-peekers") {
			wl.s.After(r.Duration(0, 150*time.Second, "peek-at"), func() { wl.peek(key) })
		}
		if r.Percent(20, "late-review") {
			wl.s.After(r.Duration(60*time.Second, 200*time.Second, "late-review-at"), func() { wl.review(key, "late reviewer") })
		}
		if r.Percent(40, "second-round") {
			at2 := r.Duration(90*time.Second, 200*time.Second, "second-round-at")
			wl.s.After(at2, func() { wl.submitRun(key, 2) })
			wl.s.After(at2+r.Duration(0, 60*time.Second, "second-read-at"), func() { wl.cl.ReadRunOutput(key) })
		}
	}
}

// submitRun starts the run of key with a document of its own (a duplicate's input must be
// dropped), by /run/send followed by an attach, or by a synchronous /run that attaches after 409.
func (wl *workload) submitRun(key string, n int) {
	wl.cl.SubmitRun(key, fmt.Sprintf("doc-%s-%d", key, n))
}

// peek calls getReview once, with no input.
func (wl *workload) peek(key string) {
	vigiltest.Call[string](wl.cl.Client("peeker"), vigiltest.Workflow(WorkflowName, key).On(GetReview), nil, nil)
}

// review is one reviewer submitting a review of key, sometimes with an Idempotency-Key (its
// retries then reach one invocation), sometimes twice: the same text again or a new one.
func (wl *workload) review(key, who string) {
	r := wl.s.Rand()
	c := wl.cl.Client("reviewer")
	text := wl.reviewText(c.Name(), who, key)
	idem := ""
	if r.Percent(50, "idempotent-review") {
		idem = fmt.Sprintf("%s-review", c.Name())
	}
	wl.submit(c, key, text, idem)
	if r.Percent(20, "resubmit") {
		again := text
		if r.Percent(50, "resubmit-new-text") {
			again = wl.reviewText(c.Name(), who+", again", key)
		}
		wl.s.After(r.Duration(0, 5*time.Second, "resubmit-at"), func() { wl.submit(c, key, again, "") })
	}
}

func (wl *workload) reviewText(name, who, key string) string {
	wl.reviews++
	verdict := "request changes to"
	if wl.s.Rand().Percent(60, "approve") {
		verdict = "approve"
	}
	return fmt.Sprintf("%s (%s): %s %s [#%d]", name, who, verdict, key, wl.reviews)
}

// submit calls submitReview with text, retrying after connection errors as a webhook sender
// would, with or without an idempotency key (a promise's first completion wins, so a repeat is
// harmless); the answer is 200 "review accepted" or 409 "promise was already completed".
func (wl *workload) submit(c *vigiltest.Client, key, text, idempotencyKey string) {
	opts := wfload.Retrying(vigiltest.Repeatable())
	if idempotencyKey != "" {
		opts = append(opts, vigiltest.IdempotencyKey(idempotencyKey))
	}
	vigiltest.Call[string](c, vigiltest.Workflow(WorkflowName, key).On(SubmitReview), text, nil, opts...)
}

// AskReview is the reviewer system: it schedules one or two racing reviewers for key, sometimes
// late. While faults are on it is sometimes down, so run's side effect fails and run retries.
func (wl *workload) AskReview(key, documentID string) (int, error) {
	r := wl.s.Rand()
	if !wl.s.Healed() && r.Percent(10, "reviewers-down") {
		return 0, errReviewersDown
	}
	wl.asks++
	reviewers := 1
	if r.Percent(30, "racing-reviewers") {
		reviewers = 2
	}
	for range reviewers {
		delay := r.Duration(0, 5*time.Second, "review-delay")
		if r.Percent(10, "slow-review") {
			delay += r.Duration(20*time.Second, 90*time.Second, "slow-delay")
		}
		wl.s.After(delay, func() { wl.review(key, "reviewer of "+documentID) })
	}
	return wl.asks, nil
}
