package checkers

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// TestReadRequestsTakenOnlyWhenTheSame: the index takes a noted reading only when it was read
// from the history's own exchange with the history's own declarations; a reading of another
// exchange, or with other services, is parsed again.
func TestReadRequestsTakenOnlyWhenTheSame(t *testing.T) {
	spec := &protocol.ServiceSpec{Name: "S", Kind: protocol.ServiceStateless, Handlers: []protocol.HandlerSpec{{Name: "h"}}}
	sent := &event.HTTP{Method: "POST", Path: "/S/h", Body: []byte(`{"a":"b"}`)}
	h := History{Events: []Event{
		{Kind: ServiceDeclared, Service: "S", Spec: spec},
		{Kind: ClientRequest, Request: 1, HTTP: sent},
	}}
	services := map[string]*protocol.ServiceSpec{"S": spec}
	want := ParseClientRequest(sent, services)
	if want.Kind != RequestCall {
		t.Fatalf("the request reads as %v, want a call", want.Kind)
	}
	marked := want
	marked.Key = "noted" // a reading the index can tell from its own
	tests := []struct {
		name     string
		http     *event.HTTP
		services map[string]*protocol.ServiceSpec
		taken    bool
	}{
		{"same exchange, same services", sent, services, true},
		{"another exchange", &event.HTTP{Method: "POST", Path: "/S/h"}, services, false},
		{"other services", sent, map[string]*protocol.ServiceSpec{"S": {Name: "S"}}, false},
		{"more services", sent, map[string]*protocol.ServiceSpec{"S": spec, "T": {Name: "T"}}, false},
	}
	var read ReadRequests
	for _, tc := range tests {
		read.Reset()
		read.Note(1, tc.http, tc.services, marked)
		got := newIndex(&h, &read).Parsed(1)
		if taken := got.Key == "noted"; taken != tc.taken {
			t.Errorf("%s: reading taken %v, want %v", tc.name, taken, tc.taken)
		}
	}
	read.Reset()
	if got := newIndex(&h, &read).Parsed(1); got.Kind != RequestCall || got.Key != "" {
		t.Errorf("after Reset the index read %+v, want its own parse", got)
	}
}

// TestReadRequestsParseIsParseClientRequest: Parse reads every request as ParseClientRequest
// does, and notes it, though a reject's failure comes from the failures it kept (across Resets,
// past their bound, and for bodies too long to keep); a body written to after its reading
// changes nothing of the reading's failure.
func TestReadRequestsParseIsParseClientRequest(t *testing.T) {
	services := map[string]*protocol.ServiceSpec{"S": {Name: "S", Kind: protocol.ServiceStateless, Handlers: []protocol.HandlerSpec{{Name: "h"}}}}
	awk := protocol.AwakeableID{Invocation: invA, Index: 3}.String()
	var read ReadRequests
	rapid.Check(t, func(t *rapid.T) {
		read.Reset()
		n := rapid.IntRange(1, 3*maxRejectFailures).Draw(t, "requests")
		for i := 1; i <= n; i++ {
			body := fmt.Sprintf("reason %d", rapid.IntRange(0, 2*maxRejectFailures).Draw(t, "reason"))
			if rapid.IntRange(0, 20).Draw(t, "long") == 0 {
				body = strings.Repeat("x", maxRejectBody+rapid.IntRange(-1, 1).Draw(t, "past"))
			}
			action := rapid.SampledFrom([]string{"reject", "resolve"}).Draw(t, "action")
			if action == "resolve" {
				body = strconv.Quote(body)
			}
			h := &event.HTTP{Method: "POST", Path: "/restate/awakeables/" + awk + "/" + action, Body: []byte(body)}
			want := ParseClientRequest(h, services)
			got := *read.Parse(uint64(i), h, services)
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("request %d (%s %q): Parse differs from ParseClientRequest (-want +got):\n%s", i, action, body, d)
			}
			if got.Kind == RequestReject {
				clear(h.Body) // the client's buffer, reused
				if got.Result.Failure.Message != body {
					t.Fatalf("request %d: the failure's message changed with the body to %q, want %q", i, got.Result.Failure.Message, body)
				}
			}
			if noted := read.lookup(uint64(i), h); noted == nil || noted.Kind != want.Kind {
				t.Fatalf("request %d: noted %+v, want its reading", i, noted)
			}
		}
	})
}
