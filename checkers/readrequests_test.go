package checkers

import (
	"testing"

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
