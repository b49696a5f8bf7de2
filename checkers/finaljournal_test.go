package checkers

import (
	"testing"

	"github.com/vigilsim/vigil/runtime/journal"
)

func (b *builder) doneWith(inv [16]byte, v string, j ...journal.Entry) int {
	return b.add(Event{Kind: InvocationDone, Node: "runtime", Invocation: inv, Result: val(v), Journal: j})
}

func TestFinalJournal(t *testing.T) {
	finalOf := func() []journal.Entry {
		return append(secondJournal(), output("ok"))
	}
	tests := []struct {
		name  string
		build func(b *builder)
		want  []wantViolation
	}{
		{
			name: "clean: first attempt, replay, done",
			build: func(b *builder) {
				b.firstAttempt(invA)
				b.start(invA, 2, secondJournal()...)
				b.observe(invA, 2, 1, journal.KindRun, "r1")
				b.observe(invA, 2, 2, journal.KindAwakeable, "yes")
				b.doneWith(invA, "ok", finalOf()...)
			},
		},
		{
			name: "no final journal recorded: nothing to judge",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.observe(invA, 1, 1, journal.KindRun, "anything")
				b.done(invA, "ok")
			},
		},
		{
			name: "a run value observed live that the durable journal does not hold",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.runStep(invA, 1, 1, "charge", "r2")
				b.emit(invA, 1, 2, awk())
				b.accept(invA, 2, "yes")
				b.observe(invA, 1, 2, journal.KindAwakeable, "yes")
				b.doneWith(invA, "ok", finalOf()...)
			},
			want: []wantViolation{{finalJournalName, invA, `attempt 1 observed value(r2) at [1], but the final journal holds run name="charge" value(r1)`}},
		},
		{
			name: "an observation past the end of the final journal",
			build: func(b *builder) {
				b.firstAttempt(invA)
				b.observe(invA, 1, 7, journal.KindAwakeable, "yes")
				b.doneWith(invA, "ok", finalOf()...)
			},
			want: []wantViolation{{finalJournalName, invA, "past the final journal of 4 entries"}},
		},
		{
			name: "a start journal that is not a prefix of the final one",
			build: func(b *builder) {
				b.firstAttempt(invA)
				b.start(invA, 2, input("x"), run("charge", "other"))
				b.doneWith(invA, "ok", finalOf()...)
			},
			want: []wantViolation{{finalJournalName, invA, `attempt 2 started with run name="charge" value(other) at [1]`}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b builder
			tc.build(&b)
			checkViolations(t, b.h, FinalJournal(b.h), tc.want)
		})
	}
}
