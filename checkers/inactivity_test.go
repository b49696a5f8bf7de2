package checkers

import (
	"testing"
	"time"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// idleStory is attempt 1 started at 1 s, sending an awakeable command at once and parking on
// it, under an inactivity bound of 2 s.
func idleStory() *timedStory {
	return declared(event.Runtime{InactivityMax: 2 * time.Second}).at(time.Second).start(1).
		link(LinkSent, "executor", protocol.Message{Kind: protocol.KindCommand, Attempt: 1, Index: 1})
}

func TestInactivitySuspendedInTimePasses(t *testing.T) {
	// It suspends 2 s after its last sign of life; a new attempt picks up the completion.
	h, hL := idleStory().at(3*time.Second).fromExecutor(protocol.KindSuspend, 1).at(time.Minute).start(2).
		at(time.Minute).fromExecutor(protocol.KindEnd, 2).at(2 * time.Minute).end()
	wantNoAttemptViolation(t, Inactivity(h, hL))
	// An ack at 2.5 s resumes the wait's clock: suspending at 4.5 s is in time.
	h, hL = idleStory().at(2500*time.Millisecond).toExecutor(protocol.KindAck, 1).
		at(4500*time.Millisecond).fromExecutor(protocol.KindSuspend, 1).at(time.Minute).end()
	wantNoAttemptViolation(t, Inactivity(h, hL))
	// The completion comes in time; the attempt ends.
	h, hL = idleStory().at(2*time.Second).toExecutor(protocol.KindCompletion, 1).fromExecutor(protocol.KindEnd, 1).at(time.Minute).end()
	wantNoAttemptViolation(t, Inactivity(h, hL))
	// A pause of the executor holds its timer: suspending 10 s late after a 10 s pause is fine.
	h, hL = idleStory().at(1500*time.Millisecond).ev(Event{Kind: NodePaused, Node: "executor", Span: 10 * time.Second}).
		at(13*time.Second).fromExecutor(protocol.KindSuspend, 1).at(time.Minute).end()
	wantNoAttemptViolation(t, Inactivity(h, hL))
	// A repeated start of an attempt that ended is dropped by the executor: it opens nothing.
	h, hL = idleStory().at(3*time.Second).fromExecutor(protocol.KindSuspend, 1).at(4*time.Second).
		link(LinkDelivered, "runtime", protocol.Message{Kind: protocol.KindStart, Attempt: 1}).at(time.Minute).end()
	wantNoAttemptViolation(t, Inactivity(h, hL))
}

func TestInactivityIdleAttemptFails(t *testing.T) {
	// Nothing reaches it and it never suspends: it held its connection to the end.
	h, hL := idleStory().at(time.Minute).end()
	wantAttemptViolation(t, Inactivity(h, hL), inactivityName, "stayed silent and unsuspended from 1s to the end of the run")
	// The completion comes 30 s later and finds it still parked.
	h, hL = idleStory().at(31*time.Second).toExecutor(protocol.KindCompletion, 1).fromExecutor(protocol.KindEnd, 1).at(time.Minute).end()
	wantAttemptViolation(t, Inactivity(h, hL), inactivityName, "to the delivery of its completion at 31s")
	// A crash of the executor finds it still parked.
	h, hL = idleStory().at(10 * time.Second).ev(Event{Kind: NodeCrashed, Node: "executor"}).at(time.Minute).end()
	wantAttemptViolation(t, Inactivity(h, hL), inactivityName, "to the executor's crash at 10s")
}

func TestInactivityDeclarationAfterOtherEvents(t *testing.T) {
	// A fact a scenario records before the declarations does not hide them.
	s := &timedStory{}
	s.ev(Event{Kind: UserFact, Promise: "early"}).ev(Event{Kind: event.RuntimeDeclared, Runtime: &event.Runtime{InactivityMax: time.Second}}).
		at(time.Second).start(1).at(time.Minute)
	wantAttemptViolation(t, Inactivity(s.end()), inactivityName, "past the declared inactivity bound 1s")
}

func TestInactivityUndeclaredIsNotJudged(t *testing.T) {
	s := &timedStory{}
	s.at(time.Second).start(1).at(time.Hour)
	wantNoAttemptViolation(t, Inactivity(s.end()))
}
