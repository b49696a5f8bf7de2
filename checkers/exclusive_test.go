package checkers

import (
	"testing"

	"github.com/vigilsim/vigil/runtime/protocol"
)

func ex(inv protocol.InvocationID, msg string) wantViolation {
	return wantViolation{checker: exclusiveName, inv: inv, msg: msg}
}

func TestExclusive(t *testing.T) {
	runCases(t, Exclusive, []checkerCase{
		{
			name: "clean: queued exclusive calls in order, suspension under the lock, shared calls and other keys free",
			build: func(b *builder) {
				b.invoked(invA, "Obj", "add", "k1", 1, "exclusive")
				b.invoked(invB, "Obj", "add", "k1", 2, "exclusive")
				b.invoked(invC, "Obj", "get", "k1", 3, "shared")
				b.invoked(invD, "Obj", "add", "k2", 4, "exclusive")
				b.lock(invA, "Obj", "k1")
				b.lock(invD, "Obj", "k2")
				b.start(invA, 1, input("a"))
				b.start(invD, 1, input("d"))
				b.start(invC, 1, input("c")) // shared: no lock
				b.ended(invA, 1, "suspended")
				b.lock(invA, "Obj", "k1") // repeated by the holder: tolerated
				b.start(invA, 2, input("a"))
				b.unlock(invA, "Obj", "k1")
				b.unlock(invD, "Obj", "k2")
				b.lock(invB, "Obj", "k1")
				b.start(invB, 1, input("b"))
				b.unlock(invB, "Obj", "k1")
			},
		},
		{
			name: "clean: a workflow run holds its key; a later-accepted call cannot be overtaken",
			build: func(b *builder) {
				b.invoked(invA, "Wf", "run", "k1", 1, "workflow")
				b.lock(invA, "Wf", "k1")
				b.start(invA, 1, input("a"))
				b.unlock(invA, "Wf", "k1")
				// B acquires first; C, with a lower seq, is recorded as accepted only afterwards.
				b.invoked(invB, "Obj", "add", "k1", 3, "exclusive")
				b.lock(invB, "Obj", "k1")
				b.invoked(invC, "Obj", "add", "k1", 2, "exclusive")
				b.unlock(invB, "Obj", "k1")
				b.lock(invC, "Obj", "k1")
			},
		},
		{
			name: "clean: a queued call cancelled before it got the lock leaves the queue",
			build: func(b *builder) {
				b.invoked(invA, "Obj", "add", "k1", 1, "exclusive")
				b.invoked(invB, "Obj", "add", "k1", 2, "exclusive")
				b.invoked(invC, "Obj", "add", "k1", 3, "exclusive")
				b.lock(invA, "Obj", "k1")
				b.done(invB, `"cancelled"`)
				b.unlock(invA, "Obj", "k1")
				b.lock(invC, "Obj", "k1")
			},
		},
		{
			name: "an attempt after finishing without the lock",
			build: func(b *builder) {
				b.invoked(invA, "Obj", "add", "k1", 1, "exclusive")
				b.done(invA, `"cancelled"`)
				b.start(invA, 1, input("a"))
			},
			want: []wantViolation{ex(invA, "Obj/k1: attempt 1 started after the invocation finished without ever holding the lock")},
		},
		{
			name: "clean: a gated start comes before the acceptance and lock its sync records",
			build: func(b *builder) {
				b.start(invA, 1, input("a"))
				b.invoked(invA, "Obj", "add", "k1", 1, "exclusive")
				b.lock(invA, "Obj", "k1")
				b.unlock(invA, "Obj", "k1")
			},
		},
		{
			name: "a gated start whose invocation never acquires the lock",
			build: func(b *builder) {
				b.start(invA, 1, input("a"))
				b.invoked(invA, "Obj", "add", "k1", 1, "exclusive")
				b.done(invA, `"x"`)
			},
			want: []wantViolation{ex(invA, "Obj/k1: attempt 1 started before the invocation acquired the lock")},
		},
		{
			name: "a gated start whose invocation starts again before acquiring the lock",
			build: func(b *builder) {
				b.start(invA, 1, input("a"))
				b.invoked(invA, "Obj", "add", "k1", 1, "exclusive")
				b.start(invA, 2, input("a"))
				b.lock(invA, "Obj", "k1")
			},
			want: []wantViolation{
				ex(invA, "Obj/k1: attempt 1 started before the invocation acquired the lock"),
				ex(invA, "Obj/k1: attempt 2 started before the invocation acquired the lock"),
			},
		},
		{
			name: "a gated start whose lock the history never records",
			build: func(b *builder) {
				b.start(invA, 1, input("a"))
				b.invoked(invA, "Obj", "add", "k1", 1, "exclusive")
			},
			want: []wantViolation{ex(invA, "Obj/k1: attempt 1 started before the invocation acquired the lock")},
		},
		{
			name: "two holders at once",
			build: func(b *builder) {
				b.lock(invA, "Obj", "k1")
				b.lock(invB, "Obj", "k1")
				b.unlock(invB, "Obj", "k1")
			},
			want: []wantViolation{ex(invB, "Obj/k1: acquired the lock while "+invA.String()+" holds it")},
		},
		{
			name: "released by another invocation, and by nobody's holder",
			build: func(b *builder) {
				b.lock(invA, "Obj", "k1")
				b.unlock(invB, "Obj", "k1")
				b.unlock(invA, "Obj", "k1")
				b.unlock(invA, "Obj", "k1")
			},
			want: []wantViolation{
				ex(invB, "Obj/k1: released the lock, but "+invA.String()+" holds it"),
				ex(invA, "Obj/k1: released the lock, but nobody holds it"),
			},
		},
		{
			name: "overtaking an earlier exclusive call of the key",
			build: func(b *builder) {
				b.invoked(invA, "Obj", "add", "k1", 1, "exclusive")
				b.invoked(invB, "Obj", "add", "k1", 2, "exclusive")
				b.invoked(invC, "Obj", "add", "k1", 3, "exclusive")
				b.lock(invB, "Obj", "k1")
				b.unlock(invB, "Obj", "k1")
				b.lock(invA, "Obj", "k1")
				b.unlock(invA, "Obj", "k1")
				b.lock(invC, "Obj", "k1")
			},
			want: []wantViolation{ex(invB, "Obj/k1: acquired the lock (seq 2) before "+invA.String()+" (seq 1), which was accepted earlier and still waits (FIFO)")},
		},
		{
			name: "attempt started before acquiring the lock",
			build: func(b *builder) {
				b.invoked(invA, "Wf", "run", "k1", 1, "workflow")
				b.start(invA, 1, input("a"))
				b.lock(invA, "Wf", "k1")
			},
			want: []wantViolation{ex(invA, "Wf/k1: attempt 1 started before the invocation acquired the lock")},
		},
		{
			name: "lock released while suspended, next call let in",
			build: func(b *builder) {
				b.invoked(invA, "Obj", "add", "k1", 1, "exclusive")
				b.invoked(invB, "Obj", "add", "k1", 2, "exclusive")
				b.lock(invA, "Obj", "k1")
				b.start(invA, 1, input("a"))
				b.ended(invA, 1, "suspended")
				b.unlock(invA, "Obj", "k1") // the bug: a suspended handler keeps its key
				b.lock(invB, "Obj", "k1")
				b.start(invB, 1, input("b"))
				b.start(invA, 2, input("a"))
			},
			want: []wantViolation{ex(invA, "Obj/k1: attempt 2 started after the invocation released the lock")},
		},
	})
}
