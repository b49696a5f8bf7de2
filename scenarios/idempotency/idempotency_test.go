package idempotency

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/sim"
)

// TestScenario runs the scenario over a few seeds: no checker and no expected-outcome rule may
// fail.
func TestScenario(t *testing.T) {
	sim.Check(t, Scenario, sim.CheckOptions{Seeds: 60})
}

// TestDeterminism runs seeds twice: the same seed must give the same trace hash.
func TestDeterminism(t *testing.T) {
	sim.CheckDeterminism(t, Scenario, sim.CheckOptions{Seeds: 20})
}

// story builds a history: client-1 calls Mailer/send with key k and creates inv1; client-2
// repeats it later and is answered by second (created in its span when fresh is set); the
// key's forgetting is recorded at purgeAt (before client-2's request when early is set).
func story(second protocol.InvocationID, secondTarget Target, fresh, purged bool, purgeAfter time.Duration) (*checkers.History, map[string]op) {
	inv1 := protocol.InvocationID{15: 1}
	send := Target{MailerName, Send, ""}
	out := func(s string) journal.Result { b, _ := json.Marshal(s); return journal.Result{Value: b} }
	var ev []checkers.Event
	add := func(at time.Duration, e checkers.Event) { e.At, e.Clock = at, at; ev = append(ev, e) }
	acc := func(at time.Duration, inv protocol.InvocationID, t Target) {
		add(at, checkers.Event{Kind: checkers.InvocationAccepted, Invocation: inv, Service: t.Service, Handler: t.Handler, Key: t.Key, IdempotencyKey: "k"})
	}
	reason := "POST /Mailer/send"
	sent := &event.HTTP{Method: "POST", Path: "/Mailer/send", Header: []event.Header{{Name: "Idempotency-Key", Value: "k"}}}
	add(0, checkers.Event{Kind: checkers.ClientRequest, Node: "client-1", Request: 1, Reason: reason, HTTP: sent})
	acc(time.Millisecond, inv1, send)
	add(2*time.Millisecond, checkers.Event{Kind: checkers.InvocationDone, Invocation: inv1, Result: out("one")})
	add(3*time.Millisecond, checkers.Event{Kind: checkers.ClientResponse, Node: "client-1", Request: 1, Status: 200, Invocation: inv1,
		Reason: reason + `: 200 "one"`, HTTP: &event.HTTP{Status: 200, Body: []byte(`"one"`)}, Entry: journal.Entry{Kind: journal.KindOutput}, Result: out("one")})
	if purged {
		add(2*time.Millisecond+purgeAfter, checkers.Event{Kind: checkers.Purged, Invocation: inv1, IdempotencyKey: "k", Purge: event.PurgeIdempotency})
	}
	at := 2*time.Millisecond + IdempotencyRetention + time.Second
	add(at, checkers.Event{Kind: checkers.ClientRequest, Node: "client-2", Request: 2, Reason: reason, HTTP: sent})
	if fresh {
		acc(at+time.Millisecond, second, secondTarget)
		add(at+2*time.Millisecond, checkers.Event{Kind: checkers.InvocationDone, Invocation: second, Result: out("two")})
	}
	body := `"one"`
	if second != inv1 {
		body = `"two"`
	}
	add(at+3*time.Millisecond, checkers.Event{Kind: checkers.ClientResponse, Node: "client-2", Request: 2, Status: 200, Invocation: second,
		Reason: fmt.Sprintf("%s: 200 %s", reason, body), HTTP: &event.HTTP{Status: 200, Body: []byte(body)}, Entry: journal.Entry{Kind: journal.KindOutput}, Result: out(body[1 : len(body)-1])})
	ops := map[string]op{"client-1": {kind: opCall, target: send, idem: "k"}, "client-2": {kind: opCall, target: send, idem: "k"}}
	return &checkers.History{Events: ev}, ops
}

// TestCheck shows the rules passing a key that expired and started afresh, and failing each
// way a runtime can get that wrong.
func TestCheck(t *testing.T) {
	inv1, inv2 := protocol.InvocationID{15: 1}, protocol.InvocationID{15: 2}
	send, notify := Target{MailerName, Send, ""}, Target{MailerName, Notify, ""}
	tests := []struct {
		name   string
		second protocol.InvocationID
		target Target
		fresh  bool
		purged bool
		after  time.Duration
		want   string
	}{
		{"expired then fresh", inv2, send, true, true, IdempotencyRetention, ""},
		{"remembered", inv1, send, false, false, 0, ""},
		{"fresh while held", inv2, send, true, false, 0, "fresh:"},
		{"forgotten early", inv2, send, true, true, IdempotencyRetention / 2, "expiry:"},
		{"answered from a forgotten key", inv1, send, false, true, IdempotencyRetention, "remembered:"},
		{"another target's invocation", inv2, notify, true, true, IdempotencyRetention, "scope:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, ops := story(tc.second, tc.target, tc.fresh, tc.purged, tc.after)
			vs := Check(h, ops, 0)
			if tc.want == "" {
				require.Empty(t, vs)
				return
			}
			require.NotEmpty(t, vs)
			require.Contains(t, vs[0].Message, tc.want)
		})
	}
}
