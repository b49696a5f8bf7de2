package checkers

import (
	"testing"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

func eo(inv protocol.InvocationID, msg string) wantViolation {
	return wantViolation{checker: exactlyOnceName, inv: inv, msg: msg}
}

func TestExactlyOnce(t *testing.T) {
	tests := []struct {
		name  string
		build func(b *builder)
		want  []wantViolation
	}{
		{
			name:  "clean story",
			build: func(b *builder) { b.h = cleanHistory() },
		},
		{
			name: "live completion then replay",
			build: func(b *builder) {
				b.firstAttempt(invA)
				b.start(invA, 2, secondJournal()...)
				b.observe(invA, 2, 2, journal.KindAwakeable, "yes")
			},
		},
		{
			name: "accepted recorded after the observation",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.emit(invA, 1, 1, awk())
				b.observe(invA, 1, 1, journal.KindAwakeable, "v")
				b.accept(invA, 1, "v")
			},
		},
		{
			name: "dropped completions change nothing",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.emit(invA, 1, 1, awk())
				b.accept(invA, 1, "first")
				b.drop(invA, 1, "second", "already completed")
				b.drop(invB, 7, "lost", "unknown invocation")
				b.observe(invA, 1, 1, journal.KindAwakeable, "first")
			},
		},
		{
			name: "second accepted completion of one awakeable",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.emit(invA, 1, 1, awk())
				b.accept(invA, 1, "a")
				b.accept(invA, 1, "b")
			},
			want: []wantViolation{eo(invA, "awakeable [1] accepted a second completion value(b) after value(a)")},
		},
		{
			name: "second accepted completion with the same value",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.emit(invA, 1, 1, awk())
				b.accept(invA, 1, "a")
				b.accept(invA, 1, "a")
			},
			want: []wantViolation{eo(invA, "awakeable [1] accepted a second completion value(a) after value(a)")},
		},
		{
			name: "same index of two invocations are two awakeables",
			build: func(b *builder) {
				b.accept(invA, 1, "a")
				b.accept(invB, 1, "b")
				b.observe(invA, 1, 1, journal.KindAwakeable, "a")
				b.observe(invB, 1, 1, journal.KindAwakeable, "b")
			},
		},
		{
			name: "observed value differs from the accepted one",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.emit(invA, 1, 1, awk())
				b.accept(invA, 1, "a")
				b.drop(invA, 1, "b", "already completed")
				b.observe(invA, 1, 1, journal.KindAwakeable, "b")
			},
			want: []wantViolation{eo(invA, "attempt 1 observed value(b) for awakeable [1], but the accepted completion is value(a)")},
		},
		{
			name: "replayed value differs from the accepted one",
			build: func(b *builder) {
				b.firstAttempt(invA)
				b.start(invA, 2, input("x"), run("charge", "r1"), awkDone("no"))
				b.observe(invA, 2, 2, journal.KindAwakeable, "no")
			},
			want: []wantViolation{eo(invA, "attempt 2 observed value(no) for awakeable [2], but the accepted completion is value(yes)")},
		},
		{
			name: "observed value never accepted",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.emit(invA, 1, 1, awk())
				b.drop(invA, 1, "z", "invocation finished")
				b.observe(invA, 1, 1, journal.KindAwakeable, "z")
			},
			want: []wantViolation{eo(invA, "attempt 1 observed value(z) for awakeable [1], which was never accepted")},
		},
		{
			name: "accepted for another index does not count",
			build: func(b *builder) {
				b.accept(invA, 2, "z")
				b.observe(invA, 1, 1, journal.KindAwakeable, "z")
			},
			want: []wantViolation{eo(invA, "observed value(z) for awakeable [1], which was never accepted")},
		},
		{
			name: "two outputs",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.emit(invA, 1, 1, output("o1"))
				b.done(invA, "o1")
				b.done(invB, "other")
				b.done(invA, "o2")
			},
			want: []wantViolation{eo(invA, "second output value(o2) after value(o1)")},
		},
		{
			name: "two equal outputs",
			build: func(b *builder) {
				b.done(invA, "o")
				b.done(invA, "o")
			},
			want: []wantViolation{eo(invA, "second output value(o) after value(o)")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &builder{}
			tc.build(b)
			checkViolations(t, b.h, ExactlyOnce(b.h), tc.want)
		})
	}
}

func TestExactlyOnceViolationEvents(t *testing.T) {
	b := &builder{}
	b.start(invA, 1, input("x"))
	b.emit(invA, 1, 1, awk())
	obs := b.observe(invA, 1, 1, journal.KindAwakeable, "b")
	acc := b.accept(invA, 1, "a")
	vs := ExactlyOnce(b.h)
	if len(vs) != 1 || len(vs[0].Events) != 2 || vs[0].Events[0] != obs || vs[0].Events[1] != acc {
		t.Fatalf("want one violation naming events [%d %d], got %v", obs, acc, vs)
	}
}

// A cancellation completes an awakeable with 409 Cancelled: accepted only after a cancel reached
// the runtime, read from the client's own request.
func TestExactlyOnceCancellation(t *testing.T) {
	cancelled := journal.Result{Failure: &cancelledFailure}
	accept := func(b *builder) int {
		return b.add(Event{Kind: CompletionAccepted, Node: "runtime", Invocation: invA, Index: 1, Result: cancelled})
	}
	cancel := func(b *builder, n uint64, inv protocol.InvocationID) {
		b.add(Event{Kind: ClientRequest, Node: "client-1", Request: n,
			HTTP: &event.HTTP{Method: "PATCH", Path: "/restate/invocation/" + inv.String() + "/cancel"}})
		b.delivered(n)
	}
	tests := []struct {
		name  string
		build func(b *builder)
		want  []wantViolation
	}{
		{
			name: "cancelled by its client",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.emit(invA, 1, 1, awk())
				cancel(b, 1, invA)
				accept(b)
				b.observeResult(invA, 1, 1, journal.KindAwakeable, cancelled)
			},
		},
		{
			name: "cancellation accepted with no cancel",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.emit(invA, 1, 1, awk())
				accept(b)
			},
			want: []wantViolation{eo(invA, "Restate's cancellation failure, but nothing cancelled the invocation before")},
		},
		{
			name: "cancellation accepted before the cancel arrived",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.emit(invA, 1, 1, awk())
				accept(b)
				cancel(b, 1, invA)
			},
			want: []wantViolation{eo(invA, "nothing cancelled the invocation before")},
		},
		{
			name: "a cancel reading as another method is no cancel",
			build: func(b *builder) {
				b.add(Event{Kind: ClientRequest, Node: "client-1", Request: 1,
					HTTP: &event.HTTP{Method: "GET", Path: "/restate/invocation/" + invA.String() + "/cancel"}})
				b.delivered(1)
				accept(b)
			},
			want: []wantViolation{eo(invA, "nothing cancelled the invocation before")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &builder{}
			tc.build(b)
			checkViolations(t, b.h, ExactlyOnce(b.h), tc.want)
		})
	}
}
