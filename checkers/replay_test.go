package checkers

import (
	"testing"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

func rp(inv protocol.InvocationID, msg string) wantViolation {
	return wantViolation{checker: replayName, inv: inv, msg: msg}
}

func TestReplay(t *testing.T) {
	const (
		kRun = journal.KindRun
		kAwk = journal.KindAwakeable
	)
	tests := []struct {
		name  string
		build func(b *builder)
		want  []wantViolation
	}{
		// Histories that must pass.
		{
			name:  "clean story",
			build: func(b *builder) { b.h = cleanHistory() },
		},
		{
			name: "suspend and replay",
			build: func(b *builder) {
				b.firstAttempt(invA)
				b.start(invA, 2, secondJournal()...)
				b.observe(invA, 2, 1, kRun, "r1")
				b.observe(invA, 2, 2, kAwk, "yes")
				b.emit(invA, 2, 3, output("o"))
				b.done(invA, "o")
			},
		},
		{
			name: "crash lost unsynced entries an attempt emitted",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.runStep(invA, 1, 1, "charge", "r1")
				b.runStep(invA, 1, 2, "ship", "s1")
				b.crash("runtime", "kept 1 of 2 unsynced batches")
				b.start(invA, 2, input("x"), run("charge", "r1"))
				b.observe(invA, 2, 1, kRun, "r1")
				b.runStep(invA, 2, 2, "ship", "s2")
			},
		},
		{
			name: "stale attempt still finishing after a newer one started",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.emit(invA, 1, 1, awk())
				b.start(invA, 2, input("x"), awk())
				b.emit(invA, 1, 2, completeAwk("sign_1other", "v"))
				b.emit(invA, 2, 2, completeAwk("sign_1other", "v"))
				b.start(invA, 3, input("x"), awk(), completeAwk("sign_1other", "v"))
			},
		},
		{
			name: "live completion of an awakeable pending in the start journal",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.emit(invA, 1, 1, awk())
				b.crash("runtime", "")
				b.start(invA, 2, input("x"), awk())
				b.observe(invA, 2, 1, kAwk, "late")
				b.accept(invA, 1, "late")
			},
		},
		{
			name: "run result observed before its command is recorded",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.exec(invA, 1, 1)
				b.observe(invA, 1, 1, kRun, "r1")
				b.emit(invA, 1, 1, run("charge", "r1"))
			},
		},

		// (a) commands extend the start journal.
		{
			name: "command index gap",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.emit(invA, 1, 1, awk())
				b.emit(invA, 1, 3, awk())
			},
			want: []wantViolation{rp(invA, "attempt 1 emitted command [3] awakeable (pending), expected [2] (gap)")},
		},
		{
			name: "first command skips the end of the start journal",
			build: func(b *builder) {
				b.firstAttempt(invA)
				b.start(invA, 2, secondJournal()...)
				b.emit(invA, 2, 4, output("o"))
			},
			want: []wantViolation{rp(invA, "attempt 2 emitted command [4] output value(o), expected [3] (gap)")},
		},
		{
			name: "command repeat",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.emit(invA, 1, 1, awk())
				b.emit(invA, 1, 1, awk())
			},
			want: []wantViolation{rp(invA, "attempt 1 emitted command [1] again (repeat)")},
		},
		{
			name: "command out of order",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.emit(invA, 1, 1, awk())
				b.emit(invA, 1, 3, awk())
				b.emit(invA, 1, 2, awk())
			},
			want: []wantViolation{
				rp(invA, "emitted command [3] awakeable (pending), expected [2] (gap)"),
				rp(invA, "emitted command [2] awakeable (pending) out of order, after [3]"),
			},
		},
		{
			name: "command inside the start journal",
			build: func(b *builder) {
				b.firstAttempt(invA)
				b.start(invA, 2, secondJournal()...)
				b.emit(invA, 2, 1, run("charge", "r2"))
			},
			want: []wantViolation{rp(invA, "attempt 2 emitted command [1] run name=\"charge\" value(r2) inside its start journal of 3 entries")},
		},
		{
			name: "attempts number their commands independently",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.emit(invA, 1, 1, awk())
				b.start(invB, 1, input("y"))
				b.emit(invB, 1, 1, awk())
				b.start(invA, 2, input("x"), awk())
				b.emit(invA, 2, 2, awk())
				b.emit(invA, 1, 2, awk())
			},
		},

		// (b) replayed values equal the journal.
		{
			name: "replayed value differs from the journal",
			build: func(b *builder) {
				b.firstAttempt(invA)
				b.start(invA, 2, secondJournal()...)
				b.observe(invA, 2, 1, kRun, "r2")
			},
			want: []wantViolation{rp(invA, "attempt 2 replayed value(r2) at [1], but its start journal holds run name=\"charge\" value(r1)")},
		},
		{
			name: "replayed awakeable differs from the journal",
			build: func(b *builder) {
				b.firstAttempt(invA)
				b.start(invA, 2, secondJournal()...)
				b.observe(invA, 2, 2, kAwk, "no")
			},
			want: []wantViolation{rp(invA, "attempt 2 replayed value(no) at [2], but its start journal holds awakeable value(yes)")},
		},
		{
			name: "replayed input differs from the journal",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.observe(invA, 1, 0, journal.KindInput, "y")
			},
			want: []wantViolation{rp(invA, "attempt 1 replayed value(y) at [0], but its start journal holds input value(x)")},
		},
		{
			name: "observed incomplete awakeable from the journal",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.emit(invA, 1, 1, awk())
				b.ended(invA, 1, "suspended")
				b.start(invA, 2, input("x"), awk())
				b.observe(invA, 2, 1, kAwk, "ghost")
			},
			want: []wantViolation{rp(invA, "attempt 2 observed value(ghost) for [1], which is pending in its start journal and was never completed")},
		},
		{
			name: "observed kind differs from the journal",
			build: func(b *builder) {
				b.firstAttempt(invA)
				b.start(invA, 2, secondJournal()...)
				b.observe(invA, 2, 1, kAwk, "r1")
			},
			want: []wantViolation{rp(invA, "attempt 2 observed value(r1) at [1] (kind awakeable), but its start journal holds run")},
		},

		// (c) journaled runs never execute again.
		{
			name: "journaled run re-executed",
			build: func(b *builder) {
				b.firstAttempt(invA)
				b.start(invA, 2, secondJournal()...)
				b.exec(invA, 2, 1)
				b.observe(invA, 2, 1, kRun, "r1")
			},
			want: []wantViolation{rp(invA, "journaled run [1] re-executed by attempt 2")},
		},
		{
			name: "run executed where the journal holds an awakeable",
			build: func(b *builder) {
				b.firstAttempt(invA)
				b.start(invA, 2, secondJournal()...)
				b.exec(invA, 2, 2)
			},
			want: []wantViolation{rp(invA, "attempt 2 executed a run at [2], but its start journal holds awakeable value(yes)")},
		},
		{
			name: "run executed where the attempt emitted an awakeable",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.emit(invA, 1, 1, awk())
				b.exec(invA, 1, 1)
			},
			want: []wantViolation{rp(invA, "attempt 1 executed a run at [1], but its command there is awakeable (pending)")},
		},

		// (d) live values belong to the attempt's own commands.
		{
			name: "live run value differs from its command",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.exec(invA, 1, 1)
				b.emit(invA, 1, 1, run("charge", "r1"))
				b.observe(invA, 1, 1, kRun, "r2")
			},
			want: []wantViolation{rp(invA, "attempt 1 observed value(r2) from run [1], but its command journaled value(r1)")},
		},
		{
			name: "live value where the attempt emitted nothing",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.observe(invA, 1, 1, kRun, "r1")
			},
			want: []wantViolation{rp(invA, "attempt 1 observed value(r1) at [1] (kind run), beyond its start journal of 1 entries, where it emitted no command")},
		},
		{
			name: "another attempt's command does not count",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.start(invA, 2, input("x"))
				b.emit(invA, 1, 1, run("charge", "r1"))
				b.observe(invA, 2, 1, kRun, "r1")
			},
			want: []wantViolation{rp(invA, "attempt 2 observed value(r1) at [1] (kind run), beyond its start journal of 1 entries, where it emitted no command")},
		},
		{
			name: "live value of another kind than its command",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.emit(invA, 1, 1, awk())
				b.observe(invA, 1, 1, kRun, "r1")
			},
			want: []wantViolation{rp(invA, "attempt 1 observed value(r1) at [1] (kind run), but its command there is awakeable (pending)")},
		},

		// (e) start journals across attempts.
		{
			name: "later start journal lost a completion",
			build: func(b *builder) {
				b.firstAttempt(invA)
				b.start(invA, 2, secondJournal()...)
				b.start(invA, 3, input("x"), run("charge", "r1"), awk())
			},
			want: []wantViolation{rp(invA, "attempt 3's start journal lost the completion value(yes) at [2]")},
		},
		{
			name: "later start journal changed a completion",
			build: func(b *builder) {
				b.firstAttempt(invA)
				b.start(invA, 2, secondJournal()...)
				b.start(invA, 3, input("x"), run("charge", "r1"), awkDone("no"))
			},
			want: []wantViolation{rp(invA, "attempt 3's start journal changed the completion from value(yes) to value(no) at [2]")},
		},
		{
			name: "later start journal changed an entry",
			build: func(b *builder) {
				b.firstAttempt(invA)
				b.start(invA, 2, secondJournal()...)
				b.start(invA, 3, input("x"), run("refund", "r1"), awkDone("yes"))
			},
			want: []wantViolation{rp(invA, "attempt 3's start journal changed the entry to run name=\"refund\" value(r1) at [1] (attempt 2's held run name=\"charge\" value(r1))")},
		},
		{
			name: "later start journal changed a run result",
			build: func(b *builder) {
				b.firstAttempt(invA)
				b.start(invA, 2, secondJournal()...)
				b.start(invA, 3, input("x"), run("charge", "r9"), awkDone("yes"))
			},
			want: []wantViolation{rp(invA, "attempt 3's start journal changed the run result from value(r1) to value(r9) at [1]")},
		},
		{
			name: "later start journal shorter than the earlier one",
			build: func(b *builder) {
				b.firstAttempt(invA)
				b.start(invA, 2, secondJournal()...)
				b.start(invA, 3, input("x"), run("charge", "r1"))
			},
			want: []wantViolation{rp(invA, "attempt 3's start journal has 2 entries, fewer than attempt 2's 3")},
		},
		{
			name: "start journal entry no attempt emitted",
			build: func(b *builder) {
				b.firstAttempt(invA)
				b.start(invA, 2, append(secondJournal(), run("ghost", "g"))...)
			},
			want: []wantViolation{rp(invA, "attempt 2's start journal holds run name=\"ghost\" value(g) at [3], which no earlier attempt emitted")},
		},
		{
			name: "start journal run result no attempt produced",
			build: func(b *builder) {
				b.firstAttempt(invA)
				b.start(invA, 2, input("x"), run("charge", "r7"), awkDone("yes"))
			},
			want: []wantViolation{rp(invA, "attempt 2's start journal holds run name=\"charge\" value(r7) at [1], which no earlier attempt emitted")},
		},
		{
			name: "start journal entry emitted only by a later attempt",
			build: func(b *builder) {
				b.start(invA, 1, input("x"), awk())
				b.start(invA, 2, input("x"))
				b.emit(invA, 2, 1, awk())
			},
			want: []wantViolation{
				rp(invA, "attempt 1's start journal holds awakeable (pending) at [1], which no earlier attempt emitted"),
				rp(invA, "attempt 2's start journal has 1 entries, fewer than attempt 1's 2"),
			},
		},
		{
			name: "first start journal with entries beyond the input",
			build: func(b *builder) {
				b.start(invA, 1, input("x"), run("charge", "r1"))
			},
			want: []wantViolation{rp(invA, "attempt 1's start journal holds run name=\"charge\" value(r1) at [1], which no earlier attempt emitted")},
		},
		{
			name: "input changed",
			build: func(b *builder) {
				b.firstAttempt(invA)
				b.start(invA, 2, input("x2"), run("charge", "r1"), awkDone("yes"))
			},
			want: []wantViolation{rp(invA, "attempt 2's start journal changed the input from value(x) (attempt 1) to value(x2)")},
		},
		{
			name: "entry 0 is not the input",
			build: func(b *builder) {
				b.start(invA, 1, output("o"))
			},
			want: []wantViolation{rp(invA, "attempt 1's start journal holds output value(o) at [0], not the input")},
		},
		{
			name: "empty start journal",
			build: func(b *builder) {
				b.start(invA, 1)
			},
			want: []wantViolation{rp(invA, "attempt 1's start journal is empty (no input)")},
		},
		{
			name: "attempt numbers go backwards",
			build: func(b *builder) {
				b.start(invA, 2, input("x"))
				b.start(invA, 1, input("x"))
			},
			want: []wantViolation{rp(invA, "attempt 1 started after attempt 2 (attempt numbers must strictly increase)")},
		},
		{
			name: "attempt started twice",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.start(invB, 1, input("y"))
				b.start(invA, 1, input("x"))
			},
			want: []wantViolation{rp(invA, "attempt 1 started after attempt 1 (attempt numbers must strictly increase)")},
		},
		{
			name: "events of an attempt that never started",
			build: func(b *builder) {
				b.start(invA, 1, input("x"))
				b.emit(invA, 2, 1, awk())
				b.observe(invA, 2, 1, kAwk, "v")
			},
			want: []wantViolation{rp(invA, "attempt 2 never started, yet 2 of its events were recorded")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &builder{}
			tc.build(b)
			checkViolations(t, b.h, Replay(b.h), tc.want)
		})
	}
}
