package checkers

import (
	"testing"

	"github.com/vigilsim/vigil/runtime/protocol"
)

func out(inv protocol.InvocationID, msg string) wantViolation {
	return wantViolation{checker: outputsName, inv: inv, msg: msg}
}

func TestOutputs(t *testing.T) {
	const (
		call    = "POST /Svc/h"
		runSend = "POST /Wf/k1/run/send"
	)
	runCases(t, Outputs, []checkerCase{
		{
			name: "clean: outputs, idempotent retries, workflow submissions across purges",
			build: func(b *builder) {
				// An idempotent call, answered twice with the same invocation and output; the
				// first response is recorded before the invocation-done.
				b.request(1, call, "Svc", "h", "", "k1")
				b.respondOutput(1, invA, "o")
				b.done(invA, "o")
				b.request(2, call, "Svc", "h", "", "k1")
				b.respondOutput(2, invA, "o")
				// A failed connection and an error status carry nothing.
				b.request(3, call, "Svc", "h", "", "k1")
				b.respondStatus(3, 0)
				// The same idempotency key for another handler is another key.
				b.request(4, "POST /Svc/g", "Svc", "g", "", "k1")
				b.respondAccepted(4, invB)
				// After the key is purged, a retry starts a new invocation.
				b.purge(Event{Reason: "idempotency", Service: "Svc", Handler: "h", IdempotencyKey: "k1", Invocation: invA}, b.now())
				b.request(5, call, "Svc", "h", "", "k1")
				b.respondAccepted(5, invC)
				// A workflow submitted twice reaches one run; after the purge, a new one.
				b.request(6, runSend, "Wf", "run", "k1", "")
				b.respondAccepted(6, invB)
				b.request(7, runSend, "Wf", "run", "k1", "")
				b.request(8, runSend, "Wf", "run", "k1", "")
				b.respondAccepted(7, invB)
				// The purge lies between request 8's sending and its response: request 8 may have
				// been handled after it.
				b.wfPurge("Wf", "k1")
				b.respondAccepted(8, invD)
				b.request(9, runSend, "Wf", "run", "k1", "")
				b.respondAccepted(9, invD)
				// Another key of the same workflow is another run.
				b.request(10, "POST /Wf/k2/run/send", "Wf", "run", "k2", "")
				b.respondAccepted(10, invC)
			},
		},
		{
			name: "output without an invocation",
			build: func(b *builder) {
				b.request(1, call, "Svc", "h", "", "")
				b.respondOutput(1, protocol.InvocationID{}, "o")
			},
			want: []wantViolation{out(protocol.InvocationID{}, "response to request 1 (status 200) carries output value(o) but names no invocation")},
		},
		{
			name: "output of an invocation that never finished",
			build: func(b *builder) {
				b.request(1, call, "Svc", "h", "", "")
				b.respondOutput(1, invA, "o")
			},
			want: []wantViolation{out(invA, "carries output value(o), but the invocation never finished (no invocation-done)")},
		},
		{
			name: "output that is not the invocation's",
			build: func(b *builder) {
				b.done(invA, "o")
				b.request(1, "GET /restate/invocation/x/attach", "", "", "", "")
				b.respondOutput(1, invA, "other")
			},
			want: []wantViolation{out(invA, "carries output value(other), but the invocation's output is value(o)")},
		},
		{
			name: "idempotent retry reaching a second invocation",
			build: func(b *builder) {
				b.request(1, call, "Svc", "h", "", "k1")
				b.respondAccepted(1, invA)
				b.request(2, call, "Svc", "h", "", "k1")
				b.respondAccepted(2, invB)
				// The group returning to the first invocation is reported too.
				b.request(3, call, "Svc", "h", "", "k1")
				b.respondAccepted(3, invA)
			},
			want: []wantViolation{
				out(invB, `idempotent retry: request 2 to Svc/h (idempotency key "k1") got invocation `+invB.String()+", but request 1 with the same idempotency key got "+invA.String()),
				out(invA, "idempotent retry: request 3"),
			},
		},
		{
			name: "idempotent retry of an object key, excused only by the purge of that key",
			build: func(b *builder) {
				b.request(1, "POST /Obj/o1/h", "Obj", "h", "o1", "k1")
				b.respondAccepted(1, invA)
				b.purge(Event{Reason: "idempotency", Service: "Obj", Handler: "h", Key: "o2", IdempotencyKey: "k1"}, b.now())
				b.purge(Event{Reason: "workflow", Service: "Obj", Key: "o1"}, b.now())
				b.request(2, "POST /Obj/o1/h", "Obj", "h", "o1", "k1")
				b.respondAccepted(2, invB)
			},
			want: []wantViolation{out(invB, `idempotent retry: request 2 to Obj/h/o1 (idempotency key "k1")`)},
		},
		{
			name: "workflow run submitted twice reaching two invocations",
			build: func(b *builder) {
				b.request(1, runSend, "Wf", "run", "k1", "")
				b.respondAccepted(1, invA)
				b.wfPurge("Wf", "k2")
				b.request(2, "POST /Wf/k1/run", "Wf", "run", "k1", "")
				b.respondOutput(2, invB, "o")
				b.done(invB, "o")
			},
			want: []wantViolation{out(invB, "workflow Wf/k1: run request 2 got invocation "+invB.String()+", but run request 1 got "+invA.String())},
		},
	})
}
