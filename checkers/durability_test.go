package checkers

import (
	"testing"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/protocol"
)

func (b *builder) resolveRequest(no uint64, awakeable, v string) int {
	path := "/restate/awakeables/" + awakeable + "/resolve"
	return b.add(Event{Kind: ClientRequest, Node: "client", Request: no, Reason: "POST " + path,
		HTTP: &event.HTTP{Method: "POST", Path: path, Body: []byte(v)}})
}

func (b *builder) acceptedInv(inv protocol.InvocationID) int {
	return b.add(Event{Kind: InvocationAccepted, Node: "runtime", Invocation: inv, Service: "S", Handler: "h", Reason: "service"})
}

func TestDurability(t *testing.T) {
	awkA := protocol.AwakeableID{Invocation: invA, Index: 1}.String()
	tests := []struct {
		name  string
		build func(b *builder)
		want  []wantViolation
	}{
		{
			name: "clean: every acknowledgement follows its durable fact",
			build: func(b *builder) {
				b.request(1, "POST /S/h/send", "S", "h", "", "")
				b.acceptedInv(invA)
				b.respondAccepted(1, invA)
				b.resolveRequest(2, awkA, "1")
				b.accept(invA, 1, "1")
				b.respondStatus(2, 202)
				b.resolveRequest(3, awkA, "2")
				b.drop(invA, 1, "2", "already completed")
				b.respondStatus(3, 202)
				b.done(invA, "out")
				b.request(4, "GET attach", "S", "h", "", "")
				b.respondOutput(4, invA, "out")
			},
		},
		{
			name: "requests in doubt promise nothing",
			build: func(b *builder) {
				b.request(1, "POST /S/h/send", "S", "h", "", "")
				b.respondStatus(1, 0)
				b.resolveRequest(2, awkA, "1")
				b.respondStatus(2, 0)
			},
		},
		{
			name: "send acknowledged before the invocation was durable",
			build: func(b *builder) {
				b.request(1, "POST /S/h/send", "S", "h", "", "")
				b.respondAccepted(1, invA)
				b.acceptedInv(invA)
			},
			want: []wantViolation{{durabilityName, invA, "acknowledged before the invocation was durably accepted"}},
		},
		{
			name: "resolve acknowledged but its completion never durable",
			build: func(b *builder) {
				b.resolveRequest(1, awkA, "1")
				b.respondStatus(1, 202)
				b.crash("runtime", "kept 0 of 1 unsynced batches")
			},
			want: []wantViolation{{durabilityName, protocol.InvocationID{}, `acknowledged before its completion value(1)`}},
		},
		{
			name: "output answered before it was durable",
			build: func(b *builder) {
				b.request(1, "GET attach", "S", "h", "", "")
				b.respondOutput(1, invA, "out")
				b.done(invA, "out")
			},
			want: []wantViolation{{durabilityName, invA, "got output value(out) before the invocation's output was durable"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b builder
			tc.build(&b)
			checkViolations(t, b.h, Durability(b.h), tc.want)
		})
	}
}
