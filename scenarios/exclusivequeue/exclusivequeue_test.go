package exclusivequeue

import (
	"encoding/json"
	"slices"
	"strings"
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

func jsonResult(v any) journal.Result {
	b, _ := json.Marshal(v)
	return journal.Result{Value: b}
}

// Invocations of the story below.
var (
	hold  = protocol.InvocationID{15: 1}
	app1  = protocol.InvocationID{15: 2}
	probe = protocol.InvocationID{15: 3}
	side  = protocol.InvocationID{15: 4}
	app2  = protocol.InvocationID{15: 5}
	read  = protocol.InvocationID{15: 6}
)

const sec = time.Second

// story is one key's history: hold H (seq 1) takes acct-0 at 0.1 s; append "a" (seq 2) is
// accepted at 1 s and queues; at 2 s the worker probes with a shared read of acct-0 (seq 3) and
// an append to side-1 (seq 4), both answered by 2.3 s; append "b" (seq 5) is accepted at 3 s;
// the worker releases H at 5 s; the appends run in order; a read (seq 6) at 6 s sees [a b].
// Each field is one thing a broken history can change.
type story struct {
	probeDone, sideDone time.Duration
	app1Acquire         time.Duration
	app2Acquire         time.Duration
	app1Out, app2Out    journal.Result
	holdOut             journal.Result
	holdCompletion      *journal.Result
	readOut             journal.Result
	readAccepted        time.Duration
	readTakesLock       bool
	probeAttempts       int
	probeReached        bool
	pausedAt, pauseFor  time.Duration
	holdReleased        time.Duration
}

func defaultStory() story {
	release := jsonResult("worker-1 releases acct-0")
	return story{
		probeDone: 2200 * time.Millisecond, sideDone: 2300 * time.Millisecond,
		app1Acquire: 5200 * time.Millisecond, app2Acquire: 5400 * time.Millisecond,
		app1Out: jsonResult([]string{"a"}), app2Out: jsonResult([]string{"a", "b"}),
		holdOut:        jsonResult(HoldResult{Release: "worker-1 releases acct-0", Items: []string{}}),
		holdCompletion: &release, readOut: jsonResult([]string{"a", "b"}), readAccepted: 6 * sec,
		probeAttempts: 1, probeReached: true, holdReleased: 5100 * time.Millisecond,
	}
}

func (s story) history() *checkers.History {
	var evs []checkers.Event
	add := func(at time.Duration, e checkers.Event) {
		e.At = at
		evs = append(evs, e)
	}
	accept := func(at time.Duration, id protocol.InvocationID, seq uint64, handler, key string) {
		kind := event.HandlerExclusive
		if handler == ReadHandler {
			kind = event.HandlerShared
		}
		add(at, checkers.Event{Kind: checkers.InvocationAccepted, Invocation: id, Seq: seq, Service: ObjectName, Handler: handler, Key: key, HandlerKind: kind})
	}
	lock := func(at time.Duration, kind checkers.EventKind, id protocol.InvocationID, key string) {
		add(at, checkers.Event{Kind: kind, Invocation: id, Service: ObjectName, Key: key})
	}
	done := func(at time.Duration, id protocol.InvocationID, input any, out journal.Result) {
		add(at, checkers.Event{Kind: checkers.InvocationDone, Invocation: id, Result: out,
			Journal: []journal.Entry{{Kind: journal.KindInput, Result: jsonResult(input)}, {Kind: journal.KindOutput, Result: out}}})
	}
	accept(0, hold, 1, HoldHandler, "acct-0")
	lock(100*time.Millisecond, checkers.LockAcquired, hold, "acct-0")
	accept(sec, app1, 2, AppendHandler, "acct-0")

	add(2*sec, checkers.Event{Kind: checkers.ClientRequest, Node: "worker-1", Request: 1})
	accept(2100*time.Millisecond, probe, 3, ReadHandler, "acct-0")
	if s.readTakesLock {
		lock(2100*time.Millisecond, checkers.LockAcquired, probe, "acct-0")
	}
	for range s.probeAttempts {
		add(2150*time.Millisecond, checkers.Event{Kind: checkers.AttemptStarted, Invocation: probe, Attempt: 1})
	}
	done(s.probeDone, probe, ReadRequest{ProbeFor: hold.String()}, jsonResult([]string{}))
	if s.probeReached {
		add(s.probeDone+time.Millisecond, checkers.Event{Kind: checkers.ClientResponse, Node: "worker-1", Request: 1, Invocation: probe,
			Entry: journal.Entry{Kind: journal.KindOutput}, Status: 200, Result: jsonResult([]string{})})
	}

	add(2*sec, checkers.Event{Kind: checkers.ClientRequest, Node: "worker-1", Request: 2})
	accept(2100*time.Millisecond, side, 4, AppendHandler, "side-1")
	lock(2100*time.Millisecond, checkers.LockAcquired, side, "side-1")
	add(2150*time.Millisecond, checkers.Event{Kind: checkers.AttemptStarted, Invocation: side, Attempt: 1})
	sideOut := jsonResult([]string{"probe-side-1"})
	done(s.sideDone, side, AppendRequest{Item: "probe-side-1", ProbeFor: hold.String()}, sideOut)
	lock(s.sideDone, checkers.LockReleased, side, "side-1")
	add(s.sideDone+time.Millisecond, checkers.Event{Kind: checkers.ClientResponse, Node: "worker-1", Request: 2, Invocation: side,
		Entry: journal.Entry{Kind: journal.KindOutput}, Status: 200, Result: sideOut})

	accept(3*sec, app2, 5, AppendHandler, "acct-0")
	if s.holdCompletion != nil {
		add(5*sec, checkers.Event{Kind: checkers.CompletionAccepted, Invocation: hold, Index: holdAwakeable, Result: *s.holdCompletion})
	}
	done(s.holdReleased, hold, HoldRequest{Holder: "holder-1"}, s.holdOut)
	lock(s.holdReleased, checkers.LockReleased, hold, "acct-0")
	lock(s.app1Acquire, checkers.LockAcquired, app1, "acct-0")
	done(s.app1Acquire+50*time.Millisecond, app1, AppendRequest{Item: "a"}, s.app1Out)
	lock(s.app1Acquire+50*time.Millisecond, checkers.LockReleased, app1, "acct-0")
	lock(s.app2Acquire, checkers.LockAcquired, app2, "acct-0")
	done(s.app2Acquire+50*time.Millisecond, app2, AppendRequest{Item: "b"}, s.app2Out)
	lock(s.app2Acquire+50*time.Millisecond, checkers.LockReleased, app2, "acct-0")
	accept(s.readAccepted, read, 6, ReadHandler, "acct-0")
	done(s.readAccepted+100*time.Millisecond, read, ReadRequest{}, s.readOut)
	if s.pausedAt > 0 {
		add(s.pausedAt, checkers.Event{Kind: checkers.NodePaused, Node: "runtime", Span: s.pauseFor})
	}
	// The history is in time order, as recorded; events at one instant keep the order above.
	slices.SortStableFunc(evs, func(a, b checkers.Event) int {
		switch {
		case a.At < b.At:
			return -1
		case a.At > b.At:
			return 1
		}
		return 0
	})
	return &checkers.History{Events: evs}
}

// TestCheckFails feeds the scenario's Check histories that break each rule, and right ones.
func TestCheckFails(t *testing.T) {
	rejection := journal.Result{Failure: &journal.Failure{Code: 500, Message: "worker-1 refuses to release acct-0"}}
	tests := []struct {
		name string
		edit func(*story)
		want string
	}{
		{name: "as recorded", edit: func(*story) {}},
		{name: "rejected hold", edit: func(s *story) { s.holdCompletion, s.holdOut = &rejection, rejection }},
		{name: "a read between the appends sees the first", edit: func(s *story) {
			s.readAccepted, s.readOut = 5300*time.Millisecond, jsonResult([]string{"a"})
			s.app2Acquire = 5500 * time.Millisecond
		}},
		{name: "a read racing the second append may see either", edit: func(s *story) {
			s.readAccepted, s.readOut = 5350*time.Millisecond, jsonResult([]string{"a"})
		}},
		{name: "a slow probe is excused by a pause", edit: func(s *story) {
			s.probeDone, s.pausedAt, s.pauseFor = 5150*time.Millisecond, 2050*time.Millisecond, 10*sec
			s.app1Acquire, s.app2Acquire = 5300*time.Millisecond, 5500*time.Millisecond
		}},
		{name: "a slow probe that was retried is excused", edit: func(s *story) {
			s.probeDone, s.probeAttempts = 5150*time.Millisecond, 2
			s.app1Acquire, s.app2Acquire = 5300*time.Millisecond, 5500*time.Millisecond
		}},
		{name: "a slow probe whose answer was lost is excused", edit: func(s *story) {
			s.probeDone, s.probeReached = 5150*time.Millisecond, false
			s.app1Acquire, s.app2Acquire = 5300*time.Millisecond, 5500*time.Millisecond
		}},

		{name: "Q1 second append overtook the first", want: "was accepted before it", edit: func(s *story) {
			s.app1Acquire, s.app2Acquire = 5400*time.Millisecond, 5200*time.Millisecond
		}},
		{name: "Q1 shared read took the lock", want: "the shared read took the lock", edit: func(s *story) { s.readTakesLock = true }},
		{name: "Q2 append ran while the hold waited", want: "acquired the lock while hold", edit: func(s *story) {
			s.app1Acquire = 4 * sec
		}},
		{name: "Q2 hold finished after releasing", want: "finished without holding the lock", edit: func(s *story) {
			s.holdReleased = 5150 * time.Millisecond
			s.app1Acquire = 5120 * time.Millisecond
		}},
		{name: "Q3 append lost the first item", want: "append (seq 5) returned", edit: func(s *story) {
			s.app2Out, s.readOut = jsonResult([]string{"b"}), jsonResult([]string{"b"})
		}},
		{name: "Q3 hold saw an append queued behind it", want: "hold (seq 1) returned", edit: func(s *story) {
			s.holdOut = jsonResult(HoldResult{Release: "worker-1 releases acct-0", Items: []string{"a"}})
		}},
		{name: "Q3 hold ignored the rejection", want: "hold (seq 1) returned", edit: func(s *story) { s.holdCompletion = &rejection }},
		{name: "Q3 hold finished without a completion", want: "no completion of its awakeable was ever accepted", edit: func(s *story) {
			s.holdCompletion = nil
		}},
		{name: "Q4 read saw a list that never was", want: "read returned", edit: func(s *story) { s.readOut = jsonResult([]string{"b"}) }},
		{name: "Q4 read missed a finished append", want: "read returned", edit: func(s *story) { s.readOut = jsonResult([]string{"a"}) }},
		{name: "Q5 probe read blocked by the hold", want: "the hold blocked it", edit: func(s *story) {
			s.probeDone = 5150 * time.Millisecond
			s.app1Acquire, s.app2Acquire = 5300*time.Millisecond, 5500*time.Millisecond
		}},
		{name: "Q5 a pause long before does not excuse it", want: "the hold blocked it", edit: func(s *story) {
			s.probeDone, s.pausedAt, s.pauseFor = 5150*time.Millisecond, sec, 500*time.Millisecond
			s.app1Acquire, s.app2Acquire = 5300*time.Millisecond, 5500*time.Millisecond
		}},
		{name: "Q5 other key blocked by the hold", want: "the hold blocked it", edit: func(s *story) {
			s.sideDone = 5150 * time.Millisecond
			s.app1Acquire, s.app2Acquire = 5300*time.Millisecond, 5500*time.Millisecond
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := defaultStory()
			tc.edit(&s)
			vs := (&workload{}).Check(s.history())
			if tc.want == "" {
				require.Empty(t, vs)
				return
			}
			require.NotEmpty(t, vs)
			found := false
			for _, v := range vs {
				require.Equal(t, checkerName, v.Checker)
				found = found || strings.Contains(v.Message, tc.want)
			}
			require.True(t, found, "no violation says %q: %v", tc.want, vs)
		})
	}
}
