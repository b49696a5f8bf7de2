package checkers

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"pgregory.net/rapid"
)

// TestAttemptJudgeKinds holds each attempt judge's kinds to its event method, and its links to
// its link method: at every point of every story, an event of a kind outside the judge's set,
// whatever its node, timer or purge, or a link event outside its links, whatever its node or
// message, leaves the judge exactly as it was, so a walk that skips it changes nothing. (With
// NodeCrashed taken out of progressKinds, or KindEnd out of retryLinks' deliveries, it fails.)
func TestAttemptJudgeKinds(t *testing.T) {
	judges := map[string]func(h *History) attemptJudge{
		"progress":      func(h *History) attemptJudge { return newProgress(*h) },
		"causality":     func(*History) attemptJudge { return newCausality() },
		"retry-timing":  func(h *History) attemptJudge { return newRetryTiming(h) },
		"durable-start": func(*History) attemptJudge { return newDurableStart() },
		"inactivity": func(h *History) attemptJudge {
			if c := newInactivity(h); c != nil {
				return c
			}
			return nil
		},
	}
	var extras []Event
	for k := range 256 {
		for _, node := range []string{"runtime", "executor"} {
			for _, timer := range []event.TimerKind{event.TimerSleep, event.TimerRetry} {
				extras = append(extras, Event{Kind: event.Kind(k), Node: node, Timer: timer, Purge: event.PurgeWorkflow,
					Invocation: storyInv, Attempt: 1, Index: 1, At: time.Hour, Span: time.Second,
					Journal: []journal.Entry{{Kind: journal.KindInput}, {Kind: journal.KindRun}}, Entry: journal.Entry{Kind: journal.KindRun}})
			}
		}
	}
	var linkExtras []LinkEvent
	for k := range int(LinkReleased) + 3 {
		for _, from := range []string{"runtime", "executor"} {
			for m := range 12 { // every protocol.Kind, and one past them
				for _, gated := range []bool{false, true} {
					linkExtras = append(linkExtras, LinkEvent{Kind: LinkEventKind(k), From: from, Release: 1, At: time.Hour,
						Message: LinkMessage{Kind: protocol.Kind(m), Invocation: storyInv, Attempt: 1, Index: 1, WaitingOn: []uint32{1}, Gated: gated}})
				}
			}
		}
	}
	checked := 0
	for name, make := range judges {
		for n, s := range attemptStories() {
			// steps is how many events and link events the walk tells before the extra event.
			total := len(s.h.Events) + len(s.l)
			for steps := 0; steps <= total; steps++ {
				a, b := make(&s.h), make(&s.h)
				if a == nil {
					continue
				}
				feed(s, steps, a)
				only := a.kinds()
				for _, x := range extras {
					if only.has(x.Kind) {
						continue
					}
					nums := feed(s, steps, b)
					b.event(len(s.h.Events), &x, nums.of(x.Invocation))
					if !reflect.DeepEqual(a, b) {
						t.Fatalf("%s, story %d after %d steps: an event of kind %s on %q, outside its kinds, changed it", name, n, steps, x.Kind, x.Node)
					}
					checked++
					b = make(&s.h)
				}
				links := a.links()
				for _, le := range linkExtras {
					if links.has(linkClassOf(&le, le.From == runtimeNode)) {
						continue
					}
					le.After = len(s.h.Events)
					nums := feed(s, steps, b)
					b.link(len(s.l), &le, nums.of(le.Message.Invocation))
					if !reflect.DeepEqual(a, b) {
						t.Fatalf("%s, story %d after %d steps: a link event %d from %s of a %s, outside its links, changed it", name, n, steps, le.Kind, le.From, le.Message.Kind)
					}
					checked++
					b = make(&s.h)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("nothing checked")
	}
}

// TestAttemptsIsEachJudge holds Attempts, which tells each judge what its readers mask says, to
// the judges run one by one, each told what its own kinds and links say: on every story, the
// same violations in the same order.
func TestAttemptsIsEachJudge(t *testing.T) {
	found := 0
	for n, s := range attemptStories() {
		var want []Violation
		for _, check := range []func(History, Link) []Violation{Progress, Causality, RetryTiming, DurableStart, Inactivity} {
			want = append(want, check(s.h, s.l)...)
		}
		found += len(want)
		if got := Attempts(s.h, s.l); !reflect.DeepEqual(got, want) {
			t.Fatalf("story %d: Attempts found %v, the judges one by one %v", n, got, want)
		}
	}
	if found == 0 {
		t.Fatal("no story broke anything: the test proves nothing")
	}
}

// feed tells j the first steps events and link events of s, in walk's order, those of its
// kinds and links only (as judgeAttempts does), and returns the invocations' numbers it gave.
func feed(s *linkStory, steps int, j attemptJudge) *invNumbers {
	told := 0
	var nums invNumbers
	walk(s.h, s.l, j.kinds(), walkFuncs{func(i int, e *Event) {
		if told < steps {
			j.event(i, e, nums.of(e.Invocation))
		}
		told++
	}, func(k int, le *LinkEvent) {
		if told < steps && j.links().has(linkClassOf(le, le.From == runtimeNode)) {
			j.link(k, le, nums.of(le.Message.Invocation))
		}
		told++
	}})
	return &nums
}

// attemptStories are histories with their link logs that exercise every attempt judge: healthy
// ones, and ones each judge finds fault with.
func attemptStories() []*linkStory {
	declared := Event{Kind: RuntimeDeclared, Runtime: &event.Runtime{InactivityMax: time.Second}}
	healthy := (&linkStory{}).ev(declared).ev(Event{Kind: InvocationAccepted}).start(1).ev(awakeableAt(1, 1)).ev(completed(1)).released().
		link(LinkSent, "runtime", protocol.Message{Kind: protocol.KindCompletion, Attempt: 1, Index: 1}).
		link(LinkDelivered, "runtime", protocol.Message{Kind: protocol.KindCompletion, Attempt: 1, Index: 1}).
		ev(Event{Kind: AttemptEnded, Attempt: 1, End: event.EndDone})
	lostWakeUp := (&linkStory{}).ev(Event{Kind: InvocationAccepted}).start(1).ev(awakeableAt(1, 1)).ev(completed(1)).released().
		link(LinkSent, "runtime", protocol.Message{Kind: protocol.KindAck, Attempt: 1, Index: 0}).
		suspend(1, 1).start(2).ev(Event{Kind: AttemptEnded, Attempt: 2, End: event.EndDone})
	spurious := (&linkStory{}).ev(declared).ev(Event{Kind: InvocationAccepted}).start(1).ev(awakeableAt(1, 1)).ev(awakeableAt(1, 2)).
		suspend(1, 1).ev(completed(2)).start(2)
	crashes := (&linkStory{}).ev(Event{Kind: InvocationAccepted}).ev(Event{Kind: LockAcquired}).start(1).
		ev(awakeableAt(1, 1)).ev(completed(1)).suspend(1, 1).start(2).
		ev(Event{Kind: TimerArmed, Timer: event.TimerRetry}).ev(Event{Kind: TimerFired, Timer: event.TimerRetry}).start(3).
		ev(Event{Kind: NodeCrashed, Node: "runtime"}).ev(Event{Kind: NodeRestarted, Node: "runtime"}).start(4).start(5)
	failed := protocol.Message{Kind: protocol.KindError, Attempt: 1}
	retriedEarly := (&linkStory{}).ev(declared).ev(Event{Kind: InvocationAccepted}).start(1).
		link(LinkSent, "executor", failed).link(LinkDelivered, "executor", failed).start(2)
	gated := (&linkStory{}).gatedStart().ev(Event{Kind: RunExecuted, Node: "executor", Attempt: 1, Index: 1})
	return []*linkStory{healthy, lostWakeUp, spurious, crashes, retriedEarly, gated}
}

// TestWalkOrder holds walk to its rule, stated here as it was first written (before history
// event i, every link event not told yet whose After is at most i, stopping at the first that
// is not), over random histories and link logs whose Afters go back and forth and past either
// end, with a random filter of kinds: walk tells the same events and link events in the same
// order. It fails with a link event told after the history event at its After.
func TestWalkOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var h History
		for range rapid.IntRange(0, 12).Draw(t, "events") {
			h.Events = append(h.Events, Event{Kind: EventKind(rapid.IntRange(1, 4).Draw(t, "kind"))})
		}
		var l Link
		for range rapid.IntRange(0, 12).Draw(t, "links") {
			l = append(l, LinkEvent{After: rapid.IntRange(-1, len(h.Events)+2).Draw(t, "after")})
		}
		only := kinds(EventKind(rapid.IntRange(1, 4).Draw(t, "only")), EventKind(rapid.IntRange(1, 4).Draw(t, "only")))
		var want []int // history events as i, link events as -1-j
		j := 0
		for i := range h.Events {
			for ; j < len(l) && l[j].After <= i; j++ {
				want = append(want, -1-j)
			}
			if only.has(h.Events[i].Kind) {
				want = append(want, i)
			}
		}
		for ; j < len(l); j++ {
			want = append(want, -1-j)
		}
		var got []int
		walk(h, l, &only, walkFuncs{func(i int, e *Event) {
			if e != &h.Events[i] {
				t.Fatalf("event %d told with another event's address", i)
			}
			got = append(got, i)
		}, func(j int, le *LinkEvent) {
			if le != &l[j] {
				t.Fatalf("link event %d told with another's address", j)
			}
			got = append(got, -1-j)
		}})
		if !slices.Equal(got, want) {
			t.Fatalf("walk told %v, want %v (history events as i, link events as -1-j)", got, want)
		}
	})
}
