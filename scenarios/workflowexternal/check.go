package workflowexternal

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/scenarios/internal/wfcheck"
)

// CheckerName is the Checker of the violations Check reports.
const CheckerName = "workflow-to-external"

// A workflow epoch of a key is the stretch of the history between two purges of that key
// (a Purged of kind PurgeWorkflow): the run accepted in it and every promise completion recorded
// in it belong together, and a purge starts the key afresh.
//
// Check states the scenario's expected outcome over a recorded history. inputs maps each
// submitter client (the Node of its requests) to the JSON job it submitted. The rules, each named
// in the messages of its violations:
//
//   - one-run: a run is accepted only while its key holds no run (never started or purged);
//   - run-output: each run returns Summary(job, prepared, processed) of its input and the results
//     its final journal holds for its "prepare" and "process" side effects;
//   - signals: in each finished run's epoch, "step-1" was completed with prepared and "done"
//     with processed (or rejected with RejectReason, code 500, for a job to be rejected), each
//     while the run ran, "step-1" first;
//   - signal-source: per key, epoch and promise at most one PromiseCompleted, and only after the
//     epoch's run was accepted (nobody but run completes these promises);
//   - waiters: waitStep and waitDone return the value (or, waitDone, the rejection) of their
//     promise as completed in an epoch live while they waited, never another, or TimedOut only
//     if their own durable timer fired before they finished — so a waiter that starts after a
//     purge sees the next run's promise or times out, never the purged run's value;
//   - status: status returns one of the StatusValues of a run whose epoch was live while it ran,
//     and "" only if no run had resolved "step-1" (which it does after setting the state) in an
//     epoch live from before it started until it finished;
//   - purge: a waiter or status fails with 404 "purged" only if its key's workflow was purged in
//     the step that ended it (the engine fails the shared handlers a purge finds running);
//   - clients: every response to our requests has a status its route allows and says what the key
//     held while it was served (the run routes as in wfcheck.History.CheckClients); waitStep and
//     status answer 200, waitDone 200 or 500 with the rejection, all three may answer 404 with
//     the purge failure.
func Check(h *checkers.History, inputs map[string][]byte) []checkers.Violation {
	x := wfcheck.New(h, WorkflowName)
	rep := wfcheck.NewReport(CheckerName)
	fail := rep.Fail

	// one-run, run-output and signals.
	expected := map[protocol.InvocationID]journal.Result{}
	jobs := map[protocol.InvocationID]Job{}
	x.CheckRuns(rep.Rule("one-run"), func(run protocol.InvocationID, acc checkers.Event, a, d int) {
		done := &h.Events[d]
		rf, err := runFactsOf(done.Journal)
		if err != nil {
			fail(run, []int{d}, "run-output", "run of key %s: %v", acc.Key, err)
			return
		}
		jobs[run] = rf.job
		want := journal.Result{Value: mustJSON(Summary(rf.job, rf.prepared, rf.processed))}
		expected[run] = want
		if !want.Equal(done.Result) {
			fail(run, []int{d}, "run-output", "run of key %s returned %s, want %s", acc.Key, done.Result, want)
		}
		ep := x.Epoch(acc.Key, a)
		at := map[string]int{}
		for _, p := range []struct {
			name string
			want journal.Result
		}{{StepPromise, journal.Result{Value: mustJSON(rf.prepared)}}, {DonePromise, rf.done()}} {
			cs := x.Completions(acc.Key, p.name, ep)
			switch {
			case len(cs) == 0:
				fail(run, []int{a, d}, "signals", "run of key %s finished, but %q was never completed in its epoch %d", acc.Key, p.name, ep)
			case cs[0] < a || cs[0] > d:
				fail(run, []int{a, cs[0], d}, "signals", "%q of key %s was completed with %s outside its run", p.name, acc.Key, h.Events[cs[0]].Result)
			case !h.Events[cs[0]].Result.Equal(p.want):
				fail(run, []int{cs[0], d}, "signals", "%q of key %s was completed with %s, want %s", p.name, acc.Key, h.Events[cs[0]].Result, p.want)
			default:
				at[p.name] = cs[0]
			}
		}
		if s, ok1 := at[StepPromise]; ok1 {
			if dn, ok2 := at[DonePromise]; ok2 && dn < s {
				fail(run, []int{dn, s}, "signals", "run of key %s completed %q before %q", acc.Key, DonePromise, StepPromise)
			}
		}
	})

	// signal-source.
	for _, key := range slices.Sorted(maps.Keys(x.Completed)) {
		for _, name := range slices.Sorted(maps.Keys(x.Completed[key])) {
			first := map[int]int{}
			for _, c := range x.Completed[key][name] {
				ep := x.Epoch(key, c)
				if f, dup := first[ep]; dup {
					fail(protocol.InvocationID{}, []int{f, c}, "signal-source", "%q of key %s completed twice in epoch %d: %s, then %s", name, key, ep, h.Events[f].Result, h.Events[c].Result)
					continue
				}
				first[ep] = c
				if !slices.ContainsFunc(x.Runs, func(r protocol.InvocationID) bool {
					acc, a, _ := x.Invocation(r)
					return acc.Key == key && a < c && x.Epoch(key, a) == ep
				}) {
					fail(protocol.InvocationID{}, []int{c}, "signal-source", "%q of key %s was completed with %s in epoch %d before any run of it", name, key, h.Events[c].Result, ep)
				}
			}
		}
	}

	// waiters and status.
	for i, d := range x.Finished() {
		e, done := h.Events[i], h.Events[d]
		out := done.Result
		if (e.Handler == WaitStep || e.Handler == WaitDone || e.Handler == Status) && out.Equal(x.PurgedFailure(e.Key)) {
			if !x.PurgedWith(e.Key, d) {
				fail(e.Invocation, []int{i, d}, "purge", "%s of key %s failed with %s, but its workflow was not purged then", e.Handler, e.Key, out)
			}
			continue
		}
		switch e.Handler {
		case WaitStep, WaitDone:
			promise := StepPromise
			if e.Handler == WaitDone {
				promise = DonePromise
			}
			if v, err := wfcheck.DecodeString(out.Value); out.Failure == nil && err == nil && v == TimedOut {
				if !timerFired(h, e.Invocation, done.Journal, d) {
					fail(e.Invocation, []int{i, d}, "waiters", "%s of key %s timed out, but its timer never fired", e.Handler, e.Key)
				}
				continue
			}
			if !slices.ContainsFunc(x.LiveDuring(e.Key, promise, i, d), func(c int) bool { return h.Events[c].Result.Equal(out) }) {
				fail(e.Invocation, []int{i, d}, "waiters", "%s of key %s returned %s, which no run completed %q with in an epoch live while it waited", e.Handler, e.Key, out, promise)
			}
		case Status:
			v, err := wfcheck.DecodeString(out.Value)
			if out.Failure != nil || err != nil {
				fail(e.Invocation, []int{d}, "status", "status of key %s returned %s, not a string", e.Key, out)
				continue
			}
			if v == "" {
				for _, c := range x.Completed[e.Key][StepPromise] {
					if c < i && x.NextPurge(e.Key, c) > d {
						fail(e.Invocation, []int{c, i, d}, "status", "status of key %s was empty, but a run had set it and resolved %q before it started, and was not purged before it finished", e.Key, StepPromise)
						break
					}
				}
				continue
			}
			if !slices.ContainsFunc(x.Runs, func(r protocol.InvocationID) bool {
				acc, a, _ := x.Invocation(r)
				job, ok := jobs[r]
				return ok && acc.Key == e.Key && a < d && x.NextPurge(e.Key, a) > i && slices.Contains(StatusValues(job), v)
			}) {
				fail(e.Invocation, []int{i, d}, "status", "status of key %s returned %q, which no run of an epoch live while it ran set", e.Key, v)
			}
		}
	}

	checkClients(x, expected, inputs, rep.Rule("clients"))
	return rep.Violations()
}

// runFacts is what a finished run's final journal says it did.
type runFacts struct {
	job                 Job
	prepared, processed string
}

// done is what run must have completed "done" with.
func (rf runFacts) done() journal.Result {
	if rf.job.Reject {
		return journal.Result{Failure: &journal.Failure{Code: 500, Message: RejectReason(rf.job, rf.processed)}}
	}
	return journal.Result{Value: mustJSON(rf.processed)}
}

func runFactsOf(j []journal.Entry) (runFacts, error) {
	var rf runFacts
	if len(j) == 0 || j[0].Kind != journal.KindInput {
		return rf, fmt.Errorf("final journal %v has no input", j)
	}
	if err := json.Unmarshal(j[0].Result.Value, &rf.job); err != nil {
		return rf, fmt.Errorf("input %s: %v", j[0].Result, err)
	}
	found := map[string]*string{"prepare": &rf.prepared, "process": &rf.processed}
	for _, en := range j {
		if p, ok := found[en.Name]; ok && en.Kind == journal.KindRun {
			v, err := wfcheck.DecodeString(en.Result.Value)
			if en.Result.Failure != nil || err != nil {
				return rf, fmt.Errorf("side effect %q returned %s", en.Name, en.Result)
			}
			*p = v
			delete(found, en.Name)
		}
	}
	if len(found) > 0 {
		return rf, fmt.Errorf("final journal lacks the side effects %v", slices.Sorted(maps.Keys(found)))
	}
	return rf, nil
}

// timerFired reports whether the waiter inv's durable timer (the sleep entry of its final
// journal j) fired before its InvocationDone d.
func timerFired(h *checkers.History, inv protocol.InvocationID, j []journal.Entry, d int) bool {
	k := slices.IndexFunc(j, func(en journal.Entry) bool { return en.Kind == journal.KindSleep })
	if k < 0 {
		return false
	}
	for _, e := range h.Events[:d] {
		if e.Kind == checkers.TimerFired && e.Invocation == inv && e.Index == uint32(k) {
			return true
		}
	}
	return false
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("workflowexternal: encode %v: %v", v, err))
	}
	return b
}

// checkClients is the clients rule (the run routes as in wfcheck.History.CheckClients), reported
// with fail.
func checkClients(x *wfcheck.History, expected map[protocol.InvocationID]journal.Result, inputs map[string][]byte, fail wfcheck.FailFunc) {
	x.CheckClients(fail, expected, inputs, func(i, j int, req, resp checkers.Event, body []byte) {
		switch {
		case resp.Status == http.StatusOK:
		case resp.Status == http.StatusNotFound:
			x.CheckPurgedBody(i, j, req, resp, body, fail)
		case resp.Status == http.StatusInternalServerError && req.Handler == WaitDone:
			var eb wfcheck.ErrorBody
			if json.Unmarshal(body, &eb) != nil || eb.Code != 500 || eb.Source != "invocation" {
				fail(resp.Invocation, []int{i, j}, "%s got 500 %s, want the rejection of %q", req.Reason, body, DonePromise)
			}
		default:
			fail(resp.Invocation, []int{i, j}, "%s got unexpected status %d %s", req.Reason, resp.Status, body)
		}
	})
}
