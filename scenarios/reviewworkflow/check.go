package reviewworkflow

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/scenarios/internal/wfcheck"
)

// CheckerName is the Checker of the violations Check reports.
const CheckerName = "review-workflow"

// A workflow epoch of a key is the stretch of the history between two purges of that key
// (a Purged of kind PurgeWorkflow): the run accepted in it and every promise completion recorded
// in it belong together, and a purge starts the key afresh.
//
// Check states the scenario's expected outcome over a recorded history. inputs maps each
// submitter client (the Node of its requests) to the JSON input (document) it submitted. The rules, each
// named in the messages of its violations:
//
//   - one-run: a run is accepted only while its key holds no run (never started or purged);
//   - run-output: each run finishes with ProcessReview(document, review), where document is its
//     input and review the first PromiseCompleted of "review" of its key in its epoch, which must
//     be recorded before the run finished;
//   - one-completion: per key and epoch, at most one PromiseCompleted of "review";
//   - submit-outcome: each submitReview returns SubmitAck, or fails with 409 "promise was already
//     completed" — only if a review of its key was completed, in an epoch still live when it
//     started, before it finished — or with 404 "purged" — only if its key's workflow was purged
//     in the step that ended it (the engine fails the shared handlers a purge finds running);
//   - submit-once: the winning submitReviews (those that succeeded, and those a purge failed
//     after their completion was accepted) and the PromiseCompleted events of a key pair up one
//     to one, each with the same review, each completion recorded while its submitReview ran:
//     exactly one submitReview per accepted review won;
//   - peek: getReview's answer is a review of its key completed in an epoch live while it ran,
//     or "not done" — never "not done" when a review was completed before it started and not
//     purged before it finished — or the purge failure, as for submitReview;
//   - clients: every response to our requests has a status its route allows, and says what the
//     key held while the request was served: a synchronous /run answers 200 only for the run it
//     created (with that run's expected output), else 409 "already invoked" while a run existed;
//     /run/send answers 202 naming a run that existed, "Accepted" only for the request that
//     created it (whose input is the run's input: a duplicate's is dropped) and at most once per run; attach answers the
//     run's expected output or 404 while no run existed; output answers 200 with the expected
//     output of a finished run, 470 while the run was unfinished, 404 while there was none;
//     submitReview answers 200 SubmitAck or 409 already completed; getReview answers 200; both
//     may answer 404 with the purge failure (its invocation's output, which the outputs checker
//     compares).
func Check(h *checkers.History, inputs map[string][]byte) []checkers.Violation {
	x := wfcheck.New(h, WorkflowName)
	rep := wfcheck.NewReport(CheckerName)
	fail := rep.Fail

	// one-run and run-output.
	expected := map[protocol.InvocationID]journal.Result{}
	x.CheckRuns(rep.Rule("one-run"), func(run protocol.InvocationID, acc checkers.Event, a, d int) {
		done := &h.Events[d]
		ep := x.Epoch(acc.Key, a)
		cs := x.Completions(acc.Key, PromiseName, ep)
		if len(cs) == 0 || cs[0] > d {
			fail(run, []int{a, d}, "run-output", "run of key %s finished with %s but no review was completed in its epoch %d before", acc.Key, done.Result, ep)
			return
		}
		want, err := runOutput(done.Journal, h.Events[cs[0]].Result)
		if err != nil {
			fail(run, []int{d}, "run-output", "%v", err)
			return
		}
		expected[run] = want
		if !want.Equal(done.Result) {
			fail(run, []int{cs[0], d}, "run-output", "run of key %s returned %s, want %s (first review of epoch %d: %s)", acc.Key, done.Result, want, ep, h.Events[cs[0]].Result)
		}
	})

	keys := slices.Sorted(maps.Keys(x.Completed))
	// one-completion.
	for _, key := range keys {
		seen := map[int]int{}
		for _, c := range x.Completed[key][PromiseName] {
			ep := x.Epoch(key, c)
			if first, dup := seen[ep]; dup {
				fail(protocol.InvocationID{}, []int{first, c}, "one-completion", "review of key %s completed twice in epoch %d: %s, then %s", key, ep, h.Events[first].Result, h.Events[c].Result)
				continue
			}
			seen[ep] = c
		}
	}

	// submit-outcome, and the successes for submit-once.
	type success struct {
		inv       protocol.InvocationID
		acc, done int
		matched   bool
	}
	successes := map[string]map[string][]*success{} // key -> review -> successes
	// peeks are the finished getReviews: their InvocationAccepted and InvocationDone.
	type peek struct{ a, d int }
	var peeks []peek
	for i, d := range x.Finished() {
		e := &h.Events[i]
		switch e.Handler {
		case GetReview:
			peeks = append(peeks, peek{i, d})
			continue
		case SubmitReview:
		default:
			continue
		}
		done := &h.Events[d]
		if len(done.Journal) == 0 {
			fail(e.Invocation, []int{d}, "submit-outcome", "submitReview finished without a journal")
			continue
		}
		review, err := wfcheck.DecodeString(done.Journal[0].Result.Value)
		if err != nil {
			fail(e.Invocation, []int{d}, "submit-outcome", "input: %v", err)
			continue
		}
		out := done.Result
		won := func() {
			if successes[e.Key] == nil {
				successes[e.Key] = map[string][]*success{}
			}
			successes[e.Key][review] = append(successes[e.Key][review], &success{inv: e.Invocation, acc: i, done: d})
		}
		switch {
		case out.Failure == nil:
			if got, err := wfcheck.DecodeString(out.Value); err != nil || got != SubmitAck {
				fail(e.Invocation, []int{d}, "submit-outcome", "submitReview of key %s returned %s, want %q", e.Key, out, SubmitAck)
			}
			won()
		case out.Failure.Code == 409 && strings.Contains(out.Failure.Message, durable.ErrPromiseAlreadyCompleted.Error()):
			if len(x.LiveDuring(e.Key, PromiseName, i, d)) == 0 {
				fail(e.Invocation, []int{i, d}, "submit-outcome", "submitReview of key %s failed with %s, but no review of it was completed while it ran", e.Key, out)
			}
		case out.Equal(x.PurgedFailure(e.Key)):
			if !x.PurgedWith(e.Key, d) {
				fail(e.Invocation, []int{i, d}, "submit-outcome", "submitReview of key %s failed with %s, but its workflow was not purged then", e.Key, out)
			}
			if wonInJournal(done.Journal) {
				won() // it completed the promise, and the purge came before its answer
			}
		default:
			fail(e.Invocation, []int{d}, "submit-outcome", "submitReview of key %s ended with %s, neither %q nor 409 already completed nor purged", e.Key, out, SubmitAck)
		}
	}

	// submit-once: pair each completion with a success of the same review that ran around it,
	// the one that finished first (the greedy choice that pairs intervals with points).
	for _, key := range keys {
		for _, c := range x.Completed[key][PromiseName] {
			ce := &h.Events[c]
			review, err := wfcheck.DecodeString(ce.Result.Value)
			if ce.Result.Failure != nil || err != nil {
				fail(protocol.InvocationID{}, []int{c}, "submit-once", "review of key %s completed with %s, which no submitReview resolves it with", key, ce.Result)
				continue
			}
			var best *success
			for _, s := range successes[key][review] {
				if !s.matched && s.acc < c && c < s.done && (best == nil || s.done < best.done) {
					best = s
				}
			}
			if best == nil {
				fail(protocol.InvocationID{}, []int{c}, "submit-once", "review %q of key %s was completed, but no submitReview with it succeeded around that", review, key)
				continue
			}
			best.matched = true
		}
	}
	for _, key := range slices.Sorted(maps.Keys(successes)) {
		for _, review := range slices.Sorted(maps.Keys(successes[key])) {
			for _, s := range successes[key][review] {
				if !s.matched {
					fail(s.inv, []int{s.acc, s.done}, "submit-once", "submitReview of key %s won with %q, but that review was not completed while it ran", key, review)
				}
			}
		}
	}

	// peek.
	for _, p := range peeks {
		a, d := p.a, p.d
		acc, inv := h.Events[a], h.Events[a].Invocation
		done := &h.Events[d]
		if done.Result.Equal(x.PurgedFailure(acc.Key)) {
			if !x.PurgedWith(acc.Key, d) {
				fail(inv, []int{a, d}, "peek", "getReview of key %s failed with %s, but its workflow was not purged then", acc.Key, done.Result)
			}
			continue
		}
		var st ReviewStatus
		if done.Result.Failure != nil || json.Unmarshal(done.Result.Value, &st) != nil {
			fail(inv, []int{d}, "peek", "getReview of key %s returned %s, not a ReviewStatus", acc.Key, done.Result)
			continue
		}
		live := x.LiveDuring(acc.Key, PromiseName, a, d)
		if st.Done {
			if !slices.ContainsFunc(live, func(c int) bool {
				v, err := wfcheck.DecodeString(h.Events[c].Result.Value)
				return err == nil && v == st.Review
			}) {
				fail(inv, []int{a, d}, "peek", "getReview of key %s saw review %q, which was not completed in an epoch live while it ran", acc.Key, st.Review)
			}
			continue
		}
		for _, c := range live {
			if c < a && x.NextPurge(acc.Key, c) > d {
				fail(inv, []int{c, a, d}, "peek", "getReview of key %s saw no review, but %s was completed before it started and not purged before it finished", acc.Key, h.Events[c].Result)
				break
			}
		}
	}

	checkClients(x, expected, inputs, rep.Rule("clients"))
	return rep.Violations()
}

// wonInJournal reports whether a submitReview's final journal shows its completion of the
// promise accepted (entry 1, completed without failure).
func wonInJournal(j []journal.Entry) bool {
	return len(j) > 1 && j[1].Kind == journal.KindCompletePromise && j[1].Completed && j[1].Result.Failure == nil
}

// runOutput is what a run with final journal j must return once review completed its promise.
func runOutput(j []journal.Entry, review journal.Result) (journal.Result, error) {
	if review.Failure != nil {
		return journal.Result{Failure: &journal.Failure{Code: review.Failure.Code, Message: review.Failure.Message}}, nil
	}
	if len(j) == 0 || j[0].Kind != journal.KindInput {
		return journal.Result{}, fmt.Errorf("final journal %v has no input", j)
	}
	doc, err := wfcheck.DecodeString(j[0].Result.Value)
	if err != nil {
		return journal.Result{}, fmt.Errorf("run input: %v", err)
	}
	rv, err := wfcheck.DecodeString(review.Value)
	if err != nil {
		return journal.Result{}, fmt.Errorf("review: %v", err)
	}
	b, _ := json.Marshal(ProcessReview(doc, rv))
	return journal.Result{Value: b}, nil
}

// checkClients is the clients rule: every answer our clients got, against what the key held
// (the run routes as in wfcheck.History.CheckClients), reported with fail.
func checkClients(x *wfcheck.History, expected map[protocol.InvocationID]journal.Result, inputs map[string][]byte, fail wfcheck.FailFunc) {
	x.CheckClients(fail, expected, inputs, func(i, j int, req, resp checkers.Event, body []byte) {
		unexpected := func() {
			fail(resp.Invocation, []int{i, j}, "%s got unexpected status %d %s", req.Reason, resp.Status, body)
		}
		switch req.Handler {
		case SubmitReview:
			switch resp.Status {
			case http.StatusOK:
				if v, err := wfcheck.DecodeString(body); err != nil || v != SubmitAck {
					fail(resp.Invocation, []int{i, j}, "%s got 200 %s, want %q", req.Reason, body, SubmitAck)
				}
			case http.StatusConflict:
				var eb wfcheck.ErrorBody
				if json.Unmarshal(body, &eb) != nil || eb.Code != 409 || !strings.Contains(eb.Message, durable.ErrPromiseAlreadyCompleted.Error()) {
					fail(resp.Invocation, []int{i, j}, "%s got 409 %s, want %q", req.Reason, body, durable.ErrPromiseAlreadyCompleted)
				}
			case http.StatusNotFound:
				x.CheckPurgedBody(i, j, req, resp, body, fail)
			default:
				unexpected()
			}
		case GetReview:
			switch resp.Status {
			case http.StatusOK:
			case http.StatusNotFound:
				x.CheckPurgedBody(i, j, req, resp, body, fail)
			default:
				unexpected()
			}
		}
	})
}
