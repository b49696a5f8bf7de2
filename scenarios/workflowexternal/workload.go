package workflowexternal

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/scenarios/internal/wfload"
	"github.com/vigilsim/vigil/sim"
)

// workload drives job submitters, waiters and status readers from the world's random stream.
// Clients that need an answer retry after connection errors with a backoff.
type workload struct {
	w       *sim.World
	cl      *wfload.Clients
	batches int
}

var errWorkerDown = errors.New("worker unavailable")

func (wl *workload) Services() []*durable.Service {
	return []*durable.Service{NewWorkflow(wl)}
}

func (wl *workload) Check(h *checkers.History) []checkers.Violation { return Check(h, wl.cl.Inputs()) }

// Start schedules, per job key: the run (sometimes submitted twice), waiters on both promises
// and status readers at random times — before the run, while it runs, after it and after its
// purge — and sometimes a second run after the retention, with waiters around it.
func (wl *workload) Start() {
	r := wl.w.Rand()
	keys := 2 + r.Intn(2, "keys")
	for i := range keys {
		key := fmt.Sprintf("job-%d", i)
		at := r.Duration(0, 20*time.Second, "submit-at")
		wl.w.After(at, func() { wl.submitRun(key, "a") })
		if r.Percent(20, "duplicate-run") {
			wl.w.After(at+r.Duration(0, 10*time.Second, "duplicate-at"), func() { wl.submitRun(key, "dup") })
		}
		for range 1 + r.Intn(2, "waiters") {
			wl.w.After(r.Duration(0, 100*time.Second, "wait-at"), func() { wl.wait(key) })
		}
		for range r.Intn(2, "status-readers") {
			wl.w.After(r.Duration(0, 100*time.Second, "status-at"), func() { wl.status(key) })
		}
		if r.Percent(25, "output-reader") {
			wl.w.After(r.Duration(0, 100*time.Second, "read-at"), func() { wl.cl.ReadOutput(key) })
		}
		if r.Percent(40, "second-round") {
			at2 := r.Duration(90*time.Second, 180*time.Second, "second-round-at")
			wl.w.After(at2, func() { wl.submitRun(key, "b") })
			for range 1 + r.Intn(2, "second-waiters") {
				wl.w.After(at2-r.Duration(0, 30*time.Second, "second-wait-at"), func() { wl.wait(key) })
			}
		}
	}
}

// submitRun starts a run of key, by /run/send and an attach or by a synchronous /run.
func (wl *workload) submitRun(key, round string) {
	r := wl.w.Rand()
	job := Job{Name: key + "-" + round, Reject: r.Percent(30, "reject")}
	if r.Percent(50, "pause") {
		job.PauseMillis = int64(r.Duration(time.Second, 15*time.Second, "pause-for") / time.Millisecond)
	}
	body, _ := json.Marshal(job)
	wl.cl.SubmitRun(key, body)
}

// wait calls waitStep or waitDone with a random timeout, retrying after connection errors.
func (wl *workload) wait(key string) {
	r := wl.w.Rand()
	handler := WaitStep
	if r.Percent(50, "wait-done") {
		handler = WaitDone
	}
	body, _ := json.Marshal(Wait{TimeoutMillis: int64(r.Duration(2*time.Second, 60*time.Second, "wait-timeout") / time.Millisecond)})
	name := wl.cl.Name("waiter")
	wl.cl.Call(name, http.MethodPost, "/"+WorkflowName+"/"+key+"/"+handler, body, nil, func(sim.Response) {})
}

func (wl *workload) status(key string) {
	wl.w.HTTP(wl.cl.Name("watcher"), http.MethodPost, "/"+WorkflowName+"/"+key+"/"+Status, nil, nil, func(sim.Response) {})
}

// step is one of the workers' steps; while faults are on it sometimes fails transiently.
func (wl *workload) step(verb string, job Job) (string, error) {
	if !wl.w.Healed() && wl.w.Rand().Percent(10, "worker-down") {
		return "", errWorkerDown
	}
	wl.batches++
	return fmt.Sprintf("%s %s (batch %d)", verb, job.Name, wl.batches), nil
}

// Prepare is the first step of a job.
func (wl *workload) Prepare(_ string, job Job) (string, error) { return wl.step("prepared", job) }

// Process is the second step of a job.
func (wl *workload) Process(_ string, job Job) (string, error) { return wl.step("processed", job) }
