package checkers

import (
	"strings"
	"testing"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// linkStory builds a history and its link log side by side, in the order things happened.
type linkStory struct {
	h       History
	l       Link
	release uint64
}

var storyInv = protocol.InvocationID{15: 1}

func (s *linkStory) ev(e Event) *linkStory {
	if e.Invocation.IsZero() && e.Kind != NodeCrashed && e.Kind != NodeRestarted {
		e.Invocation = storyInv
	}
	s.h.Events = append(s.h.Events, e)
	return s
}

func (s *linkStory) link(kind LinkEventKind, from string, m protocol.Message) *linkStory {
	m.Invocation = storyInv
	le := LinkEvent{After: len(s.h.Events), Kind: kind, From: from, Message: LinkMessageOf(m)}
	if kind == LinkSent && from == "runtime" {
		le.Release = s.release
	}
	s.l = append(s.l, le)
	return s
}

// released starts a release of the runtime node.
func (s *linkStory) released() *linkStory {
	s.release++
	s.l = append(s.l, LinkEvent{After: len(s.h.Events), Kind: LinkReleased, From: "runtime", Release: s.release})
	return s
}

func (s *linkStory) start(attempt uint32) *linkStory {
	return s.released().link(LinkSent, "runtime", protocol.Message{Kind: protocol.KindStart, Attempt: attempt}).
		link(LinkDelivered, "runtime", protocol.Message{Kind: protocol.KindStart, Attempt: attempt}).
		ev(Event{Kind: AttemptStarted, Attempt: attempt})
}

// suspend is attempt's Suspend, sent and taken by the runtime.
func (s *linkStory) suspend(attempt uint32, waiting ...uint32) *linkStory {
	m := protocol.Message{Kind: protocol.KindSuspend, Attempt: attempt, WaitingOn: waiting}
	return s.ev(Event{Kind: AttemptEnded, Attempt: attempt, End: event.EndSuspended}).
		link(LinkSent, "executor", m).link(LinkDelivered, "executor", m)
}

func awakeableAt(attempt, index uint32) Event {
	return Event{Kind: CommandEmitted, Attempt: attempt, Index: index, Entry: journal.Entry{Kind: journal.KindAwakeable}}
}

func completed(index uint32) Event {
	return Event{Kind: CompletionAccepted, Index: index, Result: journal.Result{Value: []byte(`"ok"`)}}
}

func wantAttemptViolation(t *testing.T, vs []Violation, checker, substring string) {
	t.Helper()
	for _, v := range vs {
		if v.Checker == checker && strings.Contains(v.Message, substring) {
			return
		}
	}
	t.Fatalf("want a %s violation saying %q, got %v", checker, substring, vs)
}

func wantNoAttemptViolation(t *testing.T, vs []Violation) {
	t.Helper()
	if len(vs) > 0 {
		t.Fatalf("want no violation, got %v", vs)
	}
}

// A completion accepted while the attempt waits on it goes out with the release that makes it
// durable.
func TestProgressCompletionSent(t *testing.T) {
	s := (&linkStory{}).ev(Event{Kind: InvocationAccepted}).start(1).ev(awakeableAt(1, 1)).ev(completed(1)).released().
		link(LinkSent, "runtime", protocol.Message{Kind: protocol.KindCompletion, Attempt: 1, Index: 1}).
		link(LinkDelivered, "runtime", protocol.Message{Kind: protocol.KindCompletion, Attempt: 1, Index: 1}).
		ev(Event{Kind: AttemptEnded, Attempt: 1, End: event.EndDone})
	wantNoAttemptViolation(t, Progress(s.h, s.l))
	wantNoAttemptViolation(t, Causality(s.h, s.l))
}

// The lost wake-up the inactivity timeout hides: the engine never sends the completion, the
// attempt suspends on the entry, the engine sees it complete and starts a new attempt, and the
// invocation finishes. Only Progress sees it.
func TestProgressLostWakeUpHiddenBySuspension(t *testing.T) {
	s := (&linkStory{}).ev(Event{Kind: InvocationAccepted}).start(1).ev(awakeableAt(1, 1)).ev(completed(1)).released().
		link(LinkSent, "runtime", protocol.Message{Kind: protocol.KindAck, Attempt: 1, Index: 0}).
		suspend(1, 1).start(2).ev(Event{Kind: AttemptEnded, Attempt: 2, End: event.EndDone})
	wantAttemptViolation(t, Progress(s.h, s.l), progressName, "lost wake-up")
	wantNoAttemptViolation(t, Causality(s.h, s.l))
}

// A crash of the runtime between the durable fact and its release excuses the missing send:
// the recovered engine starts a new attempt with the entry completed in its journal.
func TestProgressCrashExcuses(t *testing.T) {
	s := (&linkStory{}).ev(Event{Kind: InvocationAccepted}).start(1).ev(awakeableAt(1, 1)).ev(completed(1)).
		ev(Event{Kind: NodeCrashed, Node: "runtime"}).ev(Event{Kind: NodeRestarted, Node: "runtime"}).start(2)
	wantNoAttemptViolation(t, Progress(s.h, s.l))
	wantNoAttemptViolation(t, Causality(s.h, s.l))
}

// An attempt the engine saw suspend is owed nothing: its completion wakes the invocation with a
// new attempt instead.
func TestProgressSuspendedAttemptOwedNothing(t *testing.T) {
	s := (&linkStory{}).ev(Event{Kind: InvocationAccepted}).start(1).ev(awakeableAt(1, 1)).suspend(1, 1).
		ev(completed(1)).start(2)
	wantNoAttemptViolation(t, Progress(s.h, s.l))
	wantNoAttemptViolation(t, Causality(s.h, s.l))
}

// The executor's half: a completion delivered to the live attempt that waits on it must not be
// followed by a suspension on that very index.
func TestProgressExecutorIgnoresCompletion(t *testing.T) {
	s := (&linkStory{}).ev(Event{Kind: InvocationAccepted}).start(1).ev(awakeableAt(1, 1)).ev(completed(1)).released().
		link(LinkSent, "runtime", protocol.Message{Kind: protocol.KindCompletion, Attempt: 1, Index: 1}).
		link(LinkDelivered, "runtime", protocol.Message{Kind: protocol.KindCompletion, Attempt: 1, Index: 1}).
		suspend(1, 1)
	wantAttemptViolation(t, Progress(s.h, s.l), progressName, "had reached it")
}

// The network delivers a start after the completion the engine sent behind it: the executor
// must keep the completion for the attempt, which then never suspends waiting on that entry.
// An executor crash in between loses what it kept, and excuses it.
func TestProgressCompletionBeforeItsStart(t *testing.T) {
	comp := protocol.Message{Kind: protocol.KindCompletion, Attempt: 2, Index: 1}
	startOfTwo := func(s *linkStory) *linkStory {
		return s.link(LinkDelivered, "runtime", protocol.Message{Kind: protocol.KindStart, Attempt: 2}).
			ev(Event{Kind: AttemptStarted, Attempt: 2})
	}
	story := func(crash bool) *linkStory {
		s := (&linkStory{}).ev(Event{Kind: InvocationAccepted}).start(1).ev(awakeableAt(1, 1)).suspend(1, 1).
			ev(completed(1)).released().
			link(LinkSent, "runtime", protocol.Message{Kind: protocol.KindStart, Attempt: 2}).
			link(LinkSent, "runtime", comp).link(LinkDelivered, "runtime", comp)
		if crash {
			s.ev(Event{Kind: NodeCrashed, Node: "executor"}).ev(Event{Kind: NodeRestarted, Node: "executor"})
		}
		return startOfTwo(s).suspend(2, 1)
	}
	wantAttemptViolation(t, Progress(story(false).h, story(false).l), progressName, "had reached it")
	wantNoAttemptViolation(t, Progress(story(true).h, story(true).l))
}

// A suspended invocation woken by a completion of an entry it does not wait on.
func TestCausalitySpuriousWakeUp(t *testing.T) {
	s := (&linkStory{}).ev(Event{Kind: InvocationAccepted}).start(1).ev(awakeableAt(1, 1)).ev(awakeableAt(1, 2)).
		suspend(1, 1).ev(completed(2)).start(2)
	wantAttemptViolation(t, Causality(s.h, s.l), causalityName, "spurious wake-up")
}

// Every other cause the history can show: acceptance, a lock handed over, a retry timer, a
// crossing suspension, a recovery.
func TestCausalityCauses(t *testing.T) {
	s := (&linkStory{}).ev(Event{Kind: InvocationAccepted}).ev(Event{Kind: LockAcquired}).start(1).
		ev(awakeableAt(1, 1)).ev(completed(1)).suspend(1, 1).start(2). // crossed on the wire
		ev(Event{Kind: TimerArmed, Timer: event.TimerRetry}).ev(Event{Kind: TimerFired, Timer: event.TimerRetry}).start(3).
		ev(Event{Kind: NodeCrashed, Node: "runtime"}).ev(Event{Kind: NodeRestarted, Node: "runtime"}).start(4)
	wantNoAttemptViolation(t, Causality(s.h, s.l))
	// And a start with none of them.
	s.start(5)
	wantAttemptViolation(t, Causality(s.h, s.l), causalityName, "without a cause")
}

// A waiter on a durable promise is woken by the promise's completion.
func TestCausalityPromiseWaiter(t *testing.T) {
	s := (&linkStory{}).ev(Event{Kind: InvocationAccepted, Service: "W", Key: "k"}).start(1).
		ev(Event{Kind: CommandEmitted, Attempt: 1, Index: 1, Entry: journal.Entry{Kind: journal.KindGetPromise, Name: "p"}}).
		suspend(1, 1).ev(Event{Kind: PromiseCompleted, Service: "W", Key: "k", Promise: "p"}).start(2)
	wantNoAttemptViolation(t, Causality(s.h, s.l))
}

// A gated attempt journals its get-promise before the sync that records its acceptance, and so
// names the promise's workflow: the waiter is still woken by that promise's completion.
func TestCausalityGatedPromiseWaiter(t *testing.T) {
	durable := protocol.Message{Kind: protocol.KindDurable, Attempt: 1}
	s := (&linkStory{}).gatedStart().
		ev(Event{Kind: CommandEmitted, Attempt: 1, Index: 1, Entry: journal.Entry{Kind: journal.KindGetPromise, Name: "p"}}).
		ev(Event{Kind: InvocationAccepted, Service: "W", Key: "k"}).released().
		link(LinkSent, "runtime", durable).link(LinkDelivered, "runtime", durable).
		suspend(1, 1).ev(Event{Kind: PromiseCompleted, Service: "W", Key: "k", Promise: "p"}).start(2)
	wantNoAttemptViolation(t, Causality(s.h, s.l))

	// Another workflow's promise of that name wakes nothing.
	s = (&linkStory{}).gatedStart().
		ev(Event{Kind: CommandEmitted, Attempt: 1, Index: 1, Entry: journal.Entry{Kind: journal.KindGetPromise, Name: "p"}}).
		ev(Event{Kind: InvocationAccepted, Service: "W", Key: "k"}).released().
		link(LinkSent, "runtime", durable).link(LinkDelivered, "runtime", durable).
		suspend(1, 1).ev(Event{Kind: PromiseCompleted, Service: "W", Key: "other", Promise: "p"}).start(2)
	wantAttemptViolation(t, Causality(s.h, s.l), causalityName, "attempt 2 started without a cause")
}
