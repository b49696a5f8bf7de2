package checkers

import (
	"testing"

	"github.com/vigilsim/vigil/runtime/protocol"
)

// gatedStart is the runtime's gated Start of attempt 1, sent before its sync and taken by the
// executor.
func (s *linkStory) gatedStart() *linkStory {
	m := protocol.Message{Kind: protocol.KindStart, Attempt: 1, Gated: true}
	return s.link(LinkSent, "runtime", m).link(LinkDelivered, "runtime", m).ev(Event{Kind: AttemptStarted, Attempt: 1})
}

// synced is the sync of the gated start's batch: its acceptance is recorded, and its Durable
// leaves in the release and reaches the executor.
func (s *linkStory) synced() *linkStory {
	m := protocol.Message{Kind: protocol.KindDurable, Attempt: 1}
	return s.ev(Event{Kind: InvocationAccepted}).released().link(LinkSent, "runtime", m).link(LinkDelivered, "runtime", m)
}

func runAt(attempt, index uint32) Event {
	return Event{Kind: RunExecuted, Node: "executor", Attempt: attempt, Index: index}
}

func TestDurableStart(t *testing.T) {
	tests := []struct {
		name  string
		story func() *linkStory
		want  string // "" for no violation
	}{
		{"run after the durable", func() *linkStory {
			return (&linkStory{}).gatedStart().synced().ev(runAt(1, 1))
		}, ""},
		{"durable before the start (reordered)", func() *linkStory {
			s := &linkStory{}
			m := protocol.Message{Kind: protocol.KindDurable, Attempt: 1}
			s.ev(Event{Kind: InvocationAccepted}).link(LinkSent, "runtime", m).link(LinkDelivered, "runtime", m)
			start := protocol.Message{Kind: protocol.KindStart, Attempt: 1, Gated: true}
			return s.link(LinkDelivered, "runtime", start).ev(runAt(1, 1))
		}, ""},
		{"run before the durable", func() *linkStory {
			return (&linkStory{}).gatedStart().ev(runAt(1, 1)).synced()
		}, "before its start was durable"},
		{"a repeated start after the durable", func() *linkStory {
			s := (&linkStory{}).gatedStart().synced()
			return s.link(LinkDelivered, "runtime", protocol.Message{Kind: protocol.KindStart, Attempt: 1, Gated: true}).ev(runAt(1, 1))
		}, ""},
		{"durable in no release since the start, though the acceptance is recorded", func() *linkStory {
			m := protocol.Message{Kind: protocol.KindDurable, Attempt: 1}
			return (&linkStory{}).gatedStart().ev(Event{Kind: InvocationAccepted}).
				link(LinkSent, "runtime", m).link(LinkDelivered, "runtime", m).ev(runAt(1, 1))
		}, "in no release after the start left"},
		{"durable before the acceptance", func() *linkStory {
			m := protocol.Message{Kind: protocol.KindDurable, Attempt: 1}
			return (&linkStory{}).gatedStart().link(LinkSent, "runtime", m).link(LinkDelivered, "runtime", m).
				ev(runAt(1, 1)).ev(Event{Kind: InvocationAccepted})
		}, "before the invocation's acceptance"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.story()
			vs := DurableStart(s.h, s.l)
			if tc.want == "" {
				wantNoAttemptViolation(t, vs)
				return
			}
			wantAttemptViolation(t, vs, durableStartName, tc.want)
		})
	}
}

// A gated start's cause, the acceptance, is recorded after it; it causes no later start.
func TestCausalityGatedStart(t *testing.T) {
	s := (&linkStory{}).gatedStart().synced()
	wantNoAttemptViolation(t, Causality(s.h, s.l))

	// The acceptance was the gated start's cause, not the next one's.
	s.start(2)
	wantAttemptViolation(t, Causality(s.h, s.l), causalityName, "attempt 2 started without a cause")

	// A gated start whose acceptance never comes, though the runtime went on.
	s = (&linkStory{}).gatedStart()
	wantAttemptViolation(t, Causality(s.h, s.l), causalityName, "gated, before its sync")

	// A crash may lose the acceptance with the batch: the start is excused.
	s = (&linkStory{}).gatedStart().ev(Event{Kind: NodeCrashed, Node: "runtime"})
	wantNoAttemptViolation(t, Causality(s.h, s.l))
}
