package workflowexternal

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/scenarios/internal/wfcheck"
	"github.com/vigilsim/vigil/sim"
)

// TestScenario runs the scenario over 200 seeds: the runtime's checkers, liveness and the
// scenario's own expected outcome must all hold.
func TestScenario(t *testing.T) {
	sim.Check(t, Scenario, sim.CheckOptions{Seeds: 200})
}

// TestDeterminism runs seeds twice: the same seed must give the same trace hash.
func TestDeterminism(t *testing.T) {
	sim.CheckDeterminism(t, Scenario, sim.CheckOptions{Seeds: 20})
}

// TestCoverage checks that the workload reaches every situation the expected outcome speaks
// about, so that no rule passes for want of cases.
func TestCoverage(t *testing.T) {
	counts := map[string]int{}
	sim.Campaign(Scenario, 1, 200, sim.Options{KeepHistory: true}, func(r *sim.Result) bool {
		tally(r.History, counts)
		return true
	})
	t.Logf("coverage over 200 seeds: %v", counts)
	for _, what := range []string{
		"waitStep value", "waitDone value", "waitDone rejection", "waitStep timed out", "waitDone timed out",
		"waiter purged", "waiter before run", "waiter after purge got a fresh run's value", "waiter after purge timed out",
		"status empty", "status set", "second run of a key", "send PreviouslyAccepted", "sync run 409", "purge",
	} {
		require.Positive(t, counts[what], "the workload never reached %q", what)
	}
}

func tally(h *checkers.History, counts map[string]int) {
	x := wfcheck.New(h, WorkflowName)
	perKey := map[string]int{}
	for _, run := range x.Runs {
		acc, _, _ := x.Invocation(run)
		perKey[acc.Key]++
	}
	for _, n := range perKey {
		if n > 1 {
			counts["second run of a key"]++
		}
	}
	for _, ps := range x.Purges {
		counts["purge"] += len(ps)
	}
	for i, d := range x.Finished() {
		e, out := h.Events[i], h.Events[d].Result
		v, _ := wfcheck.DecodeString(out.Value)
		switch e.Handler {
		case WaitStep, WaitDone:
			switch {
			case out.Equal(x.PurgedFailure(e.Key)):
				counts["waiter purged"]++
			case v == TimedOut:
				counts[e.Handler+" timed out"]++
				if len(x.Purges[e.Key]) > 0 && x.Purges[e.Key][0] < i {
					counts["waiter after purge timed out"]++
				}
			case out.Failure != nil:
				counts[e.Handler+" rejection"]++
			default:
				counts[e.Handler+" value"]++
				if len(x.Purges[e.Key]) > 0 && x.Purges[e.Key][0] < i {
					counts["waiter after purge got a fresh run's value"]++
				}
			}
			if x.StateAfter(e.Key, i).Run.IsZero() && x.Epoch(e.Key, i) == 0 {
				counts["waiter before run"]++
			}
		case Status:
			switch {
			case out.Failure != nil:
				counts["status failed"]++
			case v == "":
				counts["status empty"]++
			default:
				counts["status set"]++
			}
		}
	}
	x.EachResponse(func(protocol.InvocationID, []int, string, ...any) {}, func(rt wfcheck.Route, i, j int, req, resp checkers.Event, body []byte) {
		switch rt {
		case wfcheck.RouteRunSend:
			if strings.Contains(string(body), `"PreviouslyAccepted"`) {
				counts["send PreviouslyAccepted"]++
			}
		case wfcheck.RouteRunCall:
			counts[fmt.Sprintf("sync run %d", resp.Status)]++
		}
	})
}

// ---- broken histories

// hb builds a history of the workflow's key event by event, one millisecond apart.
type hb struct{ wfcheck.Builder }

func js(v any) []byte { return mustJSON(v) }

func val(v any) journal.Result { return journal.Result{Value: js(v)} }

func (b *hb) accepted(inv protocol.InvocationID, handler string) {
	b.Add(checkers.Event{Kind: checkers.InvocationAccepted, Node: "runtime", Invocation: inv, Service: WorkflowName, Handler: handler, Key: key})
}

func (b *hb) done(inv protocol.InvocationID, j []journal.Entry, out journal.Result) {
	j = append(slices.Clone(j), journal.Entry{Kind: journal.KindOutput, Result: out})
	b.Add(checkers.Event{Kind: checkers.InvocationDone, Node: "runtime", Invocation: inv, Result: out, Journal: j})
}

func (b *hb) completed(promise string, r journal.Result) {
	b.Add(checkers.Event{Kind: checkers.PromiseCompleted, Node: "runtime", Service: WorkflowName, Key: key, Promise: promise, Result: r})
}

// purged records the purge of the key's workflow, failing first, in the same step, straggler.
func (b *hb) purged(run, straggler protocol.InvocationID, j []journal.Entry) {
	at := time.Duration(len(b.H.Events)) * time.Millisecond
	out := wfcheck.PurgedFailure(WorkflowName, key)
	j = append(slices.Clone(j), journal.Entry{Kind: journal.KindOutput, Name: journal.EngineOutput, Result: out})
	b.H.Events = append(b.H.Events,
		checkers.Event{At: at, Kind: checkers.InvocationDone, Node: "runtime", Invocation: straggler, Result: out, Journal: j},
		checkers.Event{At: at, Kind: checkers.Purged, Node: "runtime", Service: WorkflowName, Key: key, Invocation: run, Purge: event.PurgeWorkflow})
}

// request records a request of node to handler of the key and returns a function that records
// its response.
func (b *hb) request(node, method, path, handler string) func(status int, inv protocol.InvocationID, body []byte, out *journal.Result) {
	return b.Request(node, method, path, handler, key)
}

const (
	key      = "job-0"
	pathRun  = "/JobWorkflow/job-0/run"
	pathStep = "/JobWorkflow/job-0/waitStep"
	pathDone = "/JobWorkflow/job-0/waitDone"
	pathStat = "/JobWorkflow/job-0/status"
	pathOut  = "/restate/workflow/JobWorkflow/job-0/output"
)

var (
	r1, r2                     = wfcheck.ID(1), wfcheck.ID(2)
	w0, w1, w2, w3, w4, w5, w6 = wfcheck.ID(10), wfcheck.ID(11), wfcheck.ID(12), wfcheck.ID(13), wfcheck.ID(14), wfcheck.ID(15), wfcheck.ID(16)
	t0, t1                     = wfcheck.ID(20), wfcheck.ID(21)

	jobA       = Job{Name: "job-0-a", Reject: true}
	jobB       = Job{Name: "job-0-b", PauseMillis: 1000}
	prepA      = "prepared job-0-a (batch 1)"
	procA      = "processed job-0-a (batch 2)"
	prepB      = "prepared job-0-b (batch 3)"
	procB      = "processed job-0-b (batch 4)"
	rejectA    = journal.Result{Failure: &journal.Failure{Code: 500, Message: RejectReason(jobA, procA)}}
	rejectBody = js(map[string]any{"code": 500, "message": rejectA.Failure.Message, "source": "invocation"})
	outA       = val(Summary(jobA, prepA, procA))
	outB       = val(Summary(jobB, prepB, procB))
	timedOut   = val(TimedOut)
	empty      = val("")
	purged     = wfcheck.PurgedFailure(WorkflowName, key)
	purgedBody = js(map[string]any{"code": 404, "message": purged.Failure.Message, "source": "invocation"})
	inputs     = map[string][]byte{"submitter-1": js(jobA), "submitter-9": js(jobB)}
	notFound   = []byte(`{"code":404,"message":"workflow JobWorkflow with key \"job-0\" not found","source":"ingress"}`)
)

func runJournal(job Job, prepared, processed string) []journal.Entry {
	st := StatusValues(job)
	done := val(processed)
	if job.Reject {
		done = journal.Result{Failure: &journal.Failure{Code: 500, Message: RejectReason(job, processed)}}
	}
	j := []journal.Entry{
		{Kind: journal.KindInput, Result: val(job)},
		{Kind: journal.KindRun, Name: "prepare", Completed: true, Result: val(prepared)},
		{Kind: journal.KindSetState, Name: StatusKey, Param: val(st[0])},
		{Kind: journal.KindCompletePromise, Name: StepPromise, Param: val(prepared), Completed: true},
	}
	if job.PauseMillis > 0 {
		j = append(j, journal.Entry{Kind: journal.KindSleep, Duration: time.Duration(job.PauseMillis) * time.Millisecond, Completed: true})
	}
	return append(j,
		journal.Entry{Kind: journal.KindRun, Name: "process", Completed: true, Result: val(processed)},
		journal.Entry{Kind: journal.KindSetState, Name: StatusKey, Param: val(st[1])},
		journal.Entry{Kind: journal.KindCompletePromise, Name: DonePromise, Param: done, Completed: true},
		journal.Entry{Kind: journal.KindSetState, Name: StatusKey, Param: val(st[2])})
}

// waiterJournal is a waiter's final journal (before its output); timedOut says which future won.
func waiterJournal(promise string, r journal.Result, timedOut bool) []journal.Entry {
	pos := 0
	if timedOut {
		pos = 1
	}
	return []journal.Entry{
		{Kind: journal.KindInput, Result: val(Wait{TimeoutMillis: 5000})},
		{Kind: journal.KindGetPromise, Name: promise, Completed: !timedOut, Result: r},
		{Kind: journal.KindSleep, Duration: 5 * time.Second, Completed: timedOut},
		{Kind: journal.KindSelect, Result: val(pos)},
	}
}

// goodHistory is a history of one key over two epochs in which every rule holds: waiters and a
// status read before the run, a rejected first job whose waiters see its step value and its
// rejection, a waiter after it finished, a waiter the purge fails, and after the purge a waiter
// that times out and one that sees the fresh second run's value.
func goodHistory() *checkers.History {
	b := hb{wfcheck.Builder{Service: WorkflowName}}
	wait0 := b.request("waiter-2", "POST", pathStep, WaitStep)
	b.accepted(w0, WaitStep)
	stat0 := b.request("watcher-3", "POST", pathStat, Status)
	b.accepted(t0, Status)
	b.done(t0, []journal.Entry{{Kind: journal.KindInput}, {Kind: journal.KindGetState, Name: StatusKey, Result: empty}}, empty)
	stat0(200, t0, empty.Value, &empty)
	send := b.request("submitter-1", "POST", pathRun+"/send", "run")
	b.accepted(r1, "run")
	send(202, r1, js(map[string]string{"invocationId": r1.String(), "status": "Accepted"}), nil)
	b.completed(StepPromise, val(prepA))
	b.done(w0, waiterJournal(StepPromise, val(prepA), false), val(prepA))
	wait0(200, w0, js(prepA), ptr(val(prepA)))
	stat1 := b.request("watcher-4", "POST", pathStat, Status)
	b.accepted(t1, Status)
	b.done(t1, []journal.Entry{{Kind: journal.KindInput}, {Kind: journal.KindGetState, Name: StatusKey, Result: val(StatusValues(jobA)[0])}}, val(StatusValues(jobA)[0]))
	stat1(200, t1, js(StatusValues(jobA)[0]), ptr(val(StatusValues(jobA)[0])))
	wait1 := b.request("waiter-5", "POST", pathDone, WaitDone)
	b.accepted(w1, WaitDone)
	b.completed(DonePromise, rejectA)
	b.done(w1, waiterJournal(DonePromise, rejectA, false), rejectA)
	wait1(500, w1, rejectBody, &rejectA)
	b.done(r1, runJournal(jobA, prepA, procA), outA)
	wait2 := b.request("waiter-6", "POST", pathStep, WaitStep)
	b.accepted(w2, WaitStep)
	b.done(w2, waiterJournal(StepPromise, val(prepA), false), val(prepA))
	wait2(200, w2, js(prepA), ptr(val(prepA)))
	wait3 := b.request("waiter-7", "POST", pathDone, WaitDone)
	b.accepted(w3, WaitDone)
	b.purged(r1, w3, waiterJournal(DonePromise, journal.Result{}, false)[:3])
	wait3(404, w3, purgedBody, &purged)
	read := b.request("reader-8", "GET", pathOut, "")
	read(404, protocol.InvocationID{}, notFound, nil)
	wait4 := b.request("waiter-10", "POST", pathDone, WaitDone)
	b.accepted(w4, WaitDone)
	b.Add(checkers.Event{Kind: checkers.TimerFired, Node: "runtime", Invocation: w4, Index: 2, Timer: event.TimerSleep})
	b.done(w4, waiterJournal(DonePromise, journal.Result{}, true), timedOut)
	wait4(200, w4, timedOut.Value, &timedOut)
	wait5 := b.request("waiter-11", "POST", pathStep, WaitStep)
	b.accepted(w5, WaitStep)
	run2 := b.request("submitter-9", "POST", pathRun, "run")
	b.accepted(r2, "run")
	b.completed(StepPromise, val(prepB))
	b.done(w5, waiterJournal(StepPromise, val(prepB), false), val(prepB))
	wait5(200, w5, js(prepB), ptr(val(prepB)))
	b.completed(DonePromise, val(procB))
	b.done(r2, runJournal(jobB, prepB, procB), outB)
	run2(200, r2, outB.Value, &outB)
	return &b.H
}

func ptr(r journal.Result) *journal.Result { return &r }

func completion(promise string, r journal.Result) func(checkers.Event) bool {
	return func(e checkers.Event) bool {
		return e.Kind == checkers.PromiseCompleted && e.Promise == promise && e.Result.Equal(r)
	}
}

func response(node string) func(checkers.Event) bool {
	return func(e checkers.Event) bool { return e.Kind == checkers.ClientResponse && e.Node == node }
}

// setOutput makes inv's InvocationDone say out.
func setOutput(t *testing.T, h *checkers.History, inv protocol.InvocationID, out journal.Result) {
	h.Events[wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, inv))].Result = out
}

func TestGoodHistory(t *testing.T) {
	require.Empty(t, Check(goodHistory(), inputs))
}

// TestCheckFails breaks the good history in one way per case and shows that Check reports it
// under the rule that forbids it.
func TestCheckFails(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(t *testing.T, h *checkers.History)
		want   string
	}{
		// one-run
		{"second run before the purge", func(t *testing.T, h *checkers.History) {
			wfcheck.Move(h, wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationAccepted, r2)), wfcheck.Find(t, h, wfcheck.KindInv(checkers.Purged, r1)))
		}, "one-run: run accepted for key job-0 while its run"},
		// run-output
		{"wrong output", func(t *testing.T, h *checkers.History) { setOutput(t, h, r1, outB) },
			"run-output: run of key job-0 returned"},
		{"output of another step result", func(t *testing.T, h *checkers.History) {
			setOutput(t, h, r2, val(Summary(jobB, prepB, procA)))
		}, "run-output: run of key job-0 returned"},
		{"journal without a step", func(t *testing.T, h *checkers.History) {
			e := &h.Events[wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, r1))]
			e.Journal = slices.DeleteFunc(slices.Clone(e.Journal), func(en journal.Entry) bool { return en.Name == "process" })
		}, `run-output: run of key job-0: final journal lacks the side effects [process]`},
		// signals
		{"step resolved with another value", func(t *testing.T, h *checkers.History) {
			h.Events[wfcheck.Find(t, h, completion(StepPromise, val(prepB)))].Result = val(prepA)
		}, `signals: "step-1" of key job-0 was completed with value("prepared job-0-a (batch 1)"), want value("prepared job-0-b (batch 3)")`},
		{"rejection became a resolution", func(t *testing.T, h *checkers.History) {
			h.Events[wfcheck.Find(t, h, completion(DonePromise, rejectA))].Result = val(procA)
		}, `signals: "done" of key job-0 was completed with value("processed job-0-a (batch 2)"), want failure(500`},
		{"a promise never completed", func(t *testing.T, h *checkers.History) {
			h.Events = slices.DeleteFunc(h.Events, completion(DonePromise, val(procB)))
		}, `signals: run of key job-0 finished, but "done" was never completed in its epoch 1`},
		{"completed after the run finished", func(t *testing.T, h *checkers.History) {
			wfcheck.Move(h, wfcheck.Find(t, h, completion(DonePromise, val(procB))), len(h.Events))
		}, `signals: "done" of key job-0 was completed with value("processed job-0-b (batch 4)") outside its run`},
		{"done before step-1", func(t *testing.T, h *checkers.History) {
			wfcheck.Move(h, wfcheck.Find(t, h, completion(DonePromise, rejectA)), wfcheck.Find(t, h, completion(StepPromise, val(prepA))))
		}, `signals: run of key job-0 completed "done" before "step-1"`},
		// signal-source
		{"completed twice in an epoch", func(t *testing.T, h *checkers.History) {
			at := wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, r1))
			h.Events = slices.Insert(h.Events, at, checkers.Event{Kind: checkers.PromiseCompleted, Service: WorkflowName, Key: key, Promise: StepPromise, Result: val("forged")})
		}, `signal-source: "step-1" of key job-0 completed twice in epoch 0`},
		{"completed before any run of the epoch", func(t *testing.T, h *checkers.History) {
			at := wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationAccepted, r2))
			h.Events = slices.Insert(h.Events, at, checkers.Event{Kind: checkers.PromiseCompleted, Service: WorkflowName, Key: key, Promise: DonePromise, Result: val("forged")})
		}, `signal-source: "done" of key job-0 was completed with value("forged") in epoch 1 before any run of it`},
		// waiters
		{"waiter after the purge saw the purged run's value", func(t *testing.T, h *checkers.History) {
			setOutput(t, h, w5, val(prepA))
		}, `waiters: waitStep of key job-0 returned value("prepared job-0-a (batch 1)"), which no run completed "step-1" with in an epoch live while it waited`},
		{"waiter saw a value before it was resolved", func(t *testing.T, h *checkers.History) {
			wfcheck.Move(h, wfcheck.Find(t, h, completion(StepPromise, val(prepA))), wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, w0))+1)
		}, `waiters: waitStep of key job-0 returned value("prepared job-0-a (batch 1)"), which no run completed`},
		{"waiter got a value instead of the rejection", func(t *testing.T, h *checkers.History) {
			setOutput(t, h, w1, val(procA))
		}, `waiters: waitDone of key job-0 returned value("processed job-0-a (batch 2)"), which no run completed "done" with`},
		{"waiter got another rejection", func(t *testing.T, h *checkers.History) {
			setOutput(t, h, w1, journal.Result{Failure: &journal.Failure{Code: 500, Message: "other"}})
		}, `waiters: waitDone of key job-0 returned failure(500 "other")`},
		{"timed out without its timer", func(t *testing.T, h *checkers.History) {
			h.Events = slices.DeleteFunc(h.Events, wfcheck.KindInv(checkers.TimerFired, w4))
		}, "waiters: waitDone of key job-0 timed out, but its timer never fired"},
		{"timed out on another invocation's timer", func(t *testing.T, h *checkers.History) {
			h.Events[wfcheck.Find(t, h, wfcheck.KindInv(checkers.TimerFired, w4))].Invocation = w6
		}, "waiters: waitDone of key job-0 timed out, but its timer never fired"},
		// status
		{"status of another job", func(t *testing.T, h *checkers.History) {
			setOutput(t, h, t1, val(StatusValues(jobB)[0]))
		}, `status: status of key job-0 returned "prepared job-0-b", which no run of an epoch live while it ran set`},
		{"status empty after step-1", func(t *testing.T, h *checkers.History) {
			setOutput(t, h, t1, empty)
		}, `status: status of key job-0 was empty, but a run had set it`},
		{"status of the future", func(t *testing.T, h *checkers.History) {
			setOutput(t, h, t0, val(StatusValues(jobA)[0])) // read before the run was even accepted
		}, `status: status of key job-0 returned "prepared job-0-a"`},
		{"status failed", func(t *testing.T, h *checkers.History) {
			setOutput(t, h, t0, journal.Result{Failure: &journal.Failure{Code: 500, Message: "x"}})
		}, `status: status of key job-0 returned failure(500 "x"), not a string`},
		// purge
		{"purge failure without the purge", func(t *testing.T, h *checkers.History) {
			h.Events[wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, w3))].At -= time.Millisecond
		}, "purge: waitDone of key job-0 failed with failure(404"},
		// clients
		{"waitStep answered 500", func(t *testing.T, h *checkers.History) {
			wfcheck.SetResponse(h, wfcheck.Find(t, h, response("waiter-2")), 500, rejectBody)
		}, "clients: POST /JobWorkflow/job-0/waitStep got unexpected status 500"},
		{"waitDone 500 that is not the invocation's failure", func(t *testing.T, h *checkers.History) {
			wfcheck.SetResponse(h, wfcheck.Find(t, h, response("waiter-5")), 500, []byte(`{"code":500,"message":"boom","source":"ingress"}`))
		}, `clients: POST /JobWorkflow/job-0/waitDone got 500 {"code":500,"message":"boom","source":"ingress"}, want the rejection of "done"`},
		{"404 that is not the purge failure", func(t *testing.T, h *checkers.History) {
			wfcheck.SetResponse(h, wfcheck.Find(t, h, response("waiter-7")), 404, notFound)
		}, "clients: POST /JobWorkflow/job-0/waitDone got 404"},
		{"status answered 409", func(t *testing.T, h *checkers.History) {
			wfcheck.SetResponse(h, wfcheck.Find(t, h, response("watcher-3")), 409, []byte(`{}`))
		}, "clients: POST /JobWorkflow/job-0/status got unexpected status 409"},
		{"sync run got another output", func(t *testing.T, h *checkers.History) {
			h.Events[wfcheck.Find(t, h, response("submitter-9"))].Result = outA
		}, "clients: POST /JobWorkflow/job-0/run got 200"},
		{"output 404 while the run existed", func(t *testing.T, h *checkers.History) {
			wfcheck.Move(h, wfcheck.Find(t, h, wfcheck.KindInv(checkers.Purged, r1)), len(h.Events))
		}, "clients: GET /restate/workflow/JobWorkflow/job-0/output got 404, but key job-0 held a run"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := goodHistory()
			tc.break_(t, h)
			wfcheck.WantViolation(t, Check(h, inputs), CheckerName, tc.want)
		})
	}
}

func TestJSONShapes(t *testing.T) {
	// The waiter's input and run's input are what the workload sends.
	var w Wait
	require.NoError(t, json.Unmarshal([]byte(`{"timeoutMillis":1500}`), &w))
	require.Equal(t, int64(1500), w.TimeoutMillis)
	require.Equal(t, []string{"prepared j", "processed j", "rejected j"}, StatusValues(Job{Name: "j", Reject: true}))
}
