// Package reviewworkflow is the seed's ReviewWorkflow: the External -> Workflow direction of
// durable-promise signalling. The workflow's run handler asks for a review inside Run (the
// simulated reviewer system then schedules reviewer actors), waits on the durable promise
// "review" and returns ProcessReview of the document and the review. Reviewers resolve the
// promise through the shared handler submitReview over the ingress: twice, two racing, before run
// waits (even before run is submitted), and after run finished. Submitters start runs with
// /run/send (then attach) or a synchronous /run, sometimes twice; readers poll the output and peek
// the promise through getReview, inside and after the workflow's short retention, after which the
// key runs afresh.
//
// The expected outcome (see Check): each run returns ProcessReview of its document and the first
// review accepted in its workflow epoch; exactly one submitReview per accepted review succeeded
// and every other one failed with 409 "promise was already completed"; clients of a run saw its
// output, duplicate submissions the same invocation (or 409), and reads answer what the key held
// while they were served.
//
// It imports the user kit (vigiltest), the checkers' history and the runtime's handler API;
// nothing in the runtime imports it.
package reviewworkflow

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/scenarios/internal/wfload"
	"github.com/vigilsim/vigil/vigiltest"
)

// Scenario is the ReviewWorkflow scenario as the simulator runs it, built on the user kit.
var Scenario = vigiltest.Scenario{
	Name:        "review-workflow",
	Description: "ReviewWorkflow: run waits on durable promise \"review\"; submitReview races, repeats, comes early and late; retention purges and re-runs",
	Setup: func(s *vigiltest.Sim) {
		wl := &workload{s: s, cl: wfload.Over(s, WorkflowName)}
		s.Services(NewWorkflow(wl))
		s.OnStart(wl.start)
		s.Checker(wl.Check)
	},
}.Sim()

// Names of the workflow, its handlers and its promise, as clients address them.
const (
	WorkflowName = "ReviewWorkflow"
	SubmitReview = "submitReview"
	GetReview    = "getReview"
	PromiseName  = "review"
	runHandler   = durable.WorkflowRunHandler
)

// Retention is how long a finished ReviewWorkflow's promise, state and output stay readable: short,
// so that purges (and fresh runs of a purged key) happen well inside the run's liveness budget.
const Retention = 30 * time.Second

// SubmitAck is what a successful submitReview returns (JSON-encoded, it is the 200 body).
const SubmitAck = "review accepted"

// ReviewStatus is getReview's answer: whether the review promise is completed, and its value.
type ReviewStatus struct {
	// Done reports whether the promise "review" is completed.
	Done bool `json:"done"`
	// Review is its value when Done.
	Review string `json:"review,omitempty"`
}

// ProcessReview is the workflow's deterministic processing of a review: the verdict comes from
// the review's words, the score from a hash of document and review, so that a run that processed
// another review or another document returns a visibly different string.
func ProcessReview(documentID, review string) string {
	h := fnv.New32a()
	h.Write([]byte(documentID))
	h.Write([]byte{0})
	h.Write([]byte(review))
	verdict := "changes requested"
	if strings.Contains(review, "approve") {
		verdict = "approved"
	}
	return fmt.Sprintf("%s %s after review %q (score %d)", documentID, verdict, review, h.Sum32()%100)
}

// Reviewers is the outside world that run asks for a review.
type Reviewers interface {
	// AskReview asks for a review of documentID for the workflow key; the reviewers answer later
	// through submitReview. It returns a request number (fresh per call, so a side effect
	// executed twice is visible in the journal). It may fail transiently, and run then retries.
	AskReview(key, documentID string) (int, error)
}

// NewWorkflow returns the ReviewWorkflow of the seed, with a Retention-long retention.
//
// run(documentID) asks for a review inside Run, waits on the promise "review" and returns
// ProcessReview(documentID, review). submitReview(review) resolves the promise and returns
// SubmitAck; if the promise is already completed it returns the error of Resolve (terminal, 409,
// wrapping durable.ErrPromiseAlreadyCompleted), so its caller gets 409 with body
// {"code":409,"message":"promise \"review\": promise was already completed","source":"invocation"}.
// getReview peeks the promise without waiting.
func NewWorkflow(reviewers Reviewers) *durable.Service {
	return durable.NewWorkflow(WorkflowName, durable.WithRetention(Retention)).
		Handler(runHandler, durable.NewWorkflowHandler(func(ctx durable.WorkflowContext, documentID string) (string, error) {
			key := ctx.Key()
			if _, err := durable.Run(ctx, func(durable.RunContext) (int, error) {
				return reviewers.AskReview(key, documentID)
			}, durable.WithName("ask-review")); err != nil {
				return "", err
			}
			review, err := durable.Promise[string](ctx, PromiseName).Result()
			if err != nil {
				return "", err
			}
			return ProcessReview(documentID, review), nil
		})).
		Handler(SubmitReview, durable.NewWorkflowSharedHandler(func(ctx durable.WorkflowSharedContext, review string) (string, error) {
			if err := durable.Promise[string](ctx, PromiseName).Resolve(review); err != nil {
				return "", err
			}
			return SubmitAck, nil
		})).
		Handler(GetReview, durable.NewWorkflowSharedHandler(func(ctx durable.WorkflowSharedContext, _ struct{}) (ReviewStatus, error) {
			review, ok, err := durable.Promise[string](ctx, PromiseName).Peek()
			if err != nil {
				return ReviewStatus{}, err
			}
			return ReviewStatus{Done: ok, Review: review}, nil
		}))
}
