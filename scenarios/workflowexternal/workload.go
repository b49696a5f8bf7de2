package workflowexternal

import (
	"errors"
	"fmt"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/scenarios/internal/wfload"
	"github.com/vigilsim/vigil/vigiltest"
)

// workload drives job submitters, waiters and status readers from the run's random stream, as
// clients of the user kit. Clients that need an answer retry after connection errors with a
// backoff.
type workload struct {
	s       *vigiltest.Sim
	cl      *wfload.Actors
	batches int
}

var errWorkerDown = errors.New("worker unavailable")

func (wl *workload) Check(h *checkers.History) []checkers.Violation { return Check(h, wl.cl.Inputs()) }

// start schedules, per job key: the run (sometimes submitted twice), waiters on both promises
// and status readers at random times — before the run, while it runs, after it and after its
// purge — and sometimes a second run after the retention, with waiters around it.
func (wl *workload) start() {
	r := wl.s.Rand()
	keys := 2 + r.Intn(2, "keys")
	for i := range keys {
		key := fmt.Sprintf("job-%d", i)
		at := r.Duration(0, 20*time.Second, "submit-at")
		wl.s.After(at, func() { wl.submitRun(key, "a") })
		if r.Percent(20, "duplicate-run") {
			wl.s.After(at+r.Duration(0, 10*time.Second, "duplicate-at"), func() { wl.submitRun(key, "dup") })
		}
		for range 1 + r.Intn(2, "waiters") {
			wl.s.After(r.Duration(0, 100*time.Second, "wait-at"), func() { wl.wait(key) })
		}
		for range r.Intn(2, "status-readers") {
			wl.s.After(r.Duration(0, 100*time.Second, "status-at"), func() { wl.status(key) })
		}
		if r.Percent(25, "output-reader") {
			wl.s.After(r.Duration(0, 100*time.Second, "read-at"), func() { wl.cl.ReadRunOutput(key) })
		}
		if r.Percent(40, "second-round") {
			at2 := r.Duration(90*time.Second, 180*time.Second, "second-round-at")
			wl.s.After(at2, func() { wl.submitRun(key, "b") })
			for range 1 + r.Intn(2, "second-waiters") {
				wl.s.After(at2-r.Duration(0, 30*time.Second, "second-wait-at"), func() { wl.wait(key) })
			}
		}
	}
}

// submitRun starts a run of key, by /run/send and an attach or by a synchronous /run.
func (wl *workload) submitRun(key, round string) {
	r := wl.s.Rand()
	job := Job{Name: key + "-" + round, Reject: r.Percent(30, "reject")}
	if r.Percent(50, "pause") {
		job.PauseMillis = int64(r.Duration(time.Second, 15*time.Second, "pause-for") / time.Millisecond)
	}
	wl.cl.SubmitRun(key, job)
}

// wait calls waitStep or waitDone with a random timeout, retrying after connection errors (a
// wait only reads a promise, so a repeat is harmless).
func (wl *workload) wait(key string) {
	r := wl.s.Rand()
	handler := WaitStep
	if r.Percent(50, "wait-done") {
		handler = WaitDone
	}
	in := Wait{TimeoutMillis: int64(r.Duration(2*time.Second, 60*time.Second, "wait-timeout") / time.Millisecond)}
	c := wl.cl.Client("waiter")
	vigiltest.Call[string](c, vigiltest.Workflow(WorkflowName, key).On(handler), in, nil, wfload.Retrying(vigiltest.Repeatable())...)
}

// status calls the status handler once, with no input.
func (wl *workload) status(key string) {
	vigiltest.Call[string](wl.cl.Client("watcher"), vigiltest.Workflow(WorkflowName, key).On(Status), nil, nil)
}

// step is one of the workers' steps; while faults are on it sometimes fails transiently.
func (wl *workload) step(verb string, job Job) (string, error) {
	if !wl.s.Healed() && wl.s.Rand().Percent(10, "worker-down") {
		return "", errWorkerDown
	}
	wl.batches++
	return fmt.Sprintf("%s %s (batch %d)", verb, job.Name, wl.batches), nil
}

// Prepare is the first step of a job.
func (wl *workload) Prepare(_ string, job Job) (string, error) { return wl.step("prepared", job) }

// Process is the second step of a job.
func (wl *workload) Process(_ string, job Job) (string, error) { return wl.step("processed", job) }
