package calls

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/vigilsim/vigil/checkers"
	hist "github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/sim"
)

func TestCallsSurviveChaos(t *testing.T) {
	sim.Check(t, Scenario, sim.CheckOptions{Seeds: 150})
}

func TestCallsAreDeterministic(t *testing.T) {
	sim.CheckDeterminism(t, Scenario, sim.CheckOptions{Seeds: 10})
}

func jsonOf(v any) journal.Result {
	b, _ := json.Marshal(v)
	return journal.Result{Value: b}
}

// history builds a run in which checkout c debited amount from customer-0 and its debit answered
// debit; extra adds events after.
func history(c protocol.InvocationID, amount int, debit journal.Result, out journal.Result, extra ...checkers.Event) *checkers.History {
	o := Order{ID: "order-0", Customer: "customer-0", Amount: amount}
	wallet := protocol.InvocationID{15: 2}
	mail := protocol.InvocationID{15: 3}
	call := journal.Entry{Kind: journal.KindCall, Target: "Wallet/debit", Name: o.Customer, Param: jsonOf(amount), Completed: true, Result: debit}
	send := journal.Entry{Kind: journal.KindSend, Target: "Mailer/notify", Param: jsonOf(o.ID)}
	j := []journal.Entry{{Kind: journal.KindInput, Result: jsonOf(o)}, call, send, {Kind: journal.KindOutput, Result: out}}
	events := []checkers.Event{
		{Kind: checkers.InvocationAccepted, Invocation: c, Service: CheckoutService, Seq: 1},
		{Kind: checkers.InvocationAccepted, Invocation: wallet, Service: WalletObject, Key: o.Customer, Seq: 2},
		{Kind: checkers.InvocationDone, Invocation: wallet, Result: debit, Journal: []journal.Entry{{Kind: journal.KindInput, Result: jsonOf(amount)}, {Kind: journal.KindOutput, Result: debit}}},
		{Kind: checkers.InvocationAccepted, Invocation: mail, Service: MailerService, Seq: 3},
		{Kind: checkers.InvocationDone, Invocation: c, Result: out, Journal: j},
	}
	return &checkers.History{Events: append(events, extra...)}
}

// TestCheckFails shows the scenario's check failing on each wrong outcome and passing on the
// right ones.
func TestCheckFails(t *testing.T) {
	c := protocol.InvocationID{15: 1}
	o := Order{ID: "order-0", Customer: "customer-0", Amount: 30}
	declined := journal.Result{Failure: &journal.Failure{Code: 402, Message: "insufficient funds"}}
	tests := []struct {
		name string
		h    *checkers.History
		want string
	}{
		{"paid", history(c, 30, jsonOf(70), jsonOf(Paid(o, 70))), ""},
		{"declined", history(c, 130, declined, declined), ""},
		{"output not from the debit", history(c, 30, jsonOf(70), jsonOf(Paid(o, 71))), "want"},
		{"debit failure lost", history(c, 130, declined, jsonOf("ok")), "the debit failed"},
		{"wrong balance", history(c, 30, jsonOf(80), jsonOf(Paid(o, 80))), "left 80, want 70"},
		{"a second debit for one call", history(c, 30, jsonOf(70), jsonOf(Paid(o, 70)),
			checkers.Event{Kind: checkers.InvocationAccepted, Invocation: protocol.InvocationID{15: 9}, Service: WalletObject, Key: "customer-0", Seq: 4}), "2 debits were started for 1 calls"},
		{"a second mail for one send", history(c, 30, jsonOf(70), jsonOf(Paid(o, 70)),
			checkers.Event{Kind: checkers.InvocationAccepted, Invocation: protocol.InvocationID{15: 8}, Service: MailerService, Seq: 5}), "2 notifications were started for 1 sends"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := check(tt.h)
			if tt.want == "" {
				assert.Empty(t, vs)
				return
			}
			if assert.NotEmpty(t, vs) {
				assert.Contains(t, vs[0].Message, tt.want)
			}
		})
	}
}

// TestBrowserCheckFails shows the browser check failing on a response that drops the CORS echo,
// a preflight refused, and a health probe that is not ready.
func TestBrowserCheckFails(t *testing.T) {
	exchange := func(method, path string, reqHeader []hist.Header, status int, respHeader []hist.Header) *checkers.History {
		return &checkers.History{Events: []checkers.Event{
			{Kind: checkers.ClientRequest, Request: 1, HTTP: &hist.HTTP{Method: method, Path: path, Header: reqHeader}},
			{Kind: checkers.ClientResponse, Request: 1, HTTP: &hist.HTTP{Status: status, Header: respHeader}},
		}}
	}
	origin := []hist.Header{{Name: "Origin", Value: browserOrigin}}
	echoed := []hist.Header{{Name: "access-control-allow-origin", Value: browserOrigin}}
	tests := []struct {
		name string
		h    *checkers.History
		want string
	}{
		{"echoed", exchange("POST", "/Checkout/checkout", origin, 200, echoed), ""},
		{"echo dropped", exchange("POST", "/Checkout/checkout", origin, 200, nil), "Access-Control-Allow-Origin is \"\""},
		{"preflight refused", exchange("OPTIONS", "/Checkout/checkout", origin, 405, echoed), "want 204 allowing POST"},
		{"not ready", exchange("GET", "/restate/health", nil, 503, nil), "the health probe got 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := checkBrowser(tt.h)
			if tt.want == "" {
				assert.Empty(t, vs)
			} else if assert.NotEmpty(t, vs) {
				assert.Contains(t, vs[0].Message, tt.want)
			}
		})
	}
}

// TestMailCheckFails shows the mail check failing when a shopper told "paid" got no mail, or one
// told "failed" got one; it reads only what the client received and what the outbox got.
func TestMailCheckFails(t *testing.T) {
	o := Order{ID: "order-0", Customer: "customer-0", Amount: 30}
	body, _ := json.Marshal(o)
	paid := jsonOf(Paid(o, 70))
	declined := journal.Result{Failure: &journal.Failure{Code: 402, Message: "insufficient funds"}}
	exchange := func(out journal.Result) *checkers.History {
		return &checkers.History{Events: []checkers.Event{
			{Kind: checkers.ClientRequest, Request: 1, HTTP: &hist.HTTP{Method: "POST", Path: "/Checkout/checkout", Body: body}},
			{Kind: checkers.ClientResponse, Request: 1, Entry: journal.Entry{Kind: journal.KindOutput}, Result: out},
		}}
	}
	tests := []struct {
		name      string
		out       journal.Result
		delivered map[string]int
		want      string
	}{
		{"paid and mailed (twice is allowed)", paid, map[string]int{"order-0": 2}, ""},
		{"declined and not mailed", declined, nil, ""},
		{"paid, no mail", paid, nil, "no mail reached the outside world"},
		{"declined, mailed", declined, map[string]int{"order-0": 1}, "1 mail(s) were delivered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := checkMail(exchange(tt.out), tt.delivered)
			if tt.want == "" {
				assert.Empty(t, vs)
			} else if assert.NotEmpty(t, vs) {
				assert.Contains(t, vs[0].Message, tt.want)
			}
		})
	}
}
