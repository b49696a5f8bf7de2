// Package handlers holds the seed's handlers as the example server (examples/seed) runs them:
// human approval with an awakeable, a review workflow with a durable promise, a ledger virtual
// object whose exclusive handler can hold its key on an awakeable, and a durable sleep.
//
// They live in their own package so that the host's tests can serve exactly the handlers the
// example serves.
package handlers

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/vigilsim/vigil/runtime/durable"
)

// Service, handler and promise names, as clients address them.
const (
	ApprovalService    = "Approval"
	RequestHumanReview = "requestHumanReview"

	ReviewWorkflow = "ReviewWorkflow"
	SubmitReview   = "submitReview"
	ReviewPromise  = "review"

	Ledger       = "Ledger"
	LedgerAppend = "append"
	LedgerHold   = "hold"
	LedgerRead   = "read"

	SleeperService = "Sleeper"
	SleeperSleep   = "sleep"
)

// Options configures the handlers.
type Options struct {
	// Logger receives the handlers' log lines (the awakeable IDs and the curl commands that
	// complete them). Default slog.Default().
	Logger *slog.Logger
	// BaseURL is the ingress address the logged curl commands use. Default "localhost:8080".
	BaseURL string
}

// Services returns every seed service.
func Services(o Options) []*durable.Service {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.BaseURL == "" {
		o.BaseURL = "localhost:8080"
	}
	o.BaseURL = strings.TrimSuffix(o.BaseURL, "/")
	return []*durable.Service{Approval(o), Review(o), LedgerObject(o), Sleeper()}
}

// ApprovalOutput is what requestHumanReview returns for document once the decision came.
func ApprovalOutput(document, decision string) string {
	return fmt.Sprintf("review of %s: %s", document, decision)
}

// ResolveCommand is the curl command that resolves the awakeable id with "Looks good!".
func ResolveCommand(baseURL, id string) string {
	return fmt.Sprintf(`curl %s/restate/awakeables/%s/resolve --json '"Looks good!"'`, baseURL, id)
}

// RejectCommand is the curl command that rejects the awakeable id.
func RejectCommand(baseURL, id string) string {
	return fmt.Sprintf(`curl %s/restate/awakeables/%s/reject -H 'content-type: text/plain' -d 'Review rejected: insufficient documentation'`, baseURL, id)
}

// Approval is the seed's approval service: requestHumanReview creates an awakeable, hands its
// ID to a human (here: a log line with the curl command to paste) inside a Run, so that it is
// requested once however often the handler replays, and waits for the decision. A rejection
// fails the invocation with a terminal error carrying the reason.
func Approval(o Options) *durable.Service {
	return durable.NewService(ApprovalService).Handler(RequestHumanReview, durable.NewServiceHandler(
		func(ctx durable.Context, document string) (string, error) {
			awakeable := durable.Awakeable[string](ctx)
			if _, err := durable.Run(ctx, func(rc durable.RunContext) (bool, error) {
				o.Logger.Info("human review requested; to resolve: "+ResolveCommand(o.BaseURL, awakeable.ID()),
					"document", document, "awakeable", awakeable.ID(), "invocation", rc.InvocationID(),
					"reject", RejectCommand(o.BaseURL, awakeable.ID()))
				return true, nil
			}, durable.WithName("request-review")); err != nil {
				return "", err
			}
			decision, err := awakeable.Result()
			if err != nil {
				return "", err
			}
			return ApprovalOutput(document, decision), nil
		}))
}

// ProcessReview is what the review workflow's run returns for document and the submitted
// review.
func ProcessReview(document, review string) string {
	return fmt.Sprintf("document %s reviewed: %s", document, review)
}

// Review is the seed's ReviewWorkflow: run asks for a review (a log line, inside a Run), waits
// on the durable promise "review" and returns ProcessReview; the shared submitReview resolves
// the promise, and a second submission fails with the terminal error 409 "promise was already
// completed".
func Review(o Options) *durable.Service {
	return durable.NewWorkflow(ReviewWorkflow).
		Handler(durable.WorkflowRunHandler, durable.NewWorkflowHandler(
			func(ctx durable.WorkflowContext, document string) (string, error) {
				if _, err := durable.Run(ctx, func(rc durable.RunContext) (bool, error) {
					o.Logger.Info(fmt.Sprintf(`review of %s requested; waiting on promise %q; to submit: curl %s/%s/%s/%s --json '"LGTM"'`,
						document, ReviewPromise, o.BaseURL, ReviewWorkflow, ctx.Key(), SubmitReview),
						"workflow", ReviewWorkflow, "key", ctx.Key(), "document", document, "invocation", rc.InvocationID())
					return true, nil
				}, durable.WithName("ask-review")); err != nil {
					return "", err
				}
				review, err := durable.Promise[string](ctx, ReviewPromise).Result()
				if err != nil {
					return "", err
				}
				return ProcessReview(document, review), nil
			})).
		Handler(SubmitReview, durable.NewWorkflowSharedHandler(
			func(ctx durable.WorkflowSharedContext, review string) (string, error) {
				if err := durable.Promise[string](ctx, ReviewPromise).Resolve(review); err != nil {
					return "", err
				}
				return "review submitted", nil
			}))
}

// LedgerView is what the ledger's read handler returns.
type LedgerView struct {
	// Entries are the appended entries, in order.
	Entries []string `json:"entries"`
	// Holding is the ID of the awakeable a hold waits on, empty when none does.
	Holding string `json:"holding,omitempty"`
}

// State keys of the ledger.
const (
	entriesKey = "entries"
	holdingKey = "holding"
)

// LedgerObject is a virtual object: the exclusive append adds an entry to the key's state and
// returns how many there are; the exclusive hold keeps the key (other exclusive calls queue)
// until its awakeable is completed, and publishes the awakeable's ID in the state so a client
// can read it; the shared read answers at once, even while a hold waits.
func LedgerObject(o Options) *durable.Service {
	return durable.NewObject(Ledger).
		Handler(LedgerAppend, durable.NewObjectHandler(
			func(ctx durable.ObjectContext, entry string) (int, error) {
				entries, err := durable.Get[[]string](ctx, entriesKey)
				if err != nil {
					return 0, err
				}
				entries = append(entries, entry)
				durable.Set(ctx, entriesKey, entries)
				return len(entries), nil
			})).
		Handler(LedgerHold, durable.NewObjectHandler(
			func(ctx durable.ObjectContext, reason string) (string, error) {
				awakeable := durable.Awakeable[string](ctx)
				durable.Set(ctx, holdingKey, awakeable.ID())
				if _, err := durable.Run(ctx, func(durable.RunContext) (bool, error) {
					o.Logger.Info("ledger held; to release: "+ResolveCommand(o.BaseURL, awakeable.ID()),
						"ledger", ctx.Key(), "reason", reason, "awakeable", awakeable.ID())
					return true, nil
				}, durable.WithName("announce-hold")); err != nil {
					return "", err
				}
				release, err := awakeable.Result()
				durable.Clear(ctx, holdingKey)
				if err != nil {
					return "", err
				}
				return fmt.Sprintf("%s held for %s, released: %s", ctx.Key(), reason, release), nil
			})).
		Handler(LedgerRead, durable.NewObjectSharedHandler(
			func(ctx durable.ObjectSharedContext, _ any) (LedgerView, error) {
				entries, err := durable.Get[[]string](ctx, entriesKey)
				if err != nil {
					return LedgerView{}, err
				}
				holding, err := durable.Get[string](ctx, holdingKey)
				if err != nil {
					return LedgerView{}, err
				}
				if entries == nil {
					entries = []string{}
				}
				return LedgerView{Entries: entries, Holding: holding}, nil
			}))
}

// SleepOutput is what Sleeper.sleep returns after sleeping ms milliseconds.
func SleepOutput(ms int) string { return fmt.Sprintf("slept %d ms", ms) }

// errNegativeSleep is the terminal error of a negative sleep.
var errNegativeSleep = errors.New("sleep: milliseconds must not be negative")

// Sleeper is a plain service whose sleep handler waits durably for the given number of
// milliseconds: a crash neither loses the timer nor fires it early.
func Sleeper() *durable.Service {
	return durable.NewService(SleeperService).Handler(SleeperSleep, durable.NewServiceHandler(
		func(ctx durable.Context, ms int) (string, error) {
			if ms < 0 {
				return "", durable.TerminalError(errNegativeSleep, 400)
			}
			if err := durable.Sleep(ctx, time.Duration(ms)*time.Millisecond); err != nil {
				return "", err
			}
			return SleepOutput(ms), nil
		}))
}
