// Package workflowexternal is the seed's Workflow -> External direction of durable-promise
// signalling. A job workflow's run handler does its steps as side effects (Run), records its
// progress in state (durable.Set), resolves the promise "step-1" after the first step, sometimes
// sleeps, and then resolves "done" with the second step's result — or rejects it, for jobs that
// ask to be rejected. External clients call the shared handlers waitStep and waitDone, which wait
// for those promises with a timeout (WaitFirst with durable.After) and return their value, the
// rejection as a terminal error, or "timed out"; and status, which reads the state. Waiters call
// before run is submitted, while it runs, after it finished, and after the workflow's short
// retention purged it, when they wait for a fresh run's promises or time out.
//
// The expected outcome (see Check): every waiter returns exactly what a run resolved or rejected
// in a workflow epoch it lived in, or "timed out" only once its timer fired; run resolves each
// promise once, with the results of its own steps; status shows state a run of a live epoch set.
//
// It imports the user kit (vigiltest), the checkers' history and the runtime's handler API;
// nothing in the runtime imports it.
package workflowexternal

import (
	"errors"
	"fmt"
	"time"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/scenarios/internal/wfload"
	"github.com/vigilsim/vigil/vigiltest"
)

// Scenario is the Workflow -> External scenario as the simulator runs it, built on the user kit.
var Scenario = vigiltest.Scenario{
	Name:        "workflow-to-external",
	Description: "run resolves \"step-1\" and resolves or rejects \"done\"; external waiters with timeouts, before, during, after and past the retention",
	Setup: func(s *vigiltest.Sim) {
		wl := &workload{s: s, cl: wfload.Over(s, WorkflowName)}
		s.Services(NewWorkflow(wl))
		s.OnStart(wl.start)
		s.Checker(wl.Check)
	},
}.Sim()

// Names of the workflow, its handlers, its promises and its state, as clients address them.
const (
	WorkflowName = "JobWorkflow"
	WaitStep     = "waitStep"
	WaitDone     = "waitDone"
	Status       = "status"
	StepPromise  = "step-1"
	DonePromise  = "done"
	StatusKey    = "status"
	runHandler   = durable.WorkflowRunHandler
)

// TimedOut is what a waiter returns when its timeout fires before the promise completes.
const TimedOut = "timed out"

// Retention is how long a finished JobWorkflow's promises, state and output stay readable: short,
// so that purges, fresh runs and waiters of a purged key happen inside the liveness budget.
const Retention = 30 * time.Second

// Job is run's input.
type Job struct {
	// Name names the job in every value run produces, so that values of different runs differ.
	Name string `json:"name"`
	// Reject makes run reject "done" instead of resolving it.
	Reject bool `json:"reject,omitempty"`
	// PauseMillis is how long run sleeps between its two steps.
	PauseMillis int64 `json:"pauseMillis,omitempty"`
}

// Wait is a waiter's input.
type Wait struct {
	// TimeoutMillis bounds the wait: after it the waiter returns TimedOut.
	TimeoutMillis int64 `json:"timeoutMillis"`
}

// Summary is run's output for a job whose steps returned prepared and processed.
func Summary(job Job, prepared, processed string) string {
	verdict := "done"
	if job.Reject {
		verdict = "rejected"
	}
	return fmt.Sprintf("job %s %s: %s; %s", job.Name, verdict, prepared, processed)
}

// RejectReason is the reason run rejects "done" with for a job to be rejected.
func RejectReason(job Job, processed string) string {
	return fmt.Sprintf("job %s rejected after %s", job.Name, processed)
}

// StatusValues are the values run sets under StatusKey for job, in order.
func StatusValues(job Job) []string {
	last := "done " + job.Name
	if job.Reject {
		last = "rejected " + job.Name
	}
	return []string{"prepared " + job.Name, "processed " + job.Name, last}
}

// Workers is the outside world run's steps call. Each call returns a result naming the job and a
// fresh batch number, so that a side effect executed twice is visible; each may fail
// transiently, and run then retries.
type Workers interface {
	// Prepare is the job's first step; run resolves "step-1" with its result.
	Prepare(key string, job Job) (string, error)
	// Process is the job's second step; run resolves "done" with its result (or rejects it).
	Process(key string, job Job) (string, error)
}

// NewWorkflow returns the JobWorkflow with a Retention-long retention.
//
// run(job): prepared := Run(Prepare); status "prepared"; resolve "step-1" with prepared; sleep
// PauseMillis; processed := Run(Process); status "processed"; then resolve "done" with processed
// (status "done"), or reject it with RejectReason (status "rejected"); return Summary. A resolve
// or reject that fails (the promise was already completed) fails run with that terminal error.
//
// waitStep(wait) and waitDone(wait) wait for their promise or wait.TimeoutMillis, whichever comes
// first, and return its value, its rejection (a terminal error: the caller gets 500 with the
// reason), or TimedOut. status returns the state under StatusKey ("" when unset).
func NewWorkflow(workers Workers) *durable.Service {
	return durable.NewWorkflow(WorkflowName, durable.WithRetention(Retention)).
		Handler(runHandler, durable.NewWorkflowHandler(func(ctx durable.WorkflowContext, job Job) (string, error) {
			key := ctx.Key()
			prepared, err := durable.Run(ctx, func(durable.RunContext) (string, error) {
				return workers.Prepare(key, job)
			}, durable.WithName("prepare"))
			if err != nil {
				return "", err
			}
			st := StatusValues(job)
			durable.Set(ctx, StatusKey, st[0])
			if err := durable.Promise[string](ctx, StepPromise).Resolve(prepared); err != nil {
				return "", err
			}
			if job.PauseMillis > 0 {
				if err := durable.Sleep(ctx, time.Duration(job.PauseMillis)*time.Millisecond); err != nil {
					return "", err
				}
			}
			processed, err := durable.Run(ctx, func(durable.RunContext) (string, error) {
				return workers.Process(key, job)
			}, durable.WithName("process"))
			if err != nil {
				return "", err
			}
			durable.Set(ctx, StatusKey, st[1])
			done := durable.Promise[string](ctx, DonePromise)
			if job.Reject {
				err = done.Reject(errors.New(RejectReason(job, processed)))
			} else {
				err = done.Resolve(processed)
			}
			if err != nil {
				return "", err
			}
			durable.Set(ctx, StatusKey, st[2])
			return Summary(job, prepared, processed), nil
		})).
		Handler(WaitStep, durable.NewWorkflowSharedHandler(waiter(StepPromise))).
		Handler(WaitDone, durable.NewWorkflowSharedHandler(waiter(DonePromise))).
		Handler(Status, durable.NewWorkflowSharedHandler(func(ctx durable.WorkflowSharedContext, _ struct{}) (string, error) {
			return durable.Get[string](ctx, StatusKey)
		}))
}

// waiter is the shared handler that waits for the promise called name, with a timeout.
func waiter(name string) func(durable.WorkflowSharedContext, Wait) (string, error) {
	return func(ctx durable.WorkflowSharedContext, w Wait) (string, error) {
		fut := durable.Promise[string](ctx, name).Future()
		first, err := durable.WaitFirst(ctx, fut, durable.After(ctx, time.Duration(w.TimeoutMillis)*time.Millisecond))
		if err != nil {
			return "", err
		}
		if _, timer := first.(durable.AfterFuture); timer {
			return TimedOut, nil
		}
		return fut.Result()
	}
}
