// Package wfload holds the client actions the built-in scenarios share, on the user kit
// (vigiltest): naming clients, the growing backoff between tries (Retrying), and the workflow
// scenarios' (scenarios/reviewworkflow and scenarios/workflowexternal) submission of a run with
// its attach, and reads of a run's output. The kit builds the requests and retries them.
//
// It imports the user kit; it must not import the scenarios.
package wfload

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/vigilsim/vigil/vigiltest"
)

// MaxTries bounds a client's retries after connection errors.
const MaxTries = 60

// Actors are the clients of one service in a run, on the user kit (vigiltest): the kit builds
// their requests and retries them; Actors name them, keep the inputs submitters sent, and hold
// the submission story the workflow scenarios share.
type Actors struct {
	s       *vigiltest.Sim
	service string
	inputs  map[string][]byte
}

// Over returns the actors of the service named service in the run s.
func Over(s *vigiltest.Sim, service string) *Actors { return &Actors{s: s, service: service} }

// Client returns a new client named "<kind>-<n>" (vigiltest.Sim.NumberedClient).
func (a *Actors) Client(kind string) *vigiltest.Client { return a.s.NumberedClient(kind) }

// Inputs maps each submitter to the JSON input it submitted, nil before the first SubmitRun.
func (a *Actors) Inputs() map[string][]byte { return a.inputs }

// Retrying is how these scenarios' clients retry after connection errors: up to MaxTries
// retries, each after a pause that grows from at most 100 ms to at most 3 s. A request without
// an idempotency key is retried only if it is also marked vigiltest.Repeatable.
func Retrying(more ...vigiltest.Option) []vigiltest.Option {
	return append([]vigiltest.Option{vigiltest.Backoff(10*time.Millisecond, 100*time.Millisecond, 3*time.Second), vigiltest.Tries(MaxTries + 1)}, more...)
}

// SubmitRun has a new "submitter" start the run of workflow key with input, recorded in Inputs:
// by a submission followed by an attach (60%), or by a synchronous call of run that attaches
// after 409 (the run was already invoked, perhaps by its own lost try). Both are retried after
// connection errors: a workflow key runs once.
func (a *Actors) SubmitRun(key string, input any) {
	r := a.s.Rand()
	c := a.Client("submitter")
	body, err := json.Marshal(input)
	if err != nil {
		panic(fmt.Sprintf("wfload: the input of %s's run does not encode: %v", key, err))
	}
	if a.inputs == nil {
		a.inputs = map[string][]byte{}
	}
	a.inputs[c.Name()] = body
	wf := vigiltest.Workflow(a.service, key)
	if r.Percent(60, "use-send") {
		vigiltest.SubmitWorkflow(c, wf, input, func(rep vigiltest.Reply[string]) {
			if rep.Err == nil && rep.Status == http.StatusAccepted {
				a.attach(c, wf)
			}
		}, Retrying()...)
		return
	}
	vigiltest.Call(c, wf, input, func(rep vigiltest.Reply[json.RawMessage]) {
		if rep.Status == http.StatusConflict {
			a.attach(c, wf)
		}
	}, Retrying(vigiltest.Repeatable())...)
}

// attach has c wait for the run of wf; its answer is judged from the history.
func (a *Actors) attach(c *vigiltest.Client, wf vigiltest.Target) {
	vigiltest.AttachWorkflow[json.RawMessage](c, wf, nil, Retrying()...)
}

// ReadRunOutput has a new "reader" read the run's output of key once: 404 before the run and
// after the purge, 470 while it runs, 200 after it finished.
func (a *Actors) ReadRunOutput(key string) {
	vigiltest.WorkflowOutput[json.RawMessage](a.Client("reader"), vigiltest.Workflow(a.service, key), nil, vigiltest.Tries(1))
}
