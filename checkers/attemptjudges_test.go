package checkers

import (
	"reflect"
	"testing"
	"time"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// TestAttemptJudgesReused holds AttemptJudges, whose state is kept from one history to the
// next, to Attempts on fresh state: every history judged in turn by one AttemptJudges, twice
// over, gives exactly Attempts' violations, so nothing of one history is seen by the next.
func TestAttemptJudgesReused(t *testing.T) {
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
	stories := []*linkStory{healthy, lostWakeUp, spurious, crashes, retriedEarly, gated}

	var a AttemptJudges
	found := 0
	for range 2 {
		for n, s := range stories {
			want := Attempts(s.h, s.l)
			found += len(want)
			if got := a.Judge(&s.h, s.l); !reflect.DeepEqual(got, want) {
				t.Fatalf("story %d: reused judges found %v, fresh ones %v", n, got, want)
			}
		}
	}
	if found == 0 {
		t.Fatal("no story broke anything: the test proves nothing")
	}
}
