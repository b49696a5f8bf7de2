package timeouts

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/scenarios/internal/histutil"
	"github.com/vigilsim/vigil/sim"
	"github.com/vigilsim/vigil/vigiltest"
)

// checkerName is the Checker of the scenario's violations.
const checkerName = "timeouts-outcome"

// Margin is how long before a timer's deadline a completion must have been accepted for it to be
// sure to win. It exceeds the longest a message can spend on a link (the plan's maximum delay of
// 200 ms, stretched twentyfold by the long tail, plus a sync and a time quantum), so the
// completion reaches a live attempt before the timer's own completion can.
const Margin = 5 * time.Second

// The wait handler's journal: input, awakeable, sleep, run (hand-out), select, output. The nap
// handler's: input, sleep, run (woke), output.
const (
	waitAwakeable = 1
	waitSleep     = 2
	waitRun       = 3
	waitSelect    = 4
	waitNotify    = 5
	waitLen       = 7

	napSleep = 1
	napRun   = 2
	napLen   = 4
)

// Check states the scenario's expected outcome. For every finished wait:
//
//   - W1 shape: the final journal is input, awakeable, sleep, run, select, run (notify), output, and the output
//     is "completed: v" or "timed out" as the journaled select chose the awakeable (0) or the
//     timer (1);
//   - W2 deadline: the engine fixed the sleep's deadline when it journaled the sleep, so it lies
//     between the first emission of the sleep command plus the timeout and its first TimerArmed
//     plus the timeout;
//   - W3 completed: v is the value of the awakeable's first CompletionAccepted, and that
//     acceptance comes before the first attempt that emitted the select choosing it (nobody can
//     see a completion before the engine accepted it). So a never-completed awakeable always
//     times out. The rule is causal, not "accepted before the timer fired": a completion
//     accepted after the timer fired still wins when the attempt that saw the timer first died
//     before its choice was journaled (the next one finds both ready and takes the awakeable,
//     which it lists first), or when the link delivered the timer's completion after the
//     awakeable's. Campaigns see this in about a third of the seeds;
//   - W4 timed out: the sleep's TimerFired is in the history, at or after its deadline, before
//     the first attempt that emitted the select choosing the timer;
//   - W5 the first completion wins: a completion accepted at least Margin before the deadline
//     makes the wait complete, never time out — unless the executor was paused at some time
//     from the acceptance to Margin after the timer fired (a pause holds back every message to
//     the executor and delivers them together, in any order). Crashes are no excuse: a new
//     attempt starts from a journal that holds the completion, and WaitFirst prefers the
//     awakeable, which it lists first, when both are ready;
//   - W6 nobody completes a wait of case "never";
//   - W7 the outside world heard one outcome per wait (Notified), the wait's output: the choice
//     of the select is durable before the handler goes on, so every execution of the notify
//     run, re-executions after crashes included, carries the same outcome.
//
// For every finished nap: N1 the journal is input, sleep, run, output; the output reports the
// sleep's duration and the virtual time the run journaled, which is at or after the sleep's
// TimerFired, itself at or after the deadline by the engine's clock.
func (wl *workload) Check(h *checkers.History) []checkers.Violation {
	return check(h)
}

func check(h *checkers.History) []checkers.Violation {
	x := index(h)
	var vs []checkers.Violation
	vs = append(vs, checkNotified(h)...)
	x.Finished(ServiceName, func(inv protocol.InvocationID, acc, d int) {
		var msgs []string
		switch h.Events[acc].Handler {
		case WaitHandler:
			msgs = x.checkWait(inv, h.Events[d])
		case NapHandler:
			msgs = x.checkNap(inv, h.Events[d])
		}
		for _, m := range msgs {
			vs = append(vs, checkers.Violation{Checker: checkerName, Invocation: inv, Message: m, Events: []int{d}})
		}
	})
	return vs
}

// slot names one journal entry of one invocation.
type slot = histutil.Slot

// history is the shared index of the run, with this check's methods.
type history struct{ *histutil.Index }

func index(h *checkers.History) *history { return &history{histutil.NewIndex(h)} }

// deadline is a sleep entry's deadline in virtual time.
func deadline(e journal.Entry) time.Duration {
	return time.Unix(0, e.Deadline).Sub(sim.Epoch)
}

// checkSleep states W2 and returns the sleep's deadline.
func (x *history) checkSleep(inv protocol.InvocationID, index uint32, e journal.Entry) []string {
	var msgs []string
	dl := deadline(e)
	s := slot{Invocation: inv, Index: index}
	// The engine fixes the deadline from its own clock when it journals the sleep, and arms the
	// timer in the same step: the deadline is that reading plus the duration. (Its clock may be
	// off the true time, so the executor's emission time bounds nothing.)
	a, ok := x.Armed.Lookup(s)
	if !ok {
		return append(msgs, fmt.Sprintf("sleep [%d] is journaled but its timer was never armed", index))
	}
	if em := x.Emitted.Get(s); len(em) > 0 && a < em[0] {
		msgs = append(msgs, fmt.Sprintf("sleep [%d] was armed before it was first emitted", index))
	}
	if want := x.H.Events[a].NodeClock() + e.Duration; dl != want {
		msgs = append(msgs, fmt.Sprintf("sleep [%d] of %s has deadline %v, not the engine's clock when it armed it (%v) plus its duration", index, e.Duration, dl, x.H.Events[a].NodeClock()))
	}
	if got := x.H.Events[a].Deadline; got != dl {
		msgs = append(msgs, fmt.Sprintf("sleep [%d] was armed for %v, but its journaled deadline is %v", index, got, dl))
	}
	return msgs
}

// firstChoice is the first CommandEmitted of the select at index that chose choice, or -1.
func (x *history) firstChoice(inv protocol.InvocationID, index uint32, choice journal.Result) int {
	for _, i := range x.Emitted.Get(slot{Invocation: inv, Index: index}) {
		if e := x.H.Events[i].Entry; e.Kind == journal.KindSelect && e.Result.Equal(choice) {
			return i
		}
	}
	return -1
}

func (x *history) checkWait(inv protocol.InvocationID, done checkers.Event) []string {
	j := done.Journal
	if len(j) != waitLen || j[0].Kind != journal.KindInput || j[waitAwakeable].Kind != journal.KindAwakeable ||
		j[waitSleep].Kind != journal.KindSleep || j[waitRun].Kind != journal.KindRun || j[waitSelect].Kind != journal.KindSelect ||
		j[waitNotify].Kind != journal.KindRun {
		return []string{fmt.Sprintf("final journal %v does not have the wait handler's shape (input, awakeable, sleep, run, select, run, output)", j)}
	}
	var req WaitRequest
	if err := json.Unmarshal(j[0].Result.Value, &req); err != nil {
		return []string{fmt.Sprintf("input %s: %v", j[0].Result, err)}
	}
	msgs := x.checkSleep(inv, waitSleep, j[waitSleep])
	dl := deadline(j[waitSleep])
	var choice int
	if err := json.Unmarshal(j[waitSelect].Result.Value, &choice); err != nil || (choice != 0 && choice != 1) {
		return append(msgs, fmt.Sprintf("journaled select %s is neither the awakeable (0) nor the timer (1)", j[waitSelect].Result))
	}
	var out string
	if done.Result.Failure != nil || json.Unmarshal(done.Result.Value, &out) != nil {
		return append(msgs, fmt.Sprintf("output %s is not a string", done.Result))
	}
	chose := x.firstChoice(inv, waitSelect, j[waitSelect].Result)
	comp, completed := x.Completed.Lookup(slot{Invocation: inv, Index: waitAwakeable})
	if completed && req.Case == CaseNever {
		msgs = append(msgs, fmt.Sprintf("the awakeable of a wait nobody completes was completed with %s", x.H.Events[comp].Result))
	}
	switch choice {
	case 0:
		if !completed {
			return append(msgs, fmt.Sprintf("output %q, but no completion of the awakeable was ever accepted", out))
		}
		ce := x.H.Events[comp]
		var v string
		if ce.Result.Failure != nil || json.Unmarshal(ce.Result.Value, &v) != nil {
			return append(msgs, fmt.Sprintf("output %q, but the accepted completion is %s", out, ce.Result))
		}
		if want := Completed(v); out != want {
			msgs = append(msgs, fmt.Sprintf("output %q, want %q (the accepted completion)", out, want))
		}
		if chose < 0 {
			msgs = append(msgs, "no attempt emitted the select that chose the awakeable")
		} else if chose < comp {
			msgs = append(msgs, fmt.Sprintf("an attempt chose the awakeable at %v, before its completion was accepted at %v", x.H.Events[chose].At, ce.At))
		}
	case 1:
		if out != TimedOut {
			msgs = append(msgs, fmt.Sprintf("output %q, want %q (the select chose the timer)", out, TimedOut))
		}
		fired, ok := x.Fired.Lookup(slot{Invocation: inv, Index: waitSleep})
		switch {
		case !ok:
			msgs = append(msgs, fmt.Sprintf("output %q, but the timer never fired", out))
		case x.H.Events[fired].NodeClock() < dl:
			msgs = append(msgs, fmt.Sprintf("output %q, but the timer fired at %v, before its deadline %v", out, x.H.Events[fired].NodeClock(), dl))
		case chose < 0:
			msgs = append(msgs, "no attempt emitted the select that chose the timer")
		case chose < fired:
			msgs = append(msgs, fmt.Sprintf("an attempt chose the timer at %v, before it fired at %v", x.H.Events[chose].At, x.H.Events[fired].At))
		}
		if completed && ok {
			// Causally, on true time: the completion was accepted Margin before the timer fired
			// (the engine's clock may have stepped in between, so the deadline says little).
			at, firedAt := x.H.Events[comp].At, x.H.Events[fired].At
			if at+Margin <= firedAt && !histutil.Overlaps(x.Paused, at, firedAt+Margin) {
				msgs = append(msgs, fmt.Sprintf("timed out (deadline %v, timer fired at %v) although the completion %s was accepted at %v, %v before it fired, and the executor was not paused in between",
					dl, firedAt, x.H.Events[comp].Result, at, firedAt-at))
			}
		}
	}
	return msgs
}

func (x *history) checkNap(inv protocol.InvocationID, done checkers.Event) []string {
	j := done.Journal
	if len(j) != napLen || j[0].Kind != journal.KindInput || j[napSleep].Kind != journal.KindSleep || j[napRun].Kind != journal.KindRun {
		return []string{fmt.Sprintf("final journal %v does not have the nap handler's shape (input, sleep, run, output)", j)}
	}
	msgs := x.checkSleep(inv, napSleep, j[napSleep])
	dl := deadline(j[napSleep])
	var woke time.Duration
	if err := json.Unmarshal(j[napRun].Result.Value, &woke); err != nil {
		return append(msgs, fmt.Sprintf("woke %s: %v", j[napRun].Result, err))
	}
	var out string
	if done.Result.Failure != nil || json.Unmarshal(done.Result.Value, &out) != nil {
		return append(msgs, fmt.Sprintf("output %s is not a string", done.Result))
	}
	if want := Slept(j[napSleep].Duration, woke); out != want {
		msgs = append(msgs, fmt.Sprintf("output %q, want %q", out, want))
	}
	// woke is the handler's reading of true time; the deadline is the engine's clock. The timer
	// must have fired no earlier than the deadline on the engine's clock, and the handler woke
	// after it fired.
	fired, ok := x.Fired.Lookup(slot{Invocation: inv, Index: napSleep})
	switch {
	case !ok:
		msgs = append(msgs, "the sleep's timer never fired")
	case x.H.Events[fired].NodeClock() < dl:
		msgs = append(msgs, fmt.Sprintf("the sleep's timer fired at %v, before its deadline %v", x.H.Events[fired].NodeClock(), dl))
	case x.H.Events[fired].At > woke:
		msgs = append(msgs, fmt.Sprintf("woke at %v, before the sleep's timer fired at %v", woke, x.H.Events[fired].At))
	}
	return msgs
}

// checkNotified states W7: for each awakeable, every outcome the outside world heard is the
// same, and a finished wait's output is that outcome.
func checkNotified(h *checkers.History) []checkers.Violation {
	heard := map[string][]int{}
	var order []string
	outputs := map[protocol.InvocationID]int{}
	for i := range h.Events {
		e := &h.Events[i]
		switch {
		case e.Kind == vigiltest.FactKind && e.Promise == Notified.Name():
			if _, ok := heard[e.Key]; !ok {
				order = append(order, e.Key)
			}
			heard[e.Key] = append(heard[e.Key], i)
		case e.Kind == checkers.InvocationDone:
			if _, ok := outputs[e.Invocation]; !ok {
				outputs[e.Invocation] = i
			}
		}
	}
	var vs []checkers.Violation
	for _, id := range order {
		events := heard[id]
		aid, err := protocol.ParseAwakeableID(id)
		if err != nil {
			vs = append(vs, checkers.Violation{Checker: checkerName, Message: fmt.Sprintf("an outcome was notified for %q, not an awakeable ID", id), Events: events})
			continue
		}
		first := h.Events[events[0]].Result
		conflict := false
		for _, i := range events[1:] {
			if !h.Events[i].Result.Equal(first) {
				vs = append(vs, checkers.Violation{Checker: checkerName, Invocation: aid.Invocation, Events: []int{events[0], i},
					Message: fmt.Sprintf("the outside world heard two outcomes of one wait, %s then %s: the handler went on before its select's choice was durable", first, h.Events[i].Result)})
				conflict = true
				break
			}
		}
		if d, ok := outputs[aid.Invocation]; ok && !conflict && h.Events[d].Result.Failure == nil && !h.Events[d].Result.Equal(first) {
			vs = append(vs, checkers.Violation{Checker: checkerName, Invocation: aid.Invocation, Events: []int{events[0], d},
				Message: fmt.Sprintf("the outside world heard %s, the wait's output is %s", first, h.Events[d].Result)})
		}
	}
	return vs
}
