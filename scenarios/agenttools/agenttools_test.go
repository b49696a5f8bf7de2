package agenttools

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/sim"
)

// TestScenario runs the scenario over 200 seeds: no checker and no expected-outcome rule may fail.
func TestScenario(t *testing.T) {
	sim.Check(t, Scenario, sim.CheckOptions{Seeds: 200})
}

// TestDeterminism runs seeds twice: the same seed must give the same trace hash.
func TestDeterminism(t *testing.T) {
	sim.CheckDeterminism(t, Scenario, sim.CheckOptions{Seeds: 20})
}

// TestNoEscapedAwakeableIDs is the regression test of the runtime bug the plain agent found
// (see Scenario): the seeds that reproduced it, and the checkpointed variant, must pass.
func TestNoEscapedAwakeableIDs(t *testing.T) {
	for _, seed := range []uint64{674, 913, 973} {
		sim.Check(t, Scenario, sim.CheckOptions{Seeds: 1, FirstSeed: seed})
	}
	sim.Check(t, CheckpointedScenario, sim.CheckOptions{Seeds: 100})
}

var inv = protocol.InvocationID{15: 7}

func jsonResult(v any) journal.Result {
	b, _ := json.Marshal(v)
	return journal.Result{Value: b}
}

func awk(index uint32) string { return protocol.AwakeableID{Invocation: inv, Index: index}.String() }

// agent describes one finished agent with one step calling search and email, then an approval.
// By default: search answers at 2 s and is chosen at 2.1 s; email never answers; the step's timer
// (deadline 10 s) fires at 10 s and is chosen at 10.1 s; the human approves at 12 s, chosen at
// 12.1 s; the final step runs; the report says exactly that.
type agent struct {
	search     journal.Result // search's accepted completion
	searchAt   time.Duration
	chooseAt   time.Duration // when search's select was emitted
	emailAt    time.Duration // when email's completion was accepted, 0 for never
	email      journal.Result
	firedAt    time.Duration // the step timer's firing, 0 for never
	approval   journal.Result
	approvedAt time.Duration // 0 for never
	// approvalChoice is the journaled choice of the approval select (0 approval, 1 timer).
	approvalChoice  int
	approvalChoseAt time.Duration
	approvalFired   time.Duration
	pausedAt        time.Duration
	pauseFor        time.Duration
	dropEmission    bool // leave the search select's CommandEmitted out
	// extra are more events, such as the commands of an attempt that died.
	extra []checkers.Event
	// out edits the report the agent returned.
	out func(*Report)
	// entries edits the final journal.
	entries func([]journal.Entry) []journal.Entry
}

func defaultAgent() agent {
	return agent{
		search: jsonResult("search answer 1"), searchAt: 2 * time.Second, chooseAt: 2100 * time.Millisecond,
		firedAt: 10 * time.Second, approval: jsonResult("human-1 approves task-0"), approvedAt: 12 * time.Second,
		approvalChoseAt: 12100 * time.Millisecond,
	}
}

func (a agent) history() *checkers.History {
	task := Task{Name: "task-0", Steps: [][]string{{"search", "email"}}, ToolTimeoutMs: 8000, ApprovalTimeoutMs: 20000}
	const stepDeadline, approvalDeadline = 10 * time.Second, 30 * time.Second
	dl := func(d time.Duration) int64 { return sim.Epoch.Add(d).UnixNano() }
	j := []journal.Entry{
		{Kind: journal.KindInput, Result: jsonResult(task)},
		{Kind: journal.KindAwakeable, Completed: true, Result: a.search},
		{Kind: journal.KindAwakeable, Completed: a.emailAt > 0, Result: a.email},
		{Kind: journal.KindRun, Name: "dispatch-step-0", Result: jsonResult(true)},
		{Kind: journal.KindSleep, Duration: 8 * time.Second, Deadline: dl(stepDeadline), Completed: a.firedAt > 0},
		{Kind: journal.KindSelect, Result: jsonResult(0)}, // search
		{Kind: journal.KindSelect, Result: jsonResult(1)}, // the timer, email still pending
		{Kind: journal.KindRun, Name: "checkpoint-step-0", Result: jsonResult(true)},
		{Kind: journal.KindAwakeable, Completed: a.approvedAt > 0, Result: a.approval},
		{Kind: journal.KindRun, Name: "ask-approval", Result: jsonResult(true)},
		{Kind: journal.KindSleep, Duration: 20 * time.Second, Deadline: dl(approvalDeadline), Completed: a.approvalFired > 0},
		{Kind: journal.KindSelect, Result: jsonResult(a.approvalChoice)},
	}
	report := Report{Task: "task-0", Steps: []StepReport{{Tools: []ToolReport{
		{Name: "search", Awakeable: awk(1), Status: StatusAnswered, Value: "search answer 1"},
		{Name: "email", Awakeable: awk(2), Status: StatusTimedOut},
	}}}, Approval: ToolReport{Name: "approval", Awakeable: awk(8), Status: StatusTimedOut}}
	if a.approvalChoice == 0 && a.approval.Failure == nil {
		report.Approval.Status, report.Approval.Value = StatusApproved, "human-1 approves task-0"
		report.Final = FinalOutcome("task-0")
		j = append(j, journal.Entry{Kind: journal.KindRun, Name: "final-step", Result: jsonResult(report.Final)})
	} else if a.approvalChoice == 0 {
		report.Approval.Status, report.Approval.Error = StatusRejected, a.approval.Failure.Message
	}
	if a.out != nil {
		a.out(&report)
	}
	out := jsonResult(report)
	j = append(j, journal.Entry{Kind: journal.KindOutput, Result: out})
	if a.entries != nil {
		j = a.entries(j)
	}
	sel := func(at time.Duration, index uint32, choice int) checkers.Event {
		return checkers.Event{At: at, Kind: checkers.CommandEmitted, Invocation: inv, Attempt: 1, Index: index, Entry: journal.Entry{Kind: journal.KindSelect, Result: jsonResult(choice)}}
	}
	evs := []checkers.Event{
		{At: 0, Kind: checkers.InvocationAccepted, Invocation: inv, Service: ServiceName, Handler: HandlerName, Reason: "service"},
		sel(10100*time.Millisecond, 6, 1),
		sel(a.approvalChoseAt, 11, a.approvalChoice),
		{At: 40 * time.Second, Kind: checkers.InvocationDone, Invocation: inv, Index: uint32(len(j) - 1), Result: out, Journal: j},
	}
	if a.searchAt > 0 {
		evs = append(evs, checkers.Event{At: a.searchAt, Kind: checkers.CompletionAccepted, Invocation: inv, Index: 1, Result: a.search})
	}
	if !a.dropEmission {
		evs = append(evs, sel(a.chooseAt, 5, 0))
	}
	if a.emailAt > 0 {
		evs = append(evs, checkers.Event{At: a.emailAt, Kind: checkers.CompletionAccepted, Invocation: inv, Index: 2, Result: a.email})
	}
	if a.firedAt > 0 {
		evs = append(evs, checkers.Event{At: a.firedAt, Kind: checkers.TimerFired, Invocation: inv, Index: 4, Timer: event.TimerSleep, Deadline: stepDeadline})
	}
	if a.approvedAt > 0 {
		evs = append(evs, checkers.Event{At: a.approvedAt, Kind: checkers.CompletionAccepted, Invocation: inv, Index: 8, Result: a.approval})
	}
	if a.approvalFired > 0 {
		evs = append(evs, checkers.Event{At: a.approvalFired, Kind: checkers.TimerFired, Invocation: inv, Index: 10, Timer: event.TimerSleep, Deadline: approvalDeadline})
	}
	evs = append(evs, a.extra...)
	if a.pausedAt > 0 {
		evs = append(evs, checkers.Event{At: a.pausedAt, Kind: checkers.NodePaused, Node: "executor", Span: a.pauseFor})
	}
	// The history is in time order, as recorded (a stable insertion sort keeps equal times in order).
	for i := 1; i < len(evs); i++ {
		for k := i; k > 0 && evs[k].At < evs[k-1].At; k-- {
			evs[k], evs[k-1] = evs[k-1], evs[k]
		}
	}
	return &checkers.History{Events: evs}
}

// deadAttempt is attempt 9, which emitted the selects [5] and [6] with the given choices at 2.5 s
// and 3 s and died.
func deadAttempt(first, second int) []checkers.Event {
	return []checkers.Event{
		{At: 2500 * time.Millisecond, Kind: checkers.CommandEmitted, Invocation: inv, Attempt: 9, Index: 5, Entry: journal.Entry{Kind: journal.KindSelect, Result: jsonResult(first)}},
		{At: 3 * time.Second, Kind: checkers.CommandEmitted, Invocation: inv, Attempt: 9, Index: 6, Entry: journal.Entry{Kind: journal.KindSelect, Result: jsonResult(second)}},
	}
}

// TestCheckFails feeds the scenario's Check histories that break each rule, and right ones.
func TestCheckFails(t *testing.T) {
	reject := journal.Result{Failure: &journal.Failure{Code: 500, Message: "human-1 rejects task-0"}}
	tests := []struct {
		name string
		edit func(*agent)
		want string
	}{
		{name: "as recorded", edit: func(*agent) {}},
		{name: "search failed", edit: func(a *agent) {
			a.search = journal.Result{Failure: &journal.Failure{Code: 500, Message: ToolFailure("search", "task-0", 0)}}
			a.out = func(r *Report) {
				r.Steps[0].Tools[0].Status, r.Steps[0].Tools[0].Value, r.Steps[0].Tools[0].Error = StatusFailed, "", ToolFailure("search", "task-0", 0)
			}
		}},
		{name: "approval rejected", edit: func(a *agent) { a.approval = reject }},
		{name: "approval timed out", edit: func(a *agent) {
			a.approvalChoice, a.approvalFired, a.approvedAt, a.approvalChoseAt = 1, 30*time.Second, 0, 30100*time.Millisecond
		}},
		{name: "late email answer loses", edit: func(a *agent) { a.emailAt, a.email = 9*time.Second, jsonResult("email answer 2") }},
		{name: "early email answer may lose while the executor is paused", edit: func(a *agent) {
			a.emailAt, a.email = 3*time.Second, jsonResult("email answer 2")
			a.pausedAt, a.pauseFor = 2500*time.Millisecond, 10*time.Second
		}},

		{name: "A1 timed-out tool reported answered", want: "output does not follow", edit: func(a *agent) {
			a.out = func(r *Report) {
				r.Steps[0].Tools[1].Status, r.Steps[0].Tools[1].Value = StatusAnswered, "email answer 2"
			}
		}},
		{name: "A1 wrong answer", want: "output does not follow", edit: func(a *agent) {
			a.out = func(r *Report) { r.Steps[0].Tools[0].Value = "search answer 9" }
		}},
		{name: "A1 wrong awakeable ID", want: "output does not follow", edit: func(a *agent) {
			a.out = func(r *Report) { r.Steps[0].Tools[0].Awakeable = awk(2) }
		}},
		{name: "A1 rejection reported as approval", want: "output does not follow", edit: func(a *agent) {
			a.approval = reject
			a.out = func(r *Report) {
				r.Approval.Status, r.Approval.Value, r.Approval.Error = StatusApproved, "human-1 approves task-0", ""
			}
		}},
		{name: "A1 final step without approval", want: "output does not follow", edit: func(a *agent) {
			a.approval = reject
			a.out = func(r *Report) { r.Final = FinalOutcome("task-0") }
		}},
		{name: "A1 chose a tool nobody answered", want: "no completion of it was ever accepted", edit: func(a *agent) { a.searchAt = 0 }},
		{name: "A1 journal without the dispatch", want: "want run \"dispatch-step-0\"", edit: func(a *agent) {
			a.entries = func(j []journal.Entry) []journal.Entry { return append(j[:3:3], j[4:]...) }
		}},
		{name: "A2 chose search before its answer was accepted", want: "before it completed", edit: func(a *agent) {
			a.chooseAt = 1900 * time.Millisecond
		}},
		{name: "A2 a dead attempt's choice at the same position meant another future", edit: func(a *agent) {
			// Attempt 9 chose email at [5] (position 1 of search, email), then the timer at [6]
			// (position 1 of search, timer) before the timer fired; it died before either was
			// durable. The final [6] is position 1 too, but of email, timer.
			a.extra = deadAttempt(1, 1)
		}},
		{name: "A2 an agreeing attempt chose the timer before it fired", want: "before it completed", edit: func(a *agent) {
			a.extra = deadAttempt(0, 1)
		}},
		{name: "A2 no attempt emitted the choice", want: "no attempt emitted the select [5]", edit: func(a *agent) {
			a.dropEmission = true
		}},
		{name: "A2 chose the step timer, which never fired", want: "which never fired", edit: func(a *agent) { a.firedAt = 0 }},
		{name: "A2 step timer fired before its deadline", want: "before its deadline", edit: func(a *agent) { a.firedAt = 9 * time.Second }},
		{name: "A2 approval timer never fired", want: "which never fired", edit: func(a *agent) {
			a.approvalChoice, a.approvedAt = 1, 0
		}},
		{name: "A3 early email answer lost to the timer", want: "although its completion", edit: func(a *agent) {
			a.emailAt, a.email = 3*time.Second, jsonResult("email answer 2")
		}},
		{name: "A3 a pause long before does not excuse it", want: "although its completion", edit: func(a *agent) {
			a.emailAt, a.email = 3*time.Second, jsonResult("email answer 2")
			a.pausedAt, a.pauseFor = time.Second, time.Second
		}},
		{name: "A4 search got the email worker's answer", want: "not what that tool's worker sends", edit: func(a *agent) {
			a.search = jsonResult("email answer 2")
			a.out = func(r *Report) { r.Steps[0].Tools[0].Value = "email answer 2" }
		}},
		{name: "A4 search got the email worker's failure", want: "not what that tool's worker sends", edit: func(a *agent) {
			a.search = journal.Result{Failure: &journal.Failure{Code: 500, Message: ToolFailure("email", "task-0", 0)}}
			a.out = func(r *Report) {
				r.Steps[0].Tools[0].Status, r.Steps[0].Tools[0].Value, r.Steps[0].Tools[0].Error = StatusFailed, "", ToolFailure("email", "task-0", 0)
			}
		}},
		{name: "A4 approval got a tool's answer", want: "not what that tool's worker sends", edit: func(a *agent) {
			a.approval = jsonResult("email answer 2")
			a.out = func(r *Report) { r.Approval.Value = "email answer 2" }
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := defaultAgent()
			tc.edit(&a)
			vs := (&workload{}).Check(a.history())
			if tc.want == "" {
				require.Empty(t, vs)
				return
			}
			require.NotEmpty(t, vs)
			for _, v := range vs {
				require.Equal(t, checkerName, v.Checker)
				require.Equal(t, inv, v.Invocation)
			}
			require.Contains(t, vs[0].Message, tc.want, "%v", vs)
		})
	}
}
