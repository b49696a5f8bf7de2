package timeouts

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/sim"
	"github.com/vigilsim/vigil/vigiltest"
)

// TestScenario runs the scenario over 200 seeds: no checker and no expected-outcome rule may fail.
func TestScenario(t *testing.T) {
	sim.Check(t, Scenario, sim.CheckOptions{Seeds: 200})
}

// TestDeterminism runs seeds twice: the same seed must give the same trace hash.
func TestDeterminism(t *testing.T) {
	sim.CheckDeterminism(t, Scenario, sim.CheckOptions{Seeds: 20})
}

func jsonResult(v any) journal.Result {
	b, _ := json.Marshal(v)
	return journal.Result{Value: b}
}

var inv = protocol.InvocationID{15: 1}

// wait describes one wait invocation to build a history from. Times are virtual.
type wait struct {
	c        string
	timeout  time.Duration
	emitted  time.Duration // the sleep command's emission
	deadline time.Duration
	// completedAt, if set, is when the completion value was accepted.
	completedAt time.Duration
	value       journal.Result
	// firedAt, if set, is when the timer fired.
	firedAt time.Duration
	// choice is the journaled select; choseAt when the attempt emitted it.
	choice  int
	choseAt time.Duration
	out     journal.Result
	// pausedAt, if set, pauses the executor then for pauseFor.
	pausedAt, pauseFor time.Duration
	// heard are the outcomes the outside world was notified of, after the choice; nil: the
	// output's, once.
	heard []journal.Result
}

func (w wait) history() *checkers.History {
	dl := sim.Epoch.Add(w.deadline).UnixNano()
	j := []journal.Entry{
		{Kind: journal.KindInput, Result: jsonResult(WaitRequest{Case: w.c, TimeoutMs: w.timeout.Milliseconds()})},
		{Kind: journal.KindAwakeable, Completed: w.completedAt > 0, Result: w.value},
		{Kind: journal.KindSleep, Duration: w.timeout, Deadline: dl, Completed: w.firedAt > 0},
		{Kind: journal.KindRun, Name: "hand-out", Result: jsonResult(true)},
		{Kind: journal.KindSelect, Result: jsonResult(w.choice)},
		{Kind: journal.KindRun, Name: "notify", Result: jsonResult(true)},
		{Kind: journal.KindOutput, Result: w.out},
	}
	evs := []checkers.Event{
		{At: 0, Kind: checkers.InvocationAccepted, Invocation: inv, Service: ServiceName, Handler: WaitHandler, Reason: "service"},
		{At: w.emitted, Kind: checkers.CommandEmitted, Invocation: inv, Attempt: 1, Index: waitSleep, Entry: journal.Entry{Kind: journal.KindSleep, Duration: w.timeout}},
		{At: w.emitted + 50*time.Millisecond, Kind: checkers.TimerArmed, Invocation: inv, Index: waitSleep, Timer: event.TimerSleep, Deadline: w.deadline},
	}
	if w.pausedAt > 0 {
		evs = append(evs, checkers.Event{At: w.pausedAt, Kind: checkers.NodePaused, Node: "executor", Span: w.pauseFor})
	}
	if w.completedAt > 0 {
		evs = append(evs, checkers.Event{At: w.completedAt, Kind: checkers.CompletionAccepted, Invocation: inv, Index: waitAwakeable, Result: w.value})
	}
	if w.firedAt > 0 {
		evs = append(evs, checkers.Event{At: w.firedAt, Kind: checkers.TimerFired, Invocation: inv, Index: waitSleep, Timer: event.TimerSleep, Deadline: w.deadline})
	}
	evs = append(evs,
		checkers.Event{At: w.choseAt, Kind: checkers.CommandEmitted, Invocation: inv, Attempt: 1, Index: waitSelect, Entry: journal.Entry{Kind: journal.KindSelect, Result: jsonResult(w.choice)}},
		checkers.Event{At: w.choseAt + time.Millisecond, Kind: checkers.InvocationDone, Invocation: inv, Index: 6, Result: w.out, Journal: j},
	)
	heard := w.heard
	if heard == nil && w.out.Failure == nil {
		heard = []journal.Result{w.out}
	}
	for k, r := range heard {
		evs = append(evs, checkers.Event{At: w.choseAt + time.Duration(k)*time.Microsecond, Kind: vigiltest.FactKind, Node: "test",
			Promise: Notified.Name(), Key: protocol.AwakeableID{Invocation: inv, Index: waitAwakeable}.String(), Result: r})
	}
	// The history is in time order, as recorded.
	for i := 1; i < len(evs); i++ {
		for k := i; k > 0 && evs[k].At < evs[k-1].At; k-- {
			evs[k], evs[k-1] = evs[k-1], evs[k]
		}
	}
	return &checkers.History{Events: evs}
}

// completedWait is a wait whose awakeable was resolved a second before its deadline and won.
func completedWait() wait {
	return wait{
		c: CaseJustBefore, timeout: 10 * time.Second, emitted: time.Second, deadline: 11*time.Second + 50*time.Millisecond,
		completedAt: 10 * time.Second, value: jsonResult("v"), choice: 0, choseAt: 10*time.Second + 100*time.Millisecond,
		out: jsonResult(Completed("v")),
	}
}

// timedOutWait is a wait of case never whose timer fired at its deadline and won.
func timedOutWait() wait {
	return wait{
		c: CaseNever, timeout: 10 * time.Second, emitted: time.Second, deadline: 11*time.Second + 50*time.Millisecond,
		firedAt: 11*time.Second + 50*time.Millisecond, choice: 1, choseAt: 11*time.Second + 100*time.Millisecond,
		out: jsonResult(TimedOut),
	}
}

// TestCheckFails feeds the scenario's Check histories that break each rule, and the right ones.
func TestCheckFails(t *testing.T) {
	tests := []struct {
		name string
		w    func(w *wait) wait
		want string
	}{
		{name: "completed", w: func(*wait) wait { return completedWait() }},
		{name: "timed out", w: func(*wait) wait { return timedOutWait() }},
		{name: "late completion loses to the timer", w: func(*wait) wait {
			w := timedOutWait()
			w.c, w.completedAt, w.value = CaseLate, 12*time.Second, jsonResult("late")
			return w
		}},
		{name: "a completion just before the deadline may lose", w: func(*wait) wait {
			w := timedOutWait()
			w.c, w.completedAt, w.value = CaseJustBefore, 11*time.Second, jsonResult("v")
			return w
		}},
		{name: "a completion just after the deadline may win before the timer fired", w: func(*wait) wait {
			w := completedWait()
			w.c, w.completedAt, w.choseAt = CaseJustAfter, 11*time.Second+60*time.Millisecond, 11*time.Second+70*time.Millisecond
			return w
		}},
		{name: "wrong value", want: `want "completed: v"`, w: func(*wait) wait {
			w := completedWait()
			w.out = jsonResult(Completed("mallory"))
			return w
		}},
		{name: "completed without a completion", want: "no completion of the awakeable was ever accepted", w: func(*wait) wait {
			w := timedOutWait()
			w.choice, w.out = 0, jsonResult(Completed("v"))
			return w
		}},
		{name: "output disagrees with the journaled choice", want: `want "timed out"`, w: func(*wait) wait {
			w := timedOutWait()
			w.out = jsonResult(Completed("v"))
			return w
		}},
		{name: "timed out but the timer never fired", want: "the timer never fired", w: func(*wait) wait {
			w := timedOutWait()
			w.firedAt = 0
			return w
		}},
		{name: "timer fired before its deadline", want: "before its deadline", w: func(*wait) wait {
			w := timedOutWait()
			w.firedAt = 11 * time.Second
			return w
		}},
		{name: "chose the awakeable before its completion was accepted", want: "before its completion was accepted", w: func(*wait) wait {
			w := completedWait()
			w.choseAt = 9 * time.Second
			return w
		}},
		{name: "chose the timer before it fired", want: "before it fired", w: func(*wait) wait {
			w := timedOutWait()
			w.choseAt = 11 * time.Second
			return w
		}},
		{name: "early completion lost to the timer", want: "although the completion", w: func(*wait) wait {
			w := timedOutWait()
			w.c, w.completedAt, w.value = CaseEarly, 2*time.Second, jsonResult("early")
			return w
		}},
		{name: "early completion may lose while the executor is paused", w: func(*wait) wait {
			w := timedOutWait()
			w.c, w.completedAt, w.value = CaseEarly, 2*time.Second, jsonResult("early")
			w.pausedAt, w.pauseFor = 1500*time.Millisecond, 20*time.Second
			return w
		}},
		{name: "a pause long before does not excuse it", want: "although the completion", w: func(*wait) wait {
			w := timedOutWait()
			w.c, w.completedAt, w.value = CaseEarly, 2*time.Second, jsonResult("early")
			w.pausedAt, w.pauseFor = 100*time.Millisecond, time.Second
			return w
		}},
		{name: "deadline before the engine's clock plus the duration", want: "not the engine's clock when it armed it", w: func(*wait) wait {
			w := timedOutWait()
			w.deadline = 10 * time.Second
			w.firedAt = 10 * time.Second
			return w
		}},
		{name: "deadline after the engine's clock plus the duration", want: "not the engine's clock when it armed it", w: func(*wait) wait {
			w := timedOutWait()
			w.deadline, w.firedAt, w.choseAt = 12*time.Second, 12*time.Second, 12*time.Second+time.Millisecond
			return w
		}},
		{name: "a wait nobody completes was completed", want: "nobody completes", w: func(*wait) wait {
			w := completedWait()
			w.c = CaseNever
			return w
		}},
		{name: "two outcomes heard", want: "heard two outcomes of one wait", w: func(*wait) wait {
			w := completedWait()
			w.heard = []journal.Result{jsonResult(TimedOut), jsonResult(Completed("v"))}
			return w
		}},
		{name: "an outcome heard that is not the output", want: "the wait's output is", w: func(*wait) wait {
			w := completedWait()
			w.heard = []journal.Result{jsonResult(TimedOut)}
			return w
		}},
		{name: "failure output", want: "is not a string", w: func(*wait) wait {
			w := completedWait()
			w.out = journal.Result{Failure: &journal.Failure{Code: 500, Message: "boom"}}
			return w
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vs := (&workload{}).Check(tc.w(nil).history())
			if tc.want == "" {
				require.Empty(t, vs)
				return
			}
			require.Len(t, vs, 1, "%v", vs)
			require.Equal(t, checkerName, vs[0].Checker)
			require.Equal(t, inv, vs[0].Invocation)
			require.Contains(t, vs[0].Message, tc.want)
		})
	}
}

// TestCheckShape shows that a journal of the wrong shape is reported, not panicked on.
func TestCheckShape(t *testing.T) {
	h := completedWait().history()
	for i := range h.Events {
		if h.Events[i].Kind == checkers.InvocationDone {
			h.Events[i].Journal = h.Events[i].Journal[:3]
		}
	}
	vs := check(h)
	require.Len(t, vs, 1)
	require.Contains(t, vs[0].Message, "shape")
}

// nap builds the history of one nap that slept 5 s from 1 s, its timer fired at firedAt, its Run
// journaled woke, and it answered out.
func nap(firedAt, woke time.Duration, out string) *checkers.History {
	d := 5 * time.Second
	dl := 6 * time.Second
	j := []journal.Entry{
		{Kind: journal.KindInput, Result: jsonResult(NapRequest{Ms: d.Milliseconds()})},
		{Kind: journal.KindSleep, Duration: d, Deadline: sim.Epoch.Add(dl).UnixNano(), Completed: true},
		{Kind: journal.KindRun, Name: "woke", Result: jsonResult(woke)},
		{Kind: journal.KindOutput, Result: jsonResult(out)},
	}
	evs := []checkers.Event{
		{At: 0, Kind: checkers.InvocationAccepted, Invocation: inv, Service: ServiceName, Handler: NapHandler, Reason: "service"},
		{At: time.Second, Kind: checkers.CommandEmitted, Invocation: inv, Attempt: 1, Index: napSleep, Entry: journal.Entry{Kind: journal.KindSleep, Duration: d}},
		{At: time.Second, Kind: checkers.TimerArmed, Invocation: inv, Index: napSleep, Timer: event.TimerSleep, Deadline: dl},
	}
	if firedAt > 0 {
		evs = append(evs, checkers.Event{At: firedAt, Kind: checkers.TimerFired, Invocation: inv, Index: napSleep, Timer: event.TimerSleep, Deadline: dl})
	}
	evs = append(evs, checkers.Event{At: 7 * time.Second, Kind: checkers.InvocationDone, Invocation: inv, Index: 3, Result: jsonResult(out), Journal: j})
	return &checkers.History{Events: evs}
}

func TestCheckNap(t *testing.T) {
	d := 5 * time.Second
	require.Empty(t, check(nap(6*time.Second, 6*time.Second+time.Millisecond, Slept(d, 6*time.Second+time.Millisecond))))
	for _, tc := range []struct {
		name string
		h    *checkers.History
		want string
	}{
		{"timer fired before the deadline", nap(5*time.Second, 5500*time.Millisecond, Slept(d, 5500*time.Millisecond)), "before its deadline"},
		{"woke before the timer fired", nap(6500*time.Millisecond, 6*time.Second, Slept(d, 6*time.Second)), "before the sleep's timer fired"},
		{"timer never fired", nap(0, 6*time.Second, Slept(d, 6*time.Second)), "never fired"},
		{"wrong output", nap(6*time.Second, 6*time.Second, Slept(d, 7*time.Second)), "want"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vs := check(tc.h)
			require.NotEmpty(t, vs)
			found := false
			for _, v := range vs {
				found = found || strings.Contains(v.Message, tc.want)
			}
			require.True(t, found, "no violation says %q: %v", tc.want, vs)
		})
	}
}
