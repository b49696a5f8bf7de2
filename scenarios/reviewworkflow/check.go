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
)

// CheckerName is the Checker of the violations Check reports.
const CheckerName = "review-workflow"

// A workflow epoch of a key is the stretch of the history between two purges of that key
// ("Purged" with Reason "workflow"): the run accepted in it and every promise completion recorded
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
	x := newWFHistory(h, WorkflowName)
	var vs []checkers.Violation
	fail := func(inv protocol.InvocationID, events []int, rule, format string, args ...any) {
		vs = append(vs, checkers.Violation{Checker: CheckerName, Invocation: inv, Message: rule + ": " + fmt.Sprintf(format, args...), Events: events})
	}

	// one-run and run-output.
	expected := map[protocol.InvocationID]journal.Result{}
	for _, run := range x.runs {
		acc, a, _ := x.invocation(run)
		if prev := x.stateAfter(acc.Key, a-1); !prev.run.IsZero() {
			fail(run, []int{a}, "one-run", "run accepted for key %s while its run %s was not purged", acc.Key, prev.run)
		}
		d, ok := x.done[run]
		if !ok {
			continue // unfinished: the liveness check reports it
		}
		done := h.Events[d]
		ep := x.epoch(acc.Key, a)
		cs := x.completions(acc.Key, PromiseName, ep)
		if len(cs) == 0 || cs[0] > d {
			fail(run, []int{a, d}, "run-output", "run of key %s finished with %s but no review was completed in its epoch %d before", acc.Key, done.Result, ep)
			continue
		}
		want, err := runOutput(done.Journal, h.Events[cs[0]].Result)
		if err != nil {
			fail(run, []int{d}, "run-output", "%v", err)
			continue
		}
		expected[run] = want
		if !want.Equal(done.Result) {
			fail(run, []int{cs[0], d}, "run-output", "run of key %s returned %s, want %s (first review of epoch %d: %s)", acc.Key, done.Result, want, ep, h.Events[cs[0]].Result)
		}
	}

	keys := slices.Sorted(maps.Keys(x.completed))
	// one-completion.
	for _, key := range keys {
		seen := map[int]int{}
		for _, c := range x.completed[key][PromiseName] {
			ep := x.epoch(key, c)
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
	var peeks []protocol.InvocationID
	for i, e := range h.Events {
		if e.Kind != checkers.InvocationAccepted || e.Service != WorkflowName || x.accepted[e.Invocation] != i {
			continue
		}
		switch e.Handler {
		case GetReview:
			peeks = append(peeks, e.Invocation)
			continue
		case SubmitReview:
		default:
			continue
		}
		d, ok := x.done[e.Invocation]
		if !ok {
			continue
		}
		done := h.Events[d]
		if len(done.Journal) == 0 {
			fail(e.Invocation, []int{d}, "submit-outcome", "submitReview finished without a journal")
			continue
		}
		review, err := decodeString(done.Journal[0].Result.Value)
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
			if got, err := decodeString(out.Value); err != nil || got != SubmitAck {
				fail(e.Invocation, []int{d}, "submit-outcome", "submitReview of key %s returned %s, want %q", e.Key, out, SubmitAck)
			}
			won()
		case out.Failure.Code == 409 && strings.Contains(out.Failure.Message, durable.ErrPromiseAlreadyCompleted.Error()):
			if len(x.liveDuring(e.Key, PromiseName, i, d)) == 0 {
				fail(e.Invocation, []int{i, d}, "submit-outcome", "submitReview of key %s failed with %s, but no review of it was completed while it ran", e.Key, out)
			}
		case out.Equal(x.purgedFailure(e.Key)):
			if !x.purgedWith(e.Key, d) {
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
		for _, c := range x.completed[key][PromiseName] {
			ce := h.Events[c]
			review, err := decodeString(ce.Result.Value)
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
	for _, inv := range peeks {
		acc, a, _ := x.invocation(inv)
		d, ok := x.done[inv]
		if !ok {
			continue
		}
		done := h.Events[d]
		if done.Result.Equal(x.purgedFailure(acc.Key)) {
			if !x.purgedWith(acc.Key, d) {
				fail(inv, []int{a, d}, "peek", "getReview of key %s failed with %s, but its workflow was not purged then", acc.Key, done.Result)
			}
			continue
		}
		var st ReviewStatus
		if done.Result.Failure != nil || json.Unmarshal(done.Result.Value, &st) != nil {
			fail(inv, []int{d}, "peek", "getReview of key %s returned %s, not a ReviewStatus", acc.Key, done.Result)
			continue
		}
		live := x.liveDuring(acc.Key, PromiseName, a, d)
		if st.Done {
			if !slices.ContainsFunc(live, func(c int) bool {
				v, err := decodeString(h.Events[c].Result.Value)
				return err == nil && v == st.Review
			}) {
				fail(inv, []int{a, d}, "peek", "getReview of key %s saw review %q, which was not completed in an epoch live while it ran", acc.Key, st.Review)
			}
			continue
		}
		for _, c := range live {
			if c < a && x.nextPurge(acc.Key, c) > d {
				fail(inv, []int{c, a, d}, "peek", "getReview of key %s saw no review, but %s was completed before it started and not purged before it finished", acc.Key, h.Events[c].Result)
				break
			}
		}
	}

	vs = append(vs, checkClients(x, expected, inputs)...)
	return vs
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
	doc, err := decodeString(j[0].Result.Value)
	if err != nil {
		return journal.Result{}, fmt.Errorf("run input: %v", err)
	}
	rv, err := decodeString(review.Value)
	if err != nil {
		return journal.Result{}, fmt.Errorf("review: %v", err)
	}
	b, _ := json.Marshal(ProcessReview(doc, rv))
	return journal.Result{Value: b}, nil
}

// checkClients is the clients rule: every answer our clients got, against what the key held.
func checkClients(x *wfHistory, expected map[protocol.InvocationID]journal.Result, inputs map[string][]byte) []checkers.Violation {
	var vs []checkers.Violation
	fail := func(inv protocol.InvocationID, events []int, format string, args ...any) {
		vs = append(vs, checkers.Violation{Checker: CheckerName, Invocation: inv, Message: "clients: " + fmt.Sprintf(format, args...), Events: events})
	}
	x.eachResponse(fail, func(rt route, i, j int, req, resp checkers.Event, body []byte) {
		if rt != routeShared {
			x.checkRunResponse(rt, i, j, req, resp, body, expected, inputs, fail)
			return
		}
		unexpected := func() {
			fail(resp.Invocation, []int{i, j}, "%s got unexpected status %d %s", req.Reason, resp.Status, body)
		}
		switch req.Handler {
		case SubmitReview:
			switch resp.Status {
			case http.StatusOK:
				if v, err := decodeString(body); err != nil || v != SubmitAck {
					fail(resp.Invocation, []int{i, j}, "%s got 200 %s, want %q", req.Reason, body, SubmitAck)
				}
			case http.StatusConflict:
				var eb errorBody
				if json.Unmarshal(body, &eb) != nil || eb.Code != 409 || !strings.Contains(eb.Message, durable.ErrPromiseAlreadyCompleted.Error()) {
					fail(resp.Invocation, []int{i, j}, "%s got 409 %s, want %q", req.Reason, body, durable.ErrPromiseAlreadyCompleted)
				}
			case http.StatusNotFound:
				x.checkPurgedBody(i, j, req, resp, body, fail)
			default:
				unexpected()
			}
		case GetReview:
			switch resp.Status {
			case http.StatusOK:
			case http.StatusNotFound:
				x.checkPurgedBody(i, j, req, resp, body, fail)
			default:
				unexpected()
			}
		}
	})
	return vs
}
