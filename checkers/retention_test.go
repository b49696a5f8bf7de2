package checkers

import (
	"testing"
	"time"

	"github.com/vigilsim/vigil/runtime/protocol"
)

func rt(inv protocol.InvocationID, msg string) wantViolation {
	return wantViolation{checker: retentionName, inv: inv, msg: msg}
}

func TestRetention(t *testing.T) {
	const day = 24 * time.Hour
	idem := Event{Service: "Svc", Handler: "h", IdempotencyKey: "k1", Invocation: invA}
	wf := Event{Service: "Wf", Key: "k1"}
	runCases(t, Retention, []checkerCase{
		{
			name: "clean: every retention purged on time, nothing read after it",
			build: func(b *builder) {
				b.done(invA, "o")
				b.retain(Event{Invocation: invA}, day)
				b.retain(idem, day)
				b.invoked(invB, "Wf", "run", "k1", 1, "workflow")
				b.done(invB, "w")
				b.retain(wf, day+time.Hour)
				b.crash("runtime", "")
				b.retain(Event{Invocation: invA}, day) // recovery re-arms it
				// Before the purges, outputs are readable.
				b.request(1, "GET /restate/invocation/x/output", "", "", "", "")
				b.respondOutput(1, invA, "o")
				b.advance(day)
				b.purge(Event{Reason: "invocation", Invocation: invA}, day)
				b.purge(Event{Reason: "idempotency", Service: "Svc", Handler: "h", IdempotencyKey: "k1", Invocation: invA}, day)
				b.advance(time.Hour)
				b.purge(Event{Reason: "workflow", Service: "Wf", Key: "k1", Invocation: invB}, day+time.Hour)
				// After them, nothing is found.
				b.request(2, "GET /restate/invocation/x/output", "", "", "", "")
				b.respondStatus(2, 404)
				b.request(3, "GET /restate/workflow/Wf/k1/output", "Wf", "", "k1", "")
				b.respondStatus(3, 404)
				// A request sent before the purge may still have been answered with the output.
				b.request(4, "GET /restate/workflow/Wf/k2/attach", "Wf", "", "k2", "")
				b.wfPurge("Wf", "k2")
				b.respondOutput(4, invC, "c")
				// A fresh run of the purged key, reusing its ID, may be read again.
				b.invoked(invB, "Wf", "run", "k1", 2, "workflow")
				b.done(invB, "w2")
				b.request(5, "GET /restate/workflow/Wf/k1/attach", "Wf", "", "k1", "")
				b.respondOutput(5, invB, "w2")
				// A retention not yet due (with grace) need not have happened.
				b.retain(Event{Invocation: invD}, b.now()+time.Minute)
				b.endAfter(time.Minute)
			},
		},
		{
			name: "purged before the deadline",
			build: func(b *builder) {
				b.retain(wf, time.Hour)
				b.purge(Event{Reason: "workflow", Service: "Wf", Key: "k1"}, time.Hour)
				b.purge(Event{Reason: "invocation", Invocation: invA}, time.Second)
			},
			want: []wantViolation{
				rt(protocol.InvocationID{}, "workflow Wf/k1 purged at 2ms, 59m59.998s before its retention deadline 1h0m0s"),
				rt(invA, "the invocation's output purged at 3ms, 997ms before its retention deadline 1s"),
			},
		},
		{
			name: "never purged",
			build: func(b *builder) {
				b.retain(Event{Invocation: invA}, time.Hour)
				b.retain(idem, time.Hour)
				b.retain(wf, time.Hour)
				b.advance(time.Hour)
				// Purges of other things, or of the same thing at another deadline, do not count.
				b.purge(Event{Reason: "invocation", Invocation: invB}, time.Hour)
				b.purge(Event{Reason: "idempotency", Service: "Svc", Handler: "g", IdempotencyKey: "k1"}, time.Hour)
				b.purge(Event{Reason: "workflow", Service: "Wf", Key: "k1"}, 30*time.Minute)
				b.endAfter(time.Hour)
			},
			want: []wantViolation{
				rt(invA, "retention of the output of "+invA.String()+" due at 1h0m0s never purged it"),
				rt(invA, `retention of Svc/h (idempotency key "k1") due at 1h0m0s never purged it`),
				rt(protocol.InvocationID{}, "retention of workflow Wf/k1 due at 1h0m0s never purged it (the run ended at 2h0m0.007s, past the deadline and the grace of 1m0s)"),
			},
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
				b.invoked(invB, "Wf", "run", "k1", 1, "workflow")
				b.done(invB, "w")
				b.wfPurge("Wf", "k1")
				// A new run of another key changes nothing.
				b.invoked(invC, "Wf", "run", "k2", 2, "workflow")
				b.request(1, "GET /restate/workflow/Wf/k1/output", "Wf", "", "k1", "")
				b.respondOutput(1, invB, "w")
				b.request(2, "GET /restate/workflow/Wf/k1/attach?x=1", "Wf", "", "k1", "")
				b.respondOutput(2, invB, "w")
			},
			want: []wantViolation{
				rt(invB, "request 1 (GET /restate/workflow/Wf/k1/output) sent at 5ms, after workflow Wf/k1 was purged at 3ms, got its run's output value(w)"),
				rt(invB, "request 2 (GET /restate/workflow/Wf/k1/attach?x=1)"),
			},
		},
	})
}
