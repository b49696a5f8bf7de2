// Package handoff is the scenario of awakeables completed from everywhere but the waiter: a
// handler hands an awakeable to an outside actor and waits; the actor completes it exactly once,
// by calling another handler that resolves or rejects it (durable.ResolveAwakeable,
// durable.RejectAwakeable), or over HTTP through Restate's short route /restate/a/{id}/resolve
// (and /reject) or the long one /restate/awakeables/{id}/.... The actor never sends again once
// the runtime has answered it: unlike the approval scenario, whose handler asks for a fresh
// review on every re-run and so heals a lost completion, nothing here heals one, and a
// completion the runtime acknowledged and then lost leaves its waiter unfinished, which the
// liveness check reports.
//
// The expected outcome (see Check): each waiter ends with the actor's one decision (its value, or
// a terminal failure carrying the rejection's code and reason), that decision is the awakeable's
// accepted completion, and every completing handler returns Done.
//
// It imports the user kit (vigiltest), the simulator's coverage points, the checkers' history and
// the runtime's handler API; nothing in the runtime imports it.
package handoff

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/scenarios/internal/wfload"
	"github.com/vigilsim/vigil/sim"
	"github.com/vigilsim/vigil/vigiltest"
)

// Scenario is the handoff scenario as the simulator runs it, built on the user kit.
var Scenario = vigiltest.Scenario{
	Name:        "handoff",
	Description: "awakeables completed exactly once, never re-sent: by handlers (Resolve/RejectAwakeable) and over /restate/a/ and /restate/awakeables/",
	Setup: func(s *vigiltest.Sim) {
		wl := &workload{s: s, cl: wfload.Over(s, ServiceName), decided: map[string]journal.Result{}, tasks: map[string]string{}}
		s.Services(NewService(wl))
		s.OnStart(wl.start)
		s.Checker(wl.Check)
	},
}.Sim()

// Names of the service and its handlers, as clients address them.
const (
	ServiceName = "Handoff"
	Wait        = "wait"
	Complete    = "complete"
)

// Done is what a completing handler returns.
const Done = "completed"

// Task is the waiter's input.
type Task struct {
	Name string `json:"name"`
}

// Completion is the completing handler's input: resolve ID with Value, or reject it with Reason
// and Code.
type Completion struct {
	ID     string `json:"id"`
	Value  string `json:"value,omitempty"`
	Reject bool   `json:"reject,omitempty"`
	Reason string `json:"reason,omitempty"`
	Code   uint16 `json:"code,omitempty"`
}

// Outcome is the waiter's output for a task and the value its awakeable was resolved with.
func Outcome(task, value string) string { return fmt.Sprintf("%s handed off: %s", task, value) }

// Actor is the outside world a waiter hands its awakeable to.
type Actor interface {
	// Offer hands the awakeable id of task to the actor. The actor completes it later, once
	// however often it is offered (a Run that was not journaled runs again).
	Offer(task, id string)
}

// NewService returns the Handoff service. wait(task) creates an awakeable, offers it to actor
// inside Run and returns Outcome(task, value), or the rejection as a terminal error. complete(c)
// resolves or rejects the awakeable c.ID and returns Done.
func NewService(actor Actor) *durable.Service {
	return durable.NewService(ServiceName).
		Handler(Wait, durable.NewServiceHandler(func(ctx durable.Context, t Task) (string, error) {
			a := durable.Awakeable[string](ctx)
			if _, err := durable.Run(ctx, func(durable.RunContext) (bool, error) {
				actor.Offer(t.Name, a.ID())
				return true, nil
			}, durable.WithName("offer")); err != nil {
				return "", err
			}
			v, err := a.Result()
			if err != nil {
				return "", err
			}
			return Outcome(t.Name, v), nil
		})).
		Handler(Complete, durable.NewServiceHandler(func(ctx durable.Context, c Completion) (string, error) {
			if c.Reject {
				durable.RejectAwakeable(ctx, c.ID, durable.TerminalError(errors.New(c.Reason), c.Code))
			} else {
				durable.ResolveAwakeable(ctx, c.ID, c.Value)
			}
			return Done, nil
		}))
}

// route is how the actor completes one awakeable.
type route uint8

const (
	viaHandler route = iota // POST /Handoff/complete, with an idempotency key
	viaShort                // POST /restate/a/{id}/...
	viaLong                 // POST /restate/awakeables/{id}/...
)

// workload drives the submitters and the actor, as clients of the user kit.
type workload struct {
	s  *vigiltest.Sim
	cl *wfload.Actors
	// decided is the actor's one decision per awakeable ID, as the waiter must see it.
	decided map[string]journal.Result
	// tasks maps each awakeable ID to the task it was offered for.
	tasks map[string]string
}

func (wl *workload) start() {
	r := wl.s.Rand()
	n := 2 + r.Intn(7, "tasks")
	for i := range n {
		task := fmt.Sprintf("task-%d", i)
		wl.s.After(r.Duration(0, 30*time.Second, "submit-at"), func() { wl.submit(task) })
	}
}

// submit calls wait for task with an idempotency key, retrying after connection errors: the
// retries reach the same invocation.
func (wl *workload) submit(task string) {
	vigiltest.Call[string](wl.cl.Client("submitter"), vigiltest.Service(ServiceName, Wait), Task{Name: task}, nil,
		wfload.Retrying(vigiltest.IdempotencyKey("wait-"+task))...)
}

// Offer implements Actor: the first offer of id draws the decision and when to send it; later
// offers of the same id change nothing.
func (wl *workload) Offer(task, id string) {
	if _, seen := wl.decided[id]; seen {
		return
	}
	r := wl.s.Rand()
	rt := route(r.Intn(3, "route"))
	reject := r.Percent(30, "reject")
	var d journal.Result
	var c Completion
	actor := wl.cl.Client("actor")
	name := actor.Name()
	switch {
	case reject && rt == viaHandler:
		code := uint16(400 + r.Intn(100, "reject-code"))
		c = Completion{ID: id, Reject: true, Reason: name + " declines " + task, Code: code}
		d = journal.Result{Failure: &journal.Failure{Code: code, Message: c.Reason}}
	case reject:
		// The ingress gives an HTTP rejection code 500 and the body as its message.
		c = Completion{ID: id, Reject: true, Reason: name + " declines " + task}
		d = journal.Result{Failure: &journal.Failure{Code: 500, Message: c.Reason}}
	default:
		c = Completion{ID: id, Value: name + " takes " + task}
		b, _ := json.Marshal(c.Value)
		d = journal.Result{Value: b}
	}
	wl.decided[id], wl.tasks[id] = d, task
	delay := r.Duration(0, 5*time.Second, "complete-delay")
	if r.Percent(30, "complete-late") {
		delay += r.Duration(10*time.Second, 40*time.Second, "late-delay")
	}
	wl.s.After(delay, func() { wl.complete(actor, rt, c) })
}

// complete sends the actor's decision once; it tries again only after a connection error, when
// it cannot know whether the runtime got it. An answer, whatever it is, ends it.
func (wl *workload) complete(c *vigiltest.Client, rt route, d Completion) {
	switch {
	case rt == viaHandler:
		vigiltest.Call[string](c, vigiltest.Service(ServiceName, Complete), d, nil, wfload.Retrying(vigiltest.IdempotencyKey("complete-"+d.ID))...)
	case rt == viaShort:
		wl.short(c, d)
	case d.Reject:
		vigiltest.RejectAwakeable(c, d.ID, d.Reason, nil, wfload.Retrying()...)
	default:
		vigiltest.ResolveAwakeable(c, d.ID, d.Value, nil, wfload.Retrying()...)
	}
}

// short completes the awakeable over Restate's short alias /restate/a/{id}/..., which the kit's
// helpers do not use: a raw request, retried after connection errors like the long route (the
// first completion wins, so a repeat cannot complete it twice).
func (wl *workload) short(c *vigiltest.Client, d Completion) {
	path, body := "/restate/a/"+url.PathEscape(d.ID)+"/resolve", []byte(nil)
	if d.Reject {
		path, body = "/restate/a/"+url.PathEscape(d.ID)+"/reject", []byte(d.Reason)
	} else if b, err := json.Marshal(d.Value); err == nil {
		body = b
	}
	vigiltest.Raw(c, http.MethodPost, path, body, nil, func(rep vigiltest.Reply[json.RawMessage]) {
		if rep.Status == http.StatusAccepted {
			wl.s.World().Reach(sim.CoverAwakeableAlias)
		}
	}, wfload.Retrying(vigiltest.Repeatable())...)
}
