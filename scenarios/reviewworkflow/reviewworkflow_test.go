package reviewworkflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/ingress"
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
		"send Accepted", "send PreviouslyAccepted", "sync run 200", "sync run 409", "attach 200", "attach 404",
		"output 200", "output 470", "output 404", "output 404 after purge", "submit 200", "submit 409",
		"peek done", "peek not done", "review before run", "second run of a key", "purge",
	} {
		require.Positive(t, counts[what], "the workload never reached %q", what)
	}
}

func tally(h *checkers.History, counts map[string]int) {
	x := wfcheck.New(h, WorkflowName)
	x.EachResponse(func(protocol.InvocationID, []int, string, ...any) {}, func(rt wfcheck.Route, i, j int, req, resp checkers.Event, body []byte) {
		switch rt {
		case wfcheck.RouteShared:
			switch req.Handler {
			case SubmitReview:
				counts[fmt.Sprintf("submit %d", resp.Status)]++
			case GetReview:
				if strings.Contains(string(body), `"done":true`) {
					counts["peek done"]++
				} else {
					counts["peek not done"]++
				}
			}
		case wfcheck.RouteRunSend:
			if strings.Contains(string(body), `"PreviouslyAccepted"`) {
				counts["send PreviouslyAccepted"]++
			} else {
				counts["send Accepted"]++
			}
		case wfcheck.RouteRunCall:
			counts[fmt.Sprintf("sync run %d", resp.Status)]++
		case wfcheck.RouteAttach:
			counts[fmt.Sprintf("attach %d", resp.Status)]++
		case wfcheck.RouteOutput:
			counts[fmt.Sprintf("output %d", resp.Status)]++
			if resp.Status == 404 && len(x.Purges[req.Key]) > 0 && x.Purges[req.Key][0] < i {
				counts["output 404 after purge"]++
			}
		}
	})
	perKey := map[string]int{}
	for _, run := range x.Runs {
		acc, a, _ := x.Invocation(run)
		perKey[acc.Key]++
		if cs := x.Completions(acc.Key, PromiseName, x.Epoch(acc.Key, a)); len(cs) > 0 && cs[0] < a {
			counts["review before run"]++
		}
	}
	for _, n := range perKey {
		if n > 1 {
			counts["second run of a key"]++
		}
	}
	for _, ps := range x.Purges {
		counts["purge"] += len(ps)
	}
}

// ---- broken histories

// hb builds a history of the workflow event by event.
type hb struct{ wfcheck.Builder }

func js(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func (b *hb) accepted(inv protocol.InvocationID, handler, key string) {
	b.Add(checkers.Event{Kind: checkers.InvocationAccepted, Node: "runtime", Invocation: inv, Service: WorkflowName, Handler: handler, Key: key})
}

func (b *hb) done(inv protocol.InvocationID, in []byte, out journal.Result) {
	j := []journal.Entry{{Kind: journal.KindInput, Result: journal.Result{Value: in}}, {Kind: journal.KindOutput, Result: out}}
	b.Add(checkers.Event{Kind: checkers.InvocationDone, Node: "runtime", Invocation: inv, Result: out, Journal: j})
}

func (b *hb) completed(key, review string) {
	b.Add(checkers.Event{Kind: checkers.PromiseCompleted, Node: "runtime", Service: WorkflowName, Key: key, Promise: PromiseName, Result: journal.Result{Value: js(review)}})
}

// purged records the purge of key's workflow, failing first, in the same step, the shared
// handlers stragglers with the journals they had.
func (b *hb) purged(key string, run protocol.InvocationID, stragglers map[protocol.InvocationID][]journal.Entry) {
	at := time.Duration(len(b.H.Events)) * time.Millisecond
	for _, inv := range slices.SortedFunc(maps.Keys(stragglers), func(a, b protocol.InvocationID) int { return bytes.Compare(a[:], b[:]) }) {
		out := wfcheck.PurgedFailure(WorkflowName, key)
		j := append(stragglers[inv], journal.Entry{Kind: journal.KindOutput, Name: journal.EngineOutput, Result: out})
		b.H.Events = append(b.H.Events, checkers.Event{At: at, Kind: checkers.InvocationDone, Node: "runtime", Invocation: inv, Result: out, Journal: j})
	}
	b.H.Events = append(b.H.Events, checkers.Event{At: at, Kind: checkers.Purged, Node: "runtime", Service: WorkflowName, Key: key, Invocation: run, Purge: event.PurgeWorkflow})
}

const (
	key        = "rw-0"
	doc0       = "doc-rw-0-0"
	doc2       = "doc-rw-0-2"
	alice      = "alice: approve rw-0 [#1]"
	bob        = "bob: approve rw-0 [#2]"
	carol      = "carol: request changes to rw-0 [#3]"
	dave       = "dave: approve rw-0 [#4]"
	pathRun    = "/ReviewWorkflow/rw-0/run"
	pathSubmit = "/ReviewWorkflow/rw-0/submitReview"
	pathPeek   = "/ReviewWorkflow/rw-0/getReview"
	pathOutput = "/restate/workflow/ReviewWorkflow/rw-0/output"
	pathAttach = "/restate/workflow/ReviewWorkflow/rw-0/attach"
)

var (
	r1, r2         = wfcheck.ID(1), wfcheck.ID(2)
	s1, s2, s3, s4 = wfcheck.ID(11), wfcheck.ID(12), wfcheck.ID(13), wfcheck.ID(14)
	g0, g1, g2     = wfcheck.ID(21), wfcheck.ID(22), wfcheck.ID(23)
	ack            = journal.Result{Value: js(SubmitAck)}
	out1           = journal.Result{Value: js(ProcessReview(doc0, alice))}
	out2           = journal.Result{Value: js(ProcessReview(doc2, carol))}
	conflict       = journal.Result{Failure: &journal.Failure{Code: 409, Message: `promise "review": promise was already completed`}}
	conflictBody   = js(map[string]any{"code": 409, "message": conflict.Failure.Message, "source": "invocation"})
	notDone        = journal.Result{Value: js(ReviewStatus{})}
	doneAlice      = journal.Result{Value: js(ReviewStatus{Done: true, Review: alice})}
	inputs         = map[string][]byte{"submitter-1": js(doc0), "submitter-3": js("doc-rw-0-1"), "submitter-4": js("doc-rw-0-1b"), "submitter-8": js(doc2)}
	notFoundBody   = []byte(`{"code":404,"message":"workflow ReviewWorkflow with key \"rw-0\" not found","source":"ingress"}`)
	notReadyBody   = []byte(`{"code":470,"message":"the invocation exists but has not completed yet","source":"ingress"}`)
	acceptedBody   = func(inv protocol.InvocationID, status string) []byte {
		return js(map[string]string{"invocationId": inv.String(), "status": status})
	}
	alreadyInvoked = ingress.WorkflowAlreadyInvokedResponse().Body
	purged         = wfcheck.PurgedFailure(WorkflowName, key)
	purgedBody     = js(map[string]any{"code": 404, "message": purged.Failure.Message, "source": "invocation"})
)

// goodHistory is a history of one key over two epochs in which every rule holds: a send and its
// duplicate, a synchronous duplicate (409), reads while running (470), after (200) and after the
// purge (404), a winning and a losing review, peeks before and after, a peek and a review that
// the purge fails, and after the purge an early review followed by a fresh synchronous run.
func goodHistory() *checkers.History {
	b := hb{wfcheck.Builder{Service: WorkflowName}}
	send := b.Request("submitter-1", "POST", pathRun+"/send", "run", key)
	peek0 := b.Request("peeker-2", "POST", pathPeek, GetReview, key)
	b.accepted(g0, GetReview, key)
	b.done(g0, nil, notDone)
	peek0(200, g0, notDone.Value, &notDone)
	b.accepted(r1, "run", key)
	send(202, r1, acceptedBody(r1, "Accepted"), nil)
	dupSync := b.Request("submitter-3", "POST", pathRun, "run", key)
	dupSync(409, protocol.InvocationID{}, alreadyInvoked, nil)
	read := b.Request("reader-9", "GET", pathOutput, "", key)
	read(470, protocol.InvocationID{}, notReadyBody, nil)
	dupSend := b.Request("submitter-4", "POST", pathRun+"/send", "run", key)
	dupSend(202, r1, acceptedBody(r1, "PreviouslyAccepted"), nil)
	sub1 := b.Request("reviewer-5", "POST", pathSubmit, SubmitReview, key)
	b.accepted(s1, SubmitReview, key)
	b.completed(key, alice)
	b.done(s1, js(alice), ack)
	sub1(200, s1, ack.Value, &ack)
	b.done(r1, js(doc0), out1)
	attach := b.Request("submitter-1", "GET", pathAttach, "", key)
	attach(200, r1, out1.Value, &out1)
	sub2 := b.Request("reviewer-6", "POST", pathSubmit, SubmitReview, key)
	b.accepted(s2, SubmitReview, key)
	b.done(s2, js(bob), conflict)
	sub2(409, s2, conflictBody, &conflict)
	peek1 := b.Request("peeker-7", "POST", pathPeek, GetReview, key)
	b.accepted(g1, GetReview, key)
	b.done(g1, nil, doneAlice)
	peek1(200, g1, doneAlice.Value, &doneAlice)
	read2 := b.Request("reader-10", "GET", pathOutput, "", key)
	read2(200, r1, out1.Value, &out1)
	peek2 := b.Request("peeker-14", "POST", pathPeek, GetReview, key)
	b.accepted(g2, GetReview, key)
	sub4 := b.Request("reviewer-15", "POST", pathSubmit, SubmitReview, key)
	b.accepted(s4, SubmitReview, key)
	b.purged(key, r1, map[protocol.InvocationID][]journal.Entry{
		g2: {{Kind: journal.KindInput}},
		s4: {{Kind: journal.KindInput, Result: journal.Result{Value: js(dave)}}, {Kind: journal.KindCompletePromise, Name: PromiseName, Param: journal.Result{Value: js(dave)}}},
	})
	peek2(404, g2, purgedBody, &purged)
	sub4(404, s4, purgedBody, &purged)
	read3 := b.Request("reader-11", "GET", pathOutput, "", key)
	read3(404, protocol.InvocationID{}, notFoundBody, nil)
	attach2 := b.Request("reader-12", "GET", pathAttach, "", key)
	attach2(404, protocol.InvocationID{}, notFoundBody, nil)
	sub3 := b.Request("reviewer-13", "POST", pathSubmit, SubmitReview, key)
	b.accepted(s3, SubmitReview, key)
	b.completed(key, carol)
	b.done(s3, js(carol), ack)
	sub3(200, s3, ack.Value, &ack)
	run2 := b.Request("submitter-8", "POST", pathRun, "run", key)
	b.accepted(r2, "run", key)
	b.done(r2, js(doc2), out2)
	run2(200, r2, out2.Value, &out2)
	return &b.H
}

func response(node string, status int) func(checkers.Event) bool {
	return func(e checkers.Event) bool {
		return e.Kind == checkers.ClientResponse && e.Node == node && e.Status == status
	}
}

func insert(h *checkers.History, at int, e checkers.Event) {
	h.Events = slices.Insert(h.Events, at, e)
}

func setBody(h *checkers.History, i int, body []byte) {
	wfcheck.SetResponse(h, i, h.Events[i].Status, body)
}

// respond rewrites response i entirely: status, body, the invocation it names and the output it
// carries (nil: none).
func respond(h *checkers.History, i, status int, inv protocol.InvocationID, body []byte, out *journal.Result) {
	wfcheck.SetResponse(h, i, status, body)
	e := &h.Events[i]
	e.Invocation, e.Entry, e.Result = inv, journal.Entry{}, journal.Result{}
	if out != nil {
		e.Entry, e.Result = journal.Entry{Kind: journal.KindOutput}, *out
	}
}

func TestGoodHistory(t *testing.T) {
	require.Empty(t, Check(goodHistory(), inputs))
}

// TestCheckFails breaks the good history in one way per case and shows that Check reports it
// under the rule that forbids it.
func TestCheckFails(t *testing.T) {
	completedOf := func(review string) func(checkers.Event) bool {
		return func(e checkers.Event) bool {
			return e.Kind == checkers.PromiseCompleted && string(e.Result.Value) == string(js(review))
		}
	}
	tests := []struct {
		name   string
		break_ func(t *testing.T, h *checkers.History)
		inputs map[string][]byte
		want   string
	}{
		// one-run
		{"second run before the purge", func(t *testing.T, h *checkers.History) {
			at := wfcheck.Find(t, h, wfcheck.KindInv(checkers.Purged, r1))
			wfcheck.Move(h, wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationAccepted, r2)), at)
		}, nil, "one-run: run accepted for key rw-0 while its run"},
		// run-output
		{"wrong output", func(t *testing.T, h *checkers.History) {
			i := wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, r1))
			h.Events[i].Result = journal.Result{Value: js(ProcessReview(doc0, bob))}
		}, nil, "run-output: run of key rw-0 returned"},
		{"output from the other document", func(t *testing.T, h *checkers.History) {
			i := wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, r2))
			h.Events[i].Result = journal.Result{Value: js(ProcessReview(doc0, carol))}
		}, nil, "run-output: run of key rw-0 returned"},
		{"run finished before any review", func(t *testing.T, h *checkers.History) {
			wfcheck.Move(h, wfcheck.Find(t, h, completedOf(alice)), wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, r1))+1)
		}, nil, "run-output: run of key rw-0 finished with"},
		{"fresh run used the purged epoch's review", func(t *testing.T, h *checkers.History) {
			i := wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, r2))
			h.Events[i].Result = journal.Result{Value: js(ProcessReview(doc2, alice))}
		}, nil, "run-output: run of key rw-0 returned"},
		{"run failed", func(t *testing.T, h *checkers.History) {
			i := wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, r2))
			h.Events[i].Result = journal.Result{Failure: &journal.Failure{Code: 500, Message: "boom"}}
		}, nil, "run-output: run of key rw-0 returned failure"},
		// one-completion
		{"second completion in one epoch", func(t *testing.T, h *checkers.History) {
			at := wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, s2))
			insert(h, at, checkers.Event{Kind: checkers.PromiseCompleted, Service: WorkflowName, Key: key, Promise: PromiseName, Result: journal.Result{Value: js(bob)}})
		}, nil, "one-completion: review of key rw-0 completed twice in epoch 0"},
		// submit-outcome
		{"submit returned something else", func(t *testing.T, h *checkers.History) {
			h.Events[wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, s1))].Result = journal.Result{Value: js("ok")}
		}, nil, `submit-outcome: submitReview of key rw-0 returned value("ok"), want "review accepted"`},
		{"submit failed otherwise", func(t *testing.T, h *checkers.History) {
			h.Events[wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, s2))].Result = journal.Result{Failure: &journal.Failure{Code: 500, Message: "boom"}}
		}, nil, "submit-outcome: submitReview of key rw-0 ended with failure(500"},
		{"409 with nothing completed", func(t *testing.T, h *checkers.History) {
			// bob's submitReview runs (and fails) before alice's review is completed.
			wfcheck.Move(h, wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationAccepted, s2)), wfcheck.Find(t, h, completedOf(alice)))
			wfcheck.Move(h, wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, s2)), wfcheck.Find(t, h, completedOf(alice)))
		}, nil, "submit-outcome: submitReview of key rw-0 failed with failure(409"},
		{"409 only from a purged epoch", func(t *testing.T, h *checkers.History) {
			// carol's early review fails although the epoch it ran in had no review yet.
			h.Events[wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, s3))].Result = conflict
			h.Events = slices.DeleteFunc(h.Events, completedOf(carol))
		}, nil, "submit-outcome: submitReview of key rw-0 failed with failure(409"},
		// submit-once
		{"completion without a successful submit", func(t *testing.T, h *checkers.History) {
			h.Events[wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, s1))].Result = conflict
		}, nil, `submit-once: review "alice: approve rw-0 [#1]" of key rw-0 was completed, but no submitReview`},
		{"successful submit without a completion", func(t *testing.T, h *checkers.History) {
			h.Events[wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, s2))].Result = ack
		}, nil, `submit-once: submitReview of key rw-0 won with "bob: approve rw-0 [#2]"`},
		{"completion outside its submit", func(t *testing.T, h *checkers.History) {
			wfcheck.Move(h, wfcheck.Find(t, h, completedOf(alice)), wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationAccepted, s1)))
		}, nil, `submit-once: review "alice: approve rw-0 [#1]" of key rw-0 was completed, but no submitReview`},
		{"completed by a rejection", func(t *testing.T, h *checkers.History) {
			h.Events[wfcheck.Find(t, h, completedOf(carol))].Result = journal.Result{Failure: &journal.Failure{Code: 500, Message: "no"}}
		}, nil, "submit-once: review of key rw-0 completed with failure(500"},
		// peek
		{"peek saw an unknown review", func(t *testing.T, h *checkers.History) {
			h.Events[wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, g1))].Result = journal.Result{Value: js(ReviewStatus{Done: true, Review: bob})}
		}, nil, `peek: getReview of key rw-0 saw review "bob: approve rw-0 [#2]"`},
		{"peek missed a completed review", func(t *testing.T, h *checkers.History) {
			h.Events[wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, g1))].Result = notDone
		}, nil, "peek: getReview of key rw-0 saw no review, but"},
		{"peek saw a purged review", func(t *testing.T, h *checkers.History) {
			at := wfcheck.Find(t, h, wfcheck.KindInv(checkers.Purged, r1)) + 1
			wfcheck.Move(h, wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationAccepted, g1)), at)
			wfcheck.Move(h, wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, g1)), at+1)
		}, nil, `peek: getReview of key rw-0 saw review "alice: approve rw-0 [#1]", which was not completed in an epoch live`},
		{"peek failed", func(t *testing.T, h *checkers.History) {
			h.Events[wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, g0))].Result = journal.Result{Failure: &journal.Failure{Code: 500, Message: "x"}}
		}, nil, "peek: getReview of key rw-0 returned failure"},
		// clients: synchronous run
		{"sync run got a run it did not create", func(t *testing.T, h *checkers.History) {
			respond(h, wfcheck.Find(t, h, response("submitter-3", 409)), 200, r1, out1.Value, &out1)
		}, nil, "clients: synchronous POST /ReviewWorkflow/rw-0/run got the output of run"},
		{"sync run got another output", func(t *testing.T, h *checkers.History) {
			e := &h.Events[wfcheck.Find(t, h, response("submitter-8", 200))]
			e.Result = out1
		}, nil, "clients: POST /ReviewWorkflow/rw-0/run got 200"},
		{"sync run dropped the input", func(t *testing.T, h *checkers.History) {}, map[string][]byte{"submitter-1": js(doc0), "submitter-8": js("doc-rw-0-3")},
			`clients: run ` + r2.String() + ` was created by submitter-8`},
		{"409 while no run", func(t *testing.T, h *checkers.History) {
			respond(h, wfcheck.Find(t, h, response("submitter-8", 200)), 409, protocol.InvocationID{}, alreadyInvoked, nil)
			wfcheck.Move(h, wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationAccepted, r2)), len(h.Events))
			wfcheck.Move(h, wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, r2)), len(h.Events))
		}, nil, "clients: POST /ReviewWorkflow/rw-0/run got 409 already invoked, but key rw-0 held no run"},
		{"409 with another body", func(t *testing.T, h *checkers.History) {
			setBody(h, wfcheck.Find(t, h, response("submitter-3", 409)), []byte(`{"code":409}`))
		}, nil, "clients: POST /ReviewWorkflow/rw-0/run got 409 {\"code\":409}, want"},
		{"sync run got 500", func(t *testing.T, h *checkers.History) {
			wfcheck.SetResponse(h, wfcheck.Find(t, h, response("submitter-3", 409)), 500, []byte(`{}`))
		}, nil, "clients: POST /ReviewWorkflow/rw-0/run got unexpected status 500"},
		// clients: send
		{"send Accepted twice", func(t *testing.T, h *checkers.History) {
			setBody(h, wfcheck.Find(t, h, response("submitter-4", 202)), acceptedBody(r1, "Accepted"))
		}, nil, "clients: POST /ReviewWorkflow/rw-0/run/send got 202 Accepted for run"},
		{"send Accepted dropped the input", func(t *testing.T, h *checkers.History) {}, map[string][]byte{"submitter-1": js("doc-rw-0-9")},
			`clients: run ` + r1.String() + ` was created by submitter-1`},
		{"send named a purged run", func(t *testing.T, h *checkers.History) {
			wfcheck.Move(h, wfcheck.Find(t, h, wfcheck.KindInv(checkers.Purged, r1)), wfcheck.Find(t, h, response("submitter-4", 202))-1)
		}, nil, "clients: POST /ReviewWorkflow/rw-0/run/send got 202 naming run " + r1.String() + ", which key rw-0 did not hold"},
		{"send named a non-run", func(t *testing.T, h *checkers.History) {
			i := wfcheck.Find(t, h, response("submitter-4", 202))
			h.Events[i].Invocation = s1
			setBody(h, i, acceptedBody(s1, "PreviouslyAccepted"))
		}, nil, "which is not a run of key rw-0"},
		{"send with a strange status", func(t *testing.T, h *checkers.History) {
			setBody(h, wfcheck.Find(t, h, response("submitter-4", 202)), acceptedBody(r1, "Maybe"))
		}, nil, `got 202 with status "Maybe"`},
		{"send answered 200", func(t *testing.T, h *checkers.History) {
			wfcheck.SetResponse(h, wfcheck.Find(t, h, response("submitter-4", 202)), 200, nil)
		}, nil, "clients: POST /ReviewWorkflow/rw-0/run/send got unexpected status 200"},
		// clients: attach
		{"attach got another output", func(t *testing.T, h *checkers.History) {
			h.Events[wfcheck.Find(t, h, response("submitter-1", 200))].Result = out2
		}, nil, "clients: GET /restate/workflow/ReviewWorkflow/rw-0/attach got 200"},
		{"attach got a purged run", func(t *testing.T, h *checkers.History) {
			wfcheck.Move(h, wfcheck.Find(t, h, wfcheck.KindInv(checkers.Purged, r1)), wfcheck.Find(t, h, response("submitter-1", 200))-1)
		}, nil, "clients: GET /restate/workflow/ReviewWorkflow/rw-0/attach got the output of run"},
		{"attach 404 while a run existed", func(t *testing.T, h *checkers.History) {
			respond(h, wfcheck.Find(t, h, response("submitter-1", 200)), 404, protocol.InvocationID{}, notFoundBody, nil)
		}, nil, "clients: GET /restate/workflow/ReviewWorkflow/rw-0/attach got 404, but key rw-0 held a run"},
		{"attach 470", func(t *testing.T, h *checkers.History) {
			wfcheck.SetResponse(h, wfcheck.Find(t, h, response("reader-12", 404)), 470, notReadyBody)
		}, nil, "attach got unexpected status 470"},
		// clients: output
		{"output 200 before the run finished", func(t *testing.T, h *checkers.History) {
			respond(h, wfcheck.Find(t, h, response("reader-9", 470)), 200, r1, out1.Value, &out1)
		}, nil, "clients: GET /restate/workflow/ReviewWorkflow/rw-0/output got the output of run " + r1.String() + ", which key rw-0 did not hold finished"},
		{"output 470 after the run finished", func(t *testing.T, h *checkers.History) {
			respond(h, wfcheck.Find(t, h, response("reader-10", 200)), 470, protocol.InvocationID{}, notReadyBody, nil)
		}, nil, "clients: GET /restate/workflow/ReviewWorkflow/rw-0/output got 470, but key rw-0 held no unfinished run"},
		{"output 404 while a run existed", func(t *testing.T, h *checkers.History) {
			wfcheck.SetResponse(h, wfcheck.Find(t, h, response("reader-9", 470)), 404, notFoundBody)
		}, nil, "clients: GET /restate/workflow/ReviewWorkflow/rw-0/output got 404, but key rw-0 held a run"},
		{"output of a purged run", func(t *testing.T, h *checkers.History) {
			respond(h, wfcheck.Find(t, h, response("reader-11", 404)), 200, r1, out1.Value, &out1)
		}, nil, "clients: GET /restate/workflow/ReviewWorkflow/rw-0/output got the output of run"},
		{"output of a run with no output", func(t *testing.T, h *checkers.History) {
			h.Events = slices.DeleteFunc(h.Events, wfcheck.KindInv(checkers.InvocationDone, r2))
		}, nil, "from a run with no expected output"},
		// clients: submitReview and getReview
		{"submit 200 with another body", func(t *testing.T, h *checkers.History) {
			setBody(h, wfcheck.Find(t, h, response("reviewer-5", 200)), js("fine"))
		}, nil, `clients: POST /ReviewWorkflow/rw-0/submitReview got 200 "fine"`},
		{"submit 409 with another message", func(t *testing.T, h *checkers.History) {
			setBody(h, wfcheck.Find(t, h, response("reviewer-6", 409)), js(map[string]any{"code": 409, "message": "conflict"}))
		}, nil, "clients: POST /ReviewWorkflow/rw-0/submitReview got 409"},
		{"submit 500", func(t *testing.T, h *checkers.History) {
			wfcheck.SetResponse(h, wfcheck.Find(t, h, response("reviewer-6", 409)), 500, conflictBody)
		}, nil, "clients: POST /ReviewWorkflow/rw-0/submitReview got unexpected status 500"},
		{"peek 500", func(t *testing.T, h *checkers.History) {
			wfcheck.SetResponse(h, wfcheck.Find(t, h, response("peeker-7", 200)), 500, []byte(`{}`))
		}, nil, "clients: POST /ReviewWorkflow/rw-0/getReview got unexpected status 500"},
		{"peek 404 that is not the purge failure", func(t *testing.T, h *checkers.History) {
			wfcheck.SetResponse(h, wfcheck.Find(t, h, response("peeker-7", 200)), 404, notFoundBody)
		}, nil, "clients: POST /ReviewWorkflow/rw-0/getReview got 404 {\"code\":404,\"message\":\"workflow ReviewWorkflow with key \\\"rw-0\\\" not found\",\"source\":\"ingress\"}, want the purge failure"},
		{"submit 404 that is not the purge failure", func(t *testing.T, h *checkers.History) {
			wfcheck.SetResponse(h, wfcheck.Find(t, h, response("reviewer-15", 404)), 404, notFoundBody)
		}, nil, "clients: POST /ReviewWorkflow/rw-0/submitReview got 404 {\"code\":404,\"message\":\"workflow ReviewWorkflow with key \\\"rw-0\\\" not found\",\"source\":\"ingress\"}, want the purge failure"},
		// the purge failure
		{"submit failed by a purge that did not happen then", func(t *testing.T, h *checkers.History) {
			h.Events[wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, s4))].At -= time.Millisecond
		}, nil, "submit-outcome: submitReview of key rw-0 failed with failure(404 \"workflow ReviewWorkflow with key \\\"rw-0\\\" was purged at the end of its retention\"), but its workflow was not purged then"},
		{"peek failed by a purge that did not happen then", func(t *testing.T, h *checkers.History) {
			h.Events[wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, g2))].At -= time.Millisecond
		}, nil, "peek: getReview of key rw-0 failed with failure(404"},
		{"purged submit had won without a completion", func(t *testing.T, h *checkers.History) {
			j := h.Events[wfcheck.Find(t, h, wfcheck.KindInv(checkers.InvocationDone, s4))].Journal
			j[1].Completed = true
		}, nil, `submit-once: submitReview of key rw-0 won with "dave: approve rw-0 [#4]", but that review was not completed while it ran`},
		{"unreadable response", func(t *testing.T, h *checkers.History) {
			e := &h.Events[wfcheck.Find(t, h, response("peeker-7", 200))]
			e.Reason, e.HTTP = "garbled", nil // a response whose bytes were not recorded
		}, nil, `clients: cannot read the body of "garbled"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := goodHistory()
			tc.break_(t, h)
			d := inputs
			if tc.inputs != nil {
				d = tc.inputs
			}
			wfcheck.WantViolation(t, Check(h, d), CheckerName, tc.want)
		})
	}
}
