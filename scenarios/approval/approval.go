// Package approval is the seed's human-approval scenario: a handler creates an awakeable, hands
// its ID to a reviewer inside Run, waits for the decision and returns it. Reviewers resolve or
// reject over the ingress HTTP API — sometimes twice, sometimes two racing, sometimes late — and
// the scenario checks that each invocation returns the first accepted decision, or fails with a
// terminal error carrying the rejection reason.
//
// It imports the simulator and the runtime's handler API; nothing in the runtime imports it.
package approval

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/sim"
)

// Scenario is the approval scenario as the simulator runs it.
var Scenario = sim.Scenario{
	Name:        "approval",
	Description: "human approval via awakeable: reviewers resolve/reject over HTTP, twice, racing, late",
	New:         func(w *sim.World) sim.Workload { return &workload{w: w} },
}

// ServiceName and HandlerName address the approval handler over the ingress.
const (
	ServiceName = "Approval"
	HandlerName = "requestHumanReview"
)

// Request is the handler's input.
type Request struct {
	Document string `json:"document"`
}

// Outcome formats the handler's output for a document and the reviewer's decision; the
// scenario's expected outcome is stated with it.
func Outcome(document, decision string) string {
	return fmt.Sprintf("review of %s: %s", document, decision)
}

// ReviewSystem is the outside world the handler hands review requests to.
type ReviewSystem interface {
	// RequestReview asks a human to review document and answer on the awakeable awakeableID. It
	// may fail transiently (the review system is down), and then the handler retries.
	RequestReview(document, awakeableID string) error
}

// NewService returns the Approval service whose requestHumanReview handler follows the seed.
func NewService(reviews ReviewSystem) *durable.Service {
	return durable.NewService(ServiceName).Handler(HandlerName, durable.NewServiceHandler(
		func(ctx durable.Context, req Request) (string, error) {
			awakeable := durable.Awakeable[string](ctx)
			if _, err := durable.Run(ctx, func(durable.RunContext) (bool, error) {
				return true, reviews.RequestReview(req.Document, awakeable.ID())
			}, durable.WithName("request-review")); err != nil {
				return "", err
			}
			decision, err := awakeable.Result()
			if err != nil {
				return "", err
			}
			return Outcome(req.Document, decision), nil
		}))
}

// workload drives submitters and reviewers from the world's random stream.
type workload struct {
	w       *sim.World
	clients int
	// documents by invocation ID as the submitters learnt them, for the outcome check.
	documents map[string]string
	// responses are the outputs clients received: invocation ID (x-restate-id) -> bodies.
	responses []clientResult
}

type clientResult struct {
	invocation string
	status     int
	body       []byte
	event      int
}

var errReviewSystemDown = errors.New("review system unavailable")

func (wl *workload) Services() []*durable.Service {
	wl.documents = map[string]string{}
	return []*durable.Service{NewService(wl)}
}

func (wl *workload) client(kind string) string {
	wl.clients++
	return fmt.Sprintf("%s-%d", kind, wl.clients)
}

func (wl *workload) Start() {
	r := wl.w.Rand()
	n := 1 + r.Intn(8, "invocations")
	for i := range n {
		doc := fmt.Sprintf("doc-%d", i)
		wl.w.After(r.Duration(0, 20*time.Second, "submit-at"), func() { wl.submit(doc) })
	}
}

// submit invokes the handler for doc, by a call that waits or by a send followed by attaches.
func (wl *workload) submit(doc string) {
	r := wl.w.Rand()
	body, _ := json.Marshal(Request{Document: doc})
	name := wl.client("submitter")
	path := "/" + ServiceName + "/" + HandlerName
	if r.Percent(50, "use-send") {
		wl.w.HTTP(name, http.MethodPost, path+"/send", body, nil, func(resp sim.Response) {
			if resp.Err != nil || resp.Status != http.StatusAccepted {
				return // in doubt: the invocation may or may not exist; nothing more to learn
			}
			var accepted struct {
				InvocationID string `json:"invocationId"`
			}
			if json.Unmarshal(resp.Body, &accepted) == nil {
				wl.documents[accepted.InvocationID] = doc
				wl.attach(name, accepted.InvocationID, 0)
			}
		})
		return
	}
	wl.w.HTTP(name, http.MethodPost, path, body, nil, func(resp sim.Response) {
		if resp.Err == nil && resp.InvocationID != "" {
			wl.documents[resp.InvocationID] = doc
			wl.record(resp)
		}
	})
}

// attach waits for an invocation's output, retrying after connection failures.
func (wl *workload) attach(client, id string, tries int) {
	wl.w.HTTP(client, http.MethodGet, "/restate/invocation/"+id+"/attach", nil, nil, func(resp sim.Response) {
		if resp.Err != nil && tries < 50 {
			wl.w.After(wl.w.Rand().Duration(10*time.Millisecond, 2*time.Second, "attach-retry"), func() { wl.attach(client, id, tries+1) })
			return
		}
		if resp.Err == nil {
			wl.record(resp)
		}
	})
}

func (wl *workload) record(resp sim.Response) {
	wl.responses = append(wl.responses, clientResult{invocation: resp.InvocationID, status: resp.Status, body: resp.Body})
}

// RequestReview is the review system: it schedules one or two reviewers for the awakeable.
// While faults are on it is sometimes down, so the handler's Run fails and the invocation retries.
func (wl *workload) RequestReview(document, awakeableID string) error {
	r := wl.w.Rand()
	if !wl.w.Healed() && r.Percent(10, "review-system-down") {
		return errReviewSystemDown
	}
	reviewers := 1
	if r.Percent(30, "racing-reviewers") {
		reviewers = 2
	}
	for range reviewers {
		name := wl.client("reviewer")
		delay := r.Duration(0, 5*time.Second, "review-delay")
		if r.Percent(10, "late-review") {
			delay += r.Duration(30*time.Second, 2*time.Minute, "late-delay")
		}
		reject := r.Percent(30, "reject")
		twice := r.Percent(20, "twice")
		wl.w.After(delay, func() {
			wl.review(name, document, awakeableID, reject, 0)
			if twice {
				wl.w.After(r.Duration(0, 3*time.Second, "second-review"), func() { wl.review(name, document, awakeableID, !reject, 0) })
			}
		})
	}
	return nil
}

// review resolves or rejects the awakeable over HTTP, retrying after connection failures as a
// webhook sender would.
func (wl *workload) review(client, document, awakeableID string, reject bool, tries int) {
	path := "/restate/awakeables/" + awakeableID
	var body []byte
	if reject {
		path += "/reject"
		body = []byte(fmt.Sprintf("%s rejects %s: insufficient documentation", client, document))
	} else {
		path += "/resolve"
		body, _ = json.Marshal(client + " approves")
	}
	wl.w.HTTP(client, http.MethodPost, path, body, nil, func(resp sim.Response) {
		if resp.Err != nil && tries < 100 {
			wl.w.After(wl.w.Rand().Duration(10*time.Millisecond, 3*time.Second, "review-retry"), func() {
				wl.review(client, document, awakeableID, reject, tries+1)
			})
		}
	})
}

// Check states the scenario's expected outcome: every finished invocation's output is the first
// accepted decision on its awakeable (the one at journal index 1), or a terminal failure with the
// accepted rejection's reason; and every output a client received is that output.
func (wl *workload) Check(h *checkers.History) []checkers.Violation {
	accepted := map[protocol.InvocationID]journal.Result{}
	outputs := map[protocol.InvocationID]journal.Result{}
	var order []protocol.InvocationID
	for _, e := range h.Events {
		switch e.Kind {
		case checkers.CompletionAccepted:
			if _, seen := accepted[e.Invocation]; !seen && e.Index == 1 {
				accepted[e.Invocation] = e.Result
			}
		case checkers.InvocationDone:
			if _, seen := outputs[e.Invocation]; !seen {
				order = append(order, e.Invocation)
			}
			outputs[e.Invocation] = e.Result
		}
	}
	var vs []checkers.Violation
	fail := func(id protocol.InvocationID, format string, args ...any) {
		vs = append(vs, checkers.Violation{Checker: "approval-outcome", Invocation: id, Message: fmt.Sprintf(format, args...)})
	}
	for _, id := range order {
		out := outputs[id]
		doc, known := wl.documents[id.String()]
		acc, ok := accepted[id]
		if !ok {
			fail(id, "finished with %s but no decision was ever accepted", out)
			continue
		}
		want := expected(doc, acc)
		if !known {
			// The submitter never learnt the ID (its reply was lost); compare the decision only.
			if out.Failure == nil && acc.Failure == nil {
				var s string
				if json.Unmarshal(out.Value, &s) != nil || !strings.HasSuffix(s, ": "+decode(acc.Value)) {
					fail(id, "output %s does not carry the accepted decision %s", out, acc)
				}
				continue
			}
		}
		if !want.Equal(out) && (known || out.Failure == nil || acc.Failure == nil || out.Failure.Message != acc.Failure.Message) {
			fail(id, "output %s, want %s (accepted decision %s)", out, want, acc)
		}
	}
	for _, cr := range wl.responses {
		id, err := protocol.ParseInvocationID(cr.invocation)
		if err != nil {
			continue
		}
		out, done := outputs[id]
		if !done {
			vs = append(vs, checkers.Violation{Checker: "approval-outcome", Invocation: id, Message: fmt.Sprintf("a client received status %d %s for an invocation with no durable output", cr.status, cr.body)})
			continue
		}
		got := journal.Result{Value: cr.body}
		if cr.status != http.StatusOK {
			var fb struct {
				Code    uint16 `json:"code"`
				Message string `json:"message"`
			}
			_ = json.Unmarshal(cr.body, &fb)
			got = journal.Result{Failure: &journal.Failure{Code: fb.Code, Message: fb.Message}}
		}
		if !got.Equal(out) {
			vs = append(vs, checkers.Violation{Checker: "approval-outcome", Invocation: id, Message: fmt.Sprintf("a client received %s, the durable output is %s", got, out)})
		}
	}
	slices.SortStableFunc(vs, func(a, b checkers.Violation) int {
		return strings.Compare(a.Invocation.String(), b.Invocation.String())
	})
	return vs
}

func expected(doc string, decision journal.Result) journal.Result {
	if decision.Failure != nil {
		return journal.Result{Failure: &journal.Failure{Code: decision.Failure.Code, Message: decision.Failure.Message}}
	}
	b, _ := json.Marshal(Outcome(doc, decode(decision.Value)))
	return journal.Result{Value: b}
}

func decode(v []byte) string {
	var s string
	_ = json.Unmarshal(v, &s)
	return s
}
