package agenttools

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/scenarios/internal/histutil"
	"github.com/vigilsim/vigil/sim"
)

// checkerName is the Checker of the scenario's violations.
const checkerName = "agent-tools-outcome"

// Margin is how long before a timer's deadline a completion must have been accepted for it to be
// sure to win: more than the longest a message can spend on a link (200 ms stretched twentyfold
// by the long tail, plus a sync and a time quantum).
const Margin = 5 * time.Second

// Check states the scenario's expected outcome. The agent's final journal records, per step, the
// tools' awakeables, the dispatch, the step's timer, one select per WaitFirst and (with
// checkpoints) the checkpoint; then the
// approval's awakeable, the request, its timer and select; then the final step if approved.
// Replaying those choices over the completions the engine accepted gives the one report the
// agent may return:
//
//   - A1 the output is that report: every tool of every step appears once, in order, with its
//     awakeable's ID; a tool the journal says was chosen is "answered" with the value of its
//     awakeable's first CompletionAccepted, or "failed" with the accepted rejection's message;
//     the tools still pending when the step's select chose the timer are "timed out"; the
//     approval is "approved" (accepted value), "rejected" (accepted rejection) or "timed out";
//     the final step ran and is reported if and only if the approval was approved;
//   - A2 choices follow their causes: every future a select chose had completed before the
//     first attempt that emitted that choice — the awakeable's CompletionAccepted, or the
//     timer's TimerFired, which is at or after its deadline. Only attempts whose earlier
//     entries, choices included, are the final journal's count: an attempt that died before its
//     choices were durable may have meant another tool by the same position;
//   - A4 answers come from the right worker: a tool's answer is one its own worker sends
//     ("<tool> answer N"), a failure names the tool, the task and the step, and the approval's
//     verdict is a human's "approves" or "rejects". This fails when an awakeable ID handed out
//     inside Run names a journal entry that a later attempt re-created as another awakeable;
//   - A3 the first completion wins: a tool (or the approval) reported as timed out had no
//     completion accepted Margin or more before its timer's deadline — unless the executor was
//     paused at some time from that acceptance to Margin after the timer fired (a pause holds
//     back every message to the executor and delivers them together, in any order).
func (wl *workload) Check(h *checkers.History) []checkers.Violation {
	vs := check(h)
	for _, c := range wl.conflicts {
		vs = append(vs, checkers.Violation{Checker: checkerName, Message: "choice-reported-once: " + c})
	}
	return vs
}

func check(h *checkers.History) []checkers.Violation {
	x := index(h)
	var vs []checkers.Violation
	x.Finished(ServiceName, func(inv protocol.InvocationID, _, d int) {
		for _, m := range x.checkAgent(inv, h.Events[d]) {
			vs = append(vs, checkers.Violation{Checker: checkerName, Invocation: inv, Message: m, Events: []int{d}})
		}
	})
	return vs
}

// slot names one journal entry of one invocation.
type slot = histutil.Slot

// history is the shared index of the run, plus every CommandEmitted of each attempt.
type history struct {
	*histutil.Index
	byAttempt map[attemptKey][]int
}

// attemptKey names one attempt of one invocation.
type attemptKey struct {
	inv     protocol.InvocationID
	attempt uint32
}

func index(h *checkers.History) *history {
	x := &history{Index: histutil.NewIndex(h), byAttempt: map[attemptKey][]int{}}
	for i, e := range h.Events {
		if e.Kind == checkers.CommandEmitted {
			k := attemptKey{e.Invocation, e.Attempt}
			x.byAttempt[k] = append(x.byAttempt[k], i)
		}
	}
	return x
}

// walker replays an agent's final journal.
type walker struct {
	x    *history
	inv  protocol.InvocationID
	j    []journal.Entry
	pos  int
	msgs []string
}

// errShape ends a walk whose journal does not have the agent's shape.
type errShape struct{ msg string }

func (w *walker) next(kind journal.Kind, name string) (uint32, journal.Entry) {
	if w.pos >= len(w.j) || w.j[w.pos].Kind != kind || (name != "" && w.j[w.pos].Name != name) {
		got := "the end of the journal"
		if w.pos < len(w.j) {
			got = w.j[w.pos].String()
		}
		what := kind.String()
		if name != "" {
			what += fmt.Sprintf(" %q", name)
		}
		panic(errShape{fmt.Sprintf("journal entry [%d] is %s, want %s as the agent's code makes it", w.pos, got, what)})
	}
	w.pos++
	return uint32(w.pos - 1), w.j[w.pos-1]
}

func (w *walker) failf(format string, args ...any) {
	w.msgs = append(w.msgs, fmt.Sprintf(format, args...))
}

// ended reports how the awakeable at index ended, as the engine accepted it.
func (w *walker) ended(index uint32, r *ToolReport, ok, failed string) {
	c, found := w.x.Completed.Lookup(slot{Invocation: w.inv, Index: index})
	if !found {
		w.failf("the select chose the awakeable [%d] (%s), but no completion of it was ever accepted", index, r.Name)
		r.Status = "never completed"
		return
	}
	res := w.x.H.Events[c].Result
	if res.Failure != nil {
		r.Status, r.Error = failed, res.Failure.Message
		return
	}
	var v string
	if err := json.Unmarshal(res.Value, &v); err != nil {
		w.failf("accepted completion %s of the awakeable [%d] is not a string", res, index)
	}
	r.Status, r.Value = ok, v
}

// chose states A2 for the select at index whose journaled choice is choice, picking the future
// at journal index future (a sleep when timer is set).
func (w *walker) chose(index uint32, choice journal.Result, future uint32, timer bool, deadline time.Duration) {
	first := -1
	for _, i := range w.x.Emitted.Get(slot{Invocation: w.inv, Index: index}) {
		if e := w.x.H.Events[i].Entry; e.Kind == journal.KindSelect && e.Result.Equal(choice) && w.agrees(w.x.H.Events[i].Attempt, index) {
			first = i
			break
		}
	}
	what, cause := "awakeable", &w.x.Completed
	if timer {
		what, cause = "timer", &w.x.Fired
	}
	c, ok := cause.Lookup(slot{Invocation: w.inv, Index: future})
	switch {
	case !ok && timer:
		w.failf("the select [%d] chose the timer [%d], which never fired", index, future)
	case !ok:
		return // ended reports it
	case timer && w.x.H.Events[c].NodeClock() < deadline:
		w.failf("the timer [%d] fired at %v, before its deadline %v", future, w.x.H.Events[c].NodeClock(), deadline)
	}
	switch {
	case first < 0:
		w.failf("no attempt emitted the select [%d] that chose the %s [%d]", index, what, future)
	case ok && first < c:
		w.failf("an attempt chose the %s [%d] at %v, before it completed at %v", what, future, w.x.H.Events[first].At, w.x.H.Events[c].At)
	}
}

// agrees reports whether every entry attempt emitted before index is the final journal's, the
// choices of its selects included. Only such an attempt meant, by a select's position, the future
// the final journal means: an attempt whose earlier choices were lost (it died before they were
// durable) may have had other tools pending, so the same position named another tool.
func (w *walker) agrees(attempt uint32, index uint32) bool {
	for _, i := range w.x.byAttempt[attemptKey{w.inv, attempt}] {
		e := w.x.H.Events[i]
		if e.Index >= index {
			continue
		}
		if int(e.Index) >= len(w.j) {
			return false
		}
		if f := w.j[e.Index]; !f.SameCommand(e.Entry) || (f.Kind == journal.KindSelect && !f.Result.Equal(e.Entry.Result)) {
			return false
		}
	}
	return true
}

// timedOut states A3 for the awakeable at index, reported timed out by a timer due at deadline.
func (w *walker) timedOut(index uint32, name string, sleep uint32, deadline time.Duration) {
	c, ok := w.x.Completed.Lookup(slot{Invocation: w.inv, Index: index})
	if !ok {
		return
	}
	// Causally, on true time: the completion was accepted Margin before the timer fired (the
	// engine's clock may have stepped in between, so the deadline says little). Without a
	// firing, A2 has already reported the choice.
	at := w.x.H.Events[c].At
	f, fired := w.x.Fired.Lookup(slot{Invocation: w.inv, Index: sleep})
	if !fired {
		return
	}
	until := w.x.H.Events[f].At
	if at+Margin <= until && !histutil.Overlaps(w.x.Paused, at, until+Margin) {
		w.failf("%s [%d] timed out (deadline %v, timer fired at %v) although its completion %s was accepted at %v, %v before, and the executor was not paused in between",
			name, index, deadline, until, w.x.H.Events[c].Result, at, until-at)
	}
}

// provenance states A4 for the awakeable at index that ended as r: an answer starts with
// answer, a failure is failure (for the approval, both must name the task's verdict).
func (w *walker) provenance(index uint32, r ToolReport, answer, failure string) {
	var ok bool
	switch {
	case answer == "" && r.Status == StatusApproved:
		ok = strings.Contains(r.Value, " approves ")
	case answer == "" && r.Status == StatusRejected:
		ok = strings.Contains(r.Error, " rejects ")
	case r.Status == StatusAnswered:
		ok = strings.HasPrefix(r.Value, answer)
	case r.Status == StatusFailed:
		ok = r.Error == failure
	default:
		return
	}
	if !ok {
		w.failf("%s [%d] ended with %q%q, which is not what that tool's worker sends: the awakeable ID that reached the worker named another entry",
			r.Name, index, r.Value, r.Error)
	}
}

func choiceOf(e journal.Entry) int {
	var c int
	if err := json.Unmarshal(e.Result.Value, &c); err != nil {
		return -1
	}
	return c
}

func deadlineOf(e journal.Entry) time.Duration { return time.Unix(0, e.Deadline).Sub(sim.Epoch) }

// checkAgent replays one agent's final journal into the report it must have returned.
func (x *history) checkAgent(inv protocol.InvocationID, done checkers.Event) (msgs []string) {
	w := &walker{x: x, inv: inv, j: done.Journal}
	defer func() {
		if r := recover(); r != nil {
			s, ok := r.(errShape)
			if !ok {
				panic(r)
			}
			msgs = append(w.msgs, s.msg)
		}
	}()
	_, in := w.next(journal.KindInput, "")
	var task Task
	if err := json.Unmarshal(in.Result.Value, &task); err != nil {
		return []string{fmt.Sprintf("input %s: %v", in.Result, err)}
	}
	want := Report{Task: task.Name, Steps: []StepReport{}}
	for s, tools := range task.Steps {
		step := StepReport{Tools: make([]ToolReport, len(tools))}
		indices := make([]uint32, len(tools))
		for i, tool := range tools {
			indices[i], _ = w.next(journal.KindAwakeable, "")
			step.Tools[i] = ToolReport{Name: tool, Awakeable: protocol.AwakeableID{Invocation: inv, Index: indices[i]}.String(), Status: StatusTimedOut}
		}
		w.next(journal.KindRun, fmt.Sprintf("dispatch-step-%d", s))
		sleep, timer := w.next(journal.KindSleep, "")
		dl := deadlineOf(timer)
		pending := make([]int, len(tools))
		for i := range pending {
			pending[i] = i
		}
		for round := 0; len(pending) > 0; round++ {
			at, sel := w.next(journal.KindSelect, "")
			c := choiceOf(sel)
			switch {
			case c == len(pending):
				w.chose(at, sel.Result, sleep, true, dl)
				for _, i := range pending {
					w.timedOut(indices[i], tools[i], sleep, dl)
				}
				pending = nil
			case c >= 0 && c < len(pending):
				i := pending[c]
				w.chose(at, sel.Result, indices[i], false, 0)
				w.ended(indices[i], &step.Tools[i], StatusAnswered, StatusFailed)
				w.provenance(indices[i], step.Tools[i], tools[i]+" answer ", ToolFailure(tools[i], task.Name, s))
				pending = append(pending[:c], pending[c+1:]...)
				// The progress report of the choice (a journal built by hand may leave it out).
				if w.pos < len(w.j) && w.j[w.pos].Kind == journal.KindRun && w.j[w.pos].Name == notifyName(s, round) {
					w.pos++
				}
			default:
				panic(errShape{fmt.Sprintf("journaled select [%d] %s does not fit the %d pending tools and the timer", at, sel.Result, len(pending))})
			}
		}
		want.Steps = append(want.Steps, step)
		if w.pos < len(w.j) && w.j[w.pos].Kind == journal.KindRun && w.j[w.pos].Name == fmt.Sprintf("checkpoint-step-%d", s) {
			w.pos++
		}
	}
	awk, _ := w.next(journal.KindAwakeable, "")
	want.Approval = ToolReport{Name: "approval", Awakeable: protocol.AwakeableID{Invocation: inv, Index: awk}.String(), Status: StatusTimedOut}
	w.next(journal.KindRun, "ask-approval")
	sleep, timer := w.next(journal.KindSleep, "")
	at, sel := w.next(journal.KindSelect, "")
	switch choiceOf(sel) {
	case 0:
		w.chose(at, sel.Result, awk, false, 0)
		w.ended(awk, &want.Approval, StatusApproved, StatusRejected)
		w.provenance(awk, want.Approval, "", "")
	case 1:
		w.chose(at, sel.Result, sleep, true, deadlineOf(timer))
		w.timedOut(awk, "approval", sleep, deadlineOf(timer))
	default:
		panic(errShape{fmt.Sprintf("journaled select [%d] %s is neither the approval (0) nor its timer (1)", at, sel.Result)})
	}
	if want.Approval.Status == StatusApproved {
		_, final := w.next(journal.KindRun, "final-step")
		if err := json.Unmarshal(final.Result.Value, &want.Final); err != nil || want.Final != FinalOutcome(task.Name) {
			w.failf("the final step journaled %s, want %q", final.Result, FinalOutcome(task.Name))
		}
	}
	w.next(journal.KindOutput, "")
	if w.pos != len(w.j) {
		panic(errShape{fmt.Sprintf("journal has %d entries after the output", len(w.j)-w.pos)})
	}

	var got Report
	if done.Result.Failure != nil || json.Unmarshal(done.Result.Value, &got) != nil {
		return append(w.msgs, fmt.Sprintf("output %s is not a report", done.Result))
	}
	if !reflect.DeepEqual(got, want) {
		w.failf("output does not follow from the journal and the accepted completions: %s", diff(got, want))
	}
	return w.msgs
}

// diff describes how got differs from want, field by field, shortly.
func diff(got, want Report) string {
	var parts []string
	if got.Task != want.Task {
		parts = append(parts, fmt.Sprintf("task %q, want %q", got.Task, want.Task))
	}
	if len(got.Steps) != len(want.Steps) {
		parts = append(parts, fmt.Sprintf("%d steps, want %d", len(got.Steps), len(want.Steps)))
	}
	for s := range min(len(got.Steps), len(want.Steps)) {
		g, w := got.Steps[s].Tools, want.Steps[s].Tools
		if len(g) != len(w) {
			parts = append(parts, fmt.Sprintf("step %d has %d tools, want %d", s, len(g), len(w)))
			continue
		}
		for i := range g {
			if g[i] != w[i] {
				parts = append(parts, fmt.Sprintf("step %d tool %d is %+v, want %+v", s, i, g[i], w[i]))
			}
		}
	}
	if got.Approval != want.Approval {
		parts = append(parts, fmt.Sprintf("approval %+v, want %+v", got.Approval, want.Approval))
	}
	if got.Final != want.Final {
		parts = append(parts, fmt.Sprintf("final %q, want %q", got.Final, want.Final))
	}
	return strings.Join(parts, "; ")
}
