package checkers

import (
	"testing"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// delivered records request n reaching the runtime.
func (b *builder) delivered(n uint64) int {
	return b.add(Event{Kind: RequestDelivered, Node: "runtime", Request: n})
}

func fc(inv protocol.InvocationID, msg string) wantViolation {
	return wantViolation{checker: firstCompletionName, inv: inv, msg: msg}
}

func TestFirstCompletion(t *testing.T) {
	awkA := protocol.AwakeableID{Invocation: invA, Index: 1}.String()
	runCases(t, FirstCompletion, []checkerCase{
		{
			name: "clean: the first to arrive wins, later ones lose",
			build: func(b *builder) {
				b.resolveRequest(1, awkA, "1")
				b.resolveRequest(2, awkA, "2")
				b.delivered(1)
				b.delivered(2)
				b.accept(invA, 1, "1")
				b.drop(invA, 1, "2", "already completed")
			},
		},
		{
			name: "clean: the first one may be lost in a crash before it was durable",
			build: func(b *builder) {
				b.resolveRequest(1, awkA, "1")
				b.delivered(1)
				b.crash("runtime", "kept 0 of 1 unsynced batches")
				b.resolveRequest(2, awkA, "2")
				b.delivered(2)
				b.accept(invA, 1, "2")
			},
		},
		{
			name: "clean: a request the ingress must refuse is no completion",
			build: func(b *builder) {
				b.resolveRequest(1, awkA, "not json")
				b.delivered(1)
				b.resolveRequest(2, awkA, "2")
				b.delivered(2)
				b.accept(invA, 1, "2")
			},
		},
		{
			name: "a later completion overwrote a buffered earlier one",
			build: func(b *builder) {
				b.resolveRequest(1, awkA, "1")
				b.resolveRequest(2, awkA, "2")
				b.delivered(1)
				b.add(Event{Kind: CompletionBuffered, Node: "runtime", Invocation: invA, Index: 1, Awakeable: awkA, Result: val("1")})
				b.delivered(2)
				b.add(Event{Kind: CompletionBuffered, Node: "runtime", Invocation: invA, Index: 1, Awakeable: awkA, Result: val("2")})
				b.accept(invA, 1, "2") // self-consistent: the engine says 2 won
			},
			want: []wantViolation{fc(invA, "request 1 (POST /restate/awakeables/"+awkA+"/resolve) reached the runtime at 3ms with value(1) for awakeable [1], the first completion to arrive, but the engine accepted value(2)")},
		},
	})
}

// TestFirstCompletionSurvivesCrash: a completion buffered durably before a crash still wins over
// one that arrived after the crash.
func TestFirstCompletionSurvivesCrash(t *testing.T) {
	awkA := protocol.AwakeableID{Invocation: invA, Index: 1}.String()
	runCases(t, FirstCompletion, []checkerCase{
		{
			name: "clean: buffered before the crash, applied after it",
			build: func(b *builder) {
				b.resolveRequest(1, awkA, "1")
				b.delivered(1)
				b.add(Event{Kind: CompletionBuffered, Node: "runtime", Invocation: invA, Index: 1, Awakeable: awkA, Result: val("1")})
				b.crash("runtime", "kept 1 of 1 unsynced batches")
				b.resolveRequest(2, awkA, "2")
				b.delivered(2)
				b.drop(invA, 1, "2", "already completed")
				b.accept(invA, 1, "1")
			},
		},
		{
			name: "buffered before the crash, but the later one won",
			build: func(b *builder) {
				b.resolveRequest(1, awkA, "1")
				b.delivered(1)
				b.add(Event{Kind: CompletionBuffered, Node: "runtime", Invocation: invA, Index: 1, Awakeable: awkA, Result: val("1")})
				b.crash("runtime", "kept 1 of 1 unsynced batches")
				b.resolveRequest(2, awkA, "2")
				b.delivered(2)
				b.accept(invA, 1, "2")
			},
			want: []wantViolation{fc(invA, "with value(1) for awakeable [1], the first completion to arrive, but the engine accepted value(2)")},
		},
	})
}

// A cancel of the invocation competes with resolves of what it waits on: the first to reach the
// runtime wins.
func TestFirstCompletionWithCancel(t *testing.T) {
	awkA := protocol.AwakeableID{Invocation: invA, Index: 1}.String()
	cancelled := journal.Result{Failure: &cancelledFailure}
	cancel := func(b *builder, n uint64) {
		b.add(Event{Kind: ClientRequest, Node: "client-1", Request: n,
			HTTP: &event.HTTP{Method: "PATCH", Path: "/restate/invocation/" + invA.String() + "/cancel"}})
		b.delivered(n)
	}
	acceptCancel := func(b *builder) {
		b.add(Event{Kind: CompletionAccepted, Node: "runtime", Invocation: invA, Index: 1, Awakeable: awkA, Result: cancelled})
	}
	runCases(t, FirstCompletion, []checkerCase{
		{
			name: "clean: the cancel arrived first and won",
			build: func(b *builder) {
				cancel(b, 1)
				b.resolveRequest(2, awkA, "2")
				b.delivered(2)
				acceptCancel(b)
			},
		},
		{
			name: "the resolve arrived first, the cancellation won",
			build: func(b *builder) {
				b.resolveRequest(1, awkA, "1")
				b.delivered(1)
				cancel(b, 2)
				acceptCancel(b)
			},
			want: []wantViolation{fc(invA, `with value(1) for awakeable [1], the first completion to arrive, but the engine accepted failure(409 "Cancelled")`)},
		},
	})
}
