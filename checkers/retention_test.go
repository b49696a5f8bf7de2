package checkers

import (
	"testing"
	"time"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/protocol"
)

func rt(inv protocol.InvocationID, msg string) wantViolation {
	return wantViolation{checker: retentionName, inv: inv, msg: msg}
}

// declareRetention declares service (a plain service, or a workflow with a run handler) with
// the given retention and idempotency retention.
func (b *builder) declareRetention(service string, workflow bool, ret, idem time.Duration) {
	handler := "h"
	if workflow {
		handler = "run"
	}
	sp := b.declare(service, handler, workflow, workflow)
	sp.Retention, sp.IdempotencyRetention = ret, idem
}

// purgeNow records a purge of kind what of inv (of service/key for a workflow), now.
func (b *builder) purgeNow(kind event.PurgeKind, inv protocol.InvocationID, service, key string) int {
	return b.add(Event{Kind: Purged, Node: "runtime", Purge: kind, Invocation: inv, Service: service, Key: key, Deadline: b.now()})
}

func TestRetention(t *testing.T) {
	runCases(t, Retention, []checkerCase{
		{
			name: "clean: purged when declared, an idempotent call kept for its idempotency retention",
			build: func(b *builder) {
				b.declareRetention("Svc", false, time.Hour, 2*time.Hour)
				b.declareRetention("Wf", true, 30*time.Second, 0)
				b.invoked(invA, "Svc", "h", "", 1, "service")
				b.add(Event{Kind: InvocationAccepted, Node: "runtime", Invocation: invC, Service: "Svc", Handler: "h", Seq: 3, HandlerKind: event.HandlerService, IdempotencyKey: "k1"})
				b.invoked(invB, "Wf", "run", "k1", 2, "workflow")
				b.done(invA, "o")
				b.done(invC, "o")
				b.done(invB, "w")
				b.advance(30 * time.Second)
				b.purgeNow(event.PurgeWorkflow, invB, "Wf", "k1")
				b.advance(time.Hour - 30*time.Second)
				b.purgeNow(event.PurgeInvocation, invA, "", "")
				b.advance(time.Hour)
				b.purgeNow(event.PurgeInvocation, invC, "", "")
				b.purgeNow(event.PurgeIdempotency, invC, "Svc", "")
				b.endAfter(time.Hour)
			},
		},
		{
			name: "late purges are excused while the runtime was paused",
			build: func(b *builder) {
				b.declareRetention("Svc", false, time.Minute, 0)
				b.invoked(invA, "Svc", "h", "", 1, "service")
				b.done(invA, "o")
				b.add(Event{Kind: NodePaused, Node: "runtime", Span: 5 * time.Minute})
				b.advance(5 * time.Minute)
				b.purgeNow(event.PurgeInvocation, invA, "", "")
			},
		},
		{
			name: "purged before the declared retention ended",
			build: func(b *builder) {
				b.declareRetention("Wf", true, time.Hour, 0)
				b.invoked(invB, "Wf", "run", "k1", 1, "workflow")
				b.done(invB, "w")
				b.advance(10 * time.Minute)
				b.purgeNow(event.PurgeWorkflow, invB, "Wf", "k1")
			},
			want: []wantViolation{rt(invB, "workflow Wf/k1 purged at 10m0.004s (runtime clock), 49m59.999s before the end of the declared retention 1h0m0s of Wf")},
		},
		{
			name: "purged past the slack (retention computed from the idempotency setting)",
			build: func(b *builder) {
				b.declareRetention("Svc", false, time.Minute, time.Hour)
				b.invoked(invA, "Svc", "h", "", 1, "service")
				b.done(invA, "o")
				b.advance(time.Hour)
				b.purgeNow(event.PurgeInvocation, invA, "", "")
			},
			want: []wantViolation{rt(invA, "the invocation's output purged at 1h0m0.004s (runtime clock), 59m0.001s after the end of the declared retention 1m0s of Svc")},
		},
		{
			name: "never purged, whatever the engine announced",
			build: func(b *builder) {
				b.declareRetention("Svc", false, time.Minute, 0)
				b.invoked(invA, "Svc", "h", "", 1, "service")
				b.done(invA, "o")
				b.retain(Event{Invocation: invA}, 24*time.Hour) // the engine's own deadline: no excuse
				b.endAfter(time.Hour)
			},
			want: []wantViolation{rt(invA, "due to be purged at 1m0.003s, but never purged")},
		},
		{
			name: "invocation output read after its purge",
			build: func(b *builder) {
				b.done(invA, "o")
				b.purge(Event{Reason: "invocation", Invocation: invA}, 0)
				b.request(1, "GET /restate/invocation/x/output", "", "", "", "")
				b.respondOutput(1, invA, "o")
			},
			want: []wantViolation{rt(invA, "request 1 (GET /restate/invocation/x/output) sent at 3ms, after the invocation's output was purged at 2ms, got its output value(o)")},
		},
		{
			name: "workflow output read after its purge",
			build: func(b *builder) {
				b.declareRetention("Wf", true, time.Nanosecond, 0)
				b.invoked(invB, "Wf", "run", "k1", 1, "workflow")
				b.done(invB, "w")
				b.wfPurge("Wf", "k1")
				// A new run of another key changes nothing.
				b.invoked(invC, "Wf", "run", "k2", 2, "workflow")
				b.request(1, "GET /restate/workflow/Wf/k1/output", "Wf", "", "k1", "")
				b.respondOutput(1, invB, "w")
				b.request(2, "GET /restate/workflow/Wf/k1/attach?x=1", "Wf", "", "k1", "")
				b.respondOutput(2, invB, "w")
				// Before a purge, and on another key, reads are fine.
				b.request(3, "GET /restate/workflow/Wf/k2/attach", "Wf", "", "k2", "")
				b.respondOutput(3, invC, "c")
			},
			want: []wantViolation{
				rt(invB, "request 1 (GET /restate/workflow/Wf/k1/output) sent at 6ms, after workflow Wf/k1 was purged at 4ms, got its run's output value(w)"),
				rt(invB, "request 2 (GET /restate/workflow/Wf/k1/attach?x=1)"),
			},
		},
	})
}
