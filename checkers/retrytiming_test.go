package checkers

import (
	"testing"
	"time"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// timedStory builds a history and its link log side by side with virtual times, for the checkers
// that judge timing against the declared runtime configuration.
type timedStory struct {
	h   History
	l   Link
	now time.Duration
}

// declared starts the story with a RuntimeDeclared of r.
func declared(r event.Runtime) *timedStory {
	s := &timedStory{}
	return s.ev(Event{Kind: event.RuntimeDeclared, Runtime: &r})
}

func (s *timedStory) at(t time.Duration) *timedStory {
	s.now = t
	return s
}

func (s *timedStory) ev(e Event) *timedStory {
	e.At = s.now
	s.h.Events = append(s.h.Events, e)
	return s
}

func (s *timedStory) link(kind LinkEventKind, from string, m protocol.Message) *timedStory {
	if m.Invocation.IsZero() {
		m.Invocation = storyInv
	}
	s.l = append(s.l, LinkEvent{After: len(s.h.Events), At: s.now, Kind: kind, From: from, Message: LinkMessageOf(m)})
	return s
}

// start is the runtime's Start of attempt, sent and delivered to the executor at once.
func (s *timedStory) start(attempt uint32) *timedStory {
	m := protocol.Message{Kind: protocol.KindStart, Attempt: attempt}
	return s.link(LinkSent, "runtime", m).link(LinkDelivered, "runtime", m).
		ev(Event{Kind: AttemptStarted, Node: "executor", Invocation: storyInv, Attempt: attempt})
}

// fromExecutor is a message of attempt's, sent by the executor and taken by the runtime.
func (s *timedStory) fromExecutor(kind protocol.Kind, attempt uint32) *timedStory {
	m := protocol.Message{Kind: kind, Attempt: attempt}
	return s.link(LinkSent, "executor", m).link(LinkDelivered, "executor", m)
}

// toExecutor is a message to attempt, sent by the runtime and delivered to the executor.
func (s *timedStory) toExecutor(kind protocol.Kind, attempt uint32) *timedStory {
	m := protocol.Message{Kind: kind, Attempt: attempt, Index: 1}
	return s.link(LinkSent, "runtime", m).link(LinkDelivered, "runtime", m)
}

// end closes the story with RunEnded and returns the history and its link log.
func (s *timedStory) end() (History, Link) {
	s.ev(Event{Kind: RunEnded})
	return s.h, s.l
}

func TestDeclaredRetryDefaults(t *testing.T) {
	p := DeclaredRetry(&History{})
	if p != (RetryPolicy{500 * time.Millisecond, 2, time.Minute, 70}) {
		t.Fatalf("defaults = %+v", p)
	}
	h := declared(event.Runtime{RetryInitialInterval: time.Second, RetryFactor: 0.5}).h
	if p := DeclaredRetry(&h); p.InitialInterval != time.Second || p.Factor != 2 || p.MaxInterval != time.Minute {
		t.Fatalf("declared = %+v", p)
	}
	for failures, want := range map[int]time.Duration{1: 500 * time.Millisecond, 2: time.Second, 3: 2 * time.Second, 8: time.Minute, 70: time.Minute} {
		if got := DeclaredRetry(&History{}).Backoff(failures); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", failures, got, want)
		}
	}
}

// retryStory is attempt 1 failing at 1 s and attempt 2 starting at second, then failing at
// third and attempt 3 starting at fourth (zero: never), under policy r.
func retryStory(r event.Runtime, second, third, fourth time.Duration) (History, Link) {
	s := declared(r).at(time.Second/2).start(1).at(time.Second).fromExecutor(protocol.KindError, 1).
		at(second).start(2).at(third).fromExecutor(protocol.KindError, 2)
	if fourth > 0 {
		s.at(fourth).start(3)
	}
	return s.at(fourth + 90*time.Second).end()
}

func TestRetryTimingCorrectBackoffPasses(t *testing.T) {
	// The default policy: 500 ms after the first failure, 1 s after the second.
	h, hL := retryStory(event.Runtime{}, 1500*time.Millisecond, 2*time.Second, 3*time.Second)
	wantNoAttemptViolation(t, RetryTiming(h, hL))
	// A declared initial interval of 2 s, honoured.
	h, hL = retryStory(event.Runtime{RetryInitialInterval: 2 * time.Second}, 3*time.Second, 4*time.Second, 8*time.Second)
	wantNoAttemptViolation(t, RetryTiming(h, hL))
}

func TestRetryTimingEarlyRetryFails(t *testing.T) {
	h, hL := retryStory(event.Runtime{}, 1010*time.Millisecond, 2*time.Second, 3*time.Second)
	wantAttemptViolation(t, RetryTiming(h, hL), retryTimingName, "before the declared backoff of 500ms after failure 1")
	// The second retry waited only the first backoff: the second failure's is a second.
	h, hL = retryStory(event.Runtime{}, 1500*time.Millisecond, 2*time.Second, 2600*time.Millisecond)
	wantAttemptViolation(t, RetryTiming(h, hL), retryTimingName, "before the declared backoff of 1s after failure 2")
	// A declared policy is what counts, not the defaults.
	h, hL = retryStory(event.Runtime{RetryInitialInterval: 2 * time.Second}, 1500*time.Millisecond, 2*time.Second, 8*time.Second)
	wantAttemptViolation(t, RetryTiming(h, hL), retryTimingName, "before the declared backoff of 2s")
}

func TestRetryTimingClockStepExcusesEarliness(t *testing.T) {
	// The runtime's clock jumps 400 ms ahead between the failure and the retry: its timer fires
	// 400 ms sooner in true time, which is no violation.
	s := declared(event.Runtime{}).at(time.Second/2).start(1).at(time.Second).fromExecutor(protocol.KindError, 1).
		at(1100 * time.Millisecond).ev(Event{Kind: ClockStepped, Node: "runtime", Span: 400 * time.Millisecond}).
		at(1100 * time.Millisecond).start(2)
	wantNoAttemptViolation(t, RetryTiming(s.end()))
}

func TestRetryTimingMissingRetryFails(t *testing.T) {
	h, hL := retryStory(event.Runtime{}, 1500*time.Millisecond, 2*time.Second, 0)
	wantAttemptViolation(t, RetryTiming(h, hL), retryTimingName, "no later attempt started by the end of the run")
	// A late retry.
	h, hL = retryStory(event.Runtime{}, 1500*time.Millisecond, 2*time.Second, 40*time.Second)
	wantAttemptViolation(t, RetryTiming(h, hL), retryTimingName, "no later attempt started by the start of attempt 3")
}

func TestRetryTimingExcusedCases(t *testing.T) {
	// The invocation gave up (its output), the runtime crashed (recovery restarts it at once),
	// the runtime was paused: no retry owed, none judged.
	done, doneL := declared(event.Runtime{}).at(time.Second/2).start(1).at(time.Second).fromExecutor(protocol.KindError, 1).
		at(1100 * time.Millisecond).ev(Event{Kind: InvocationDone, Node: "runtime", Invocation: storyInv}).at(5 * time.Minute).end()
	wantNoAttemptViolation(t, RetryTiming(done, doneL))
	crash, crashL := declared(event.Runtime{}).at(time.Second/2).start(1).at(time.Second).fromExecutor(protocol.KindError, 1).
		at(1100 * time.Millisecond).ev(Event{Kind: NodeCrashed, Node: "runtime"}).
		at(1200 * time.Millisecond).ev(Event{Kind: NodeRestarted, Node: "runtime"}).start(2).end()
	wantNoAttemptViolation(t, RetryTiming(crash, crashL))
	paused, pausedL := declared(event.Runtime{}).at(time.Second/2).start(1).at(time.Second).fromExecutor(protocol.KindError, 1).
		at(1100 * time.Millisecond).ev(Event{Kind: NodePaused, Node: "runtime", Span: time.Minute}).at(62 * time.Second).start(2).end()
	wantNoAttemptViolation(t, RetryTiming(paused, pausedL))
	// An Error that comes after the invocation finished (its connection breaking) fails nothing.
	after, afterL := declared(event.Runtime{}).at(time.Second/2).start(1).
		at(time.Second).ev(Event{Kind: InvocationDone, Node: "runtime", Invocation: storyInv}).
		at(2*time.Second).fromExecutor(protocol.KindError, 1).at(5 * time.Minute).end()
	wantNoAttemptViolation(t, RetryTiming(after, afterL))
	// A suspension's resume is no retry, however soon it comes.
	resume, resumeL := declared(event.Runtime{}).at(time.Second/2).start(1).at(time.Second).fromExecutor(protocol.KindSuspend, 1).
		fromExecutor(protocol.KindError, 1).at(1001 * time.Millisecond).start(2).end()
	wantNoAttemptViolation(t, RetryTiming(resume, resumeL))
}
