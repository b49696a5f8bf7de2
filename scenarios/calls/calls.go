// Package calls is the scenario of durable calls between handlers: a checkout service calls a
// wallet object's exclusive debit handler and waits for it (the caller may suspend, crash and
// replay meanwhile), then sends a delayed notification to a mailer service without waiting.
// Clients submit checkouts over the ingress, by calls and sends, some with idempotency keys and
// retries, and some cancel theirs (PATCH /restate/invocation/{id}/cancel), which cancels the
// debit it waits on in turn. The mail carries a receipt ID and time from durable.UUID and
// durable.Now, which the replay twin holds to the same values on every replay. The scenario checks that every call and send started exactly one callee, whatever
// was retried, replayed or duplicated; that the debits of each wallet happened one at a time in
// acceptance order (each balance follows from the one before); and that every checkout's output
// is what its debit returned, a terminal failure included.
//
// It imports the user kit (vigiltest), the checkers and the runtime's handler API; nothing in the
// runtime imports it.
package calls

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/scenarios/internal/histutil"
	"github.com/vigilsim/vigil/vigiltest"
)

// Scenario is the calls scenario as the simulator runs it, built on the user kit.
var Scenario = vigiltest.Scenario{
	Name:        "calls",
	Description: "durable calls between handlers: checkout calls a wallet object, sends a delayed mail",
	Setup: func(s *vigiltest.Sim) {
		wl := &workload{s: s}
		s.Services(Services(wl)...)
		s.OnStart(wl.start)
		s.Checker(wl.Check)
	},
}.Sim()

// Service, object and handler names.
const (
	CheckoutService = "Checkout"
	CheckoutHandler = "checkout"
	WalletObject    = "Wallet"
	DebitHandler    = "debit"
	MailerService   = "Mailer"
	NotifyHandler   = "notify"
)

// InitialBalance is every wallet's balance before its first debit.
const InitialBalance = 100

// Order is a checkout's input.
type Order struct {
	ID       string `json:"id"`
	Customer string `json:"customer"`
	Amount   int    `json:"amount"`
}

// Mail is what a paid checkout sends the mailer.
type Mail struct {
	Order   string    `json:"order"`
	Receipt string    `json:"receipt"`
	PaidAt  time.Time `json:"paidAt"`
}

// Paid formats a successful checkout's output.
func Paid(o Order, balance int) string {
	return fmt.Sprintf("%s paid %d, balance %d", o.ID, o.Amount, balance)
}

// errInsufficient is the debit's terminal error: it reaches the checkout as its own.
var errInsufficient = errors.New("insufficient funds")

// Outbox is the outside world the mailer delivers to.
type Outbox interface{ Deliver(m Mail) }

// Services returns the three services: checkout calls debit and sends notify, which delivers the
// mail to outbox inside a Run.
func Services(outbox Outbox) []*durable.Service {
	checkout := durable.NewService(CheckoutService).Handler(CheckoutHandler, durable.NewServiceHandler(
		func(ctx durable.Context, o Order) (string, error) {
			balance, err := durable.ObjectClient[int](ctx, WalletObject, o.Customer, DebitHandler).Request(o.Amount)
			if err != nil {
				return "", err
			}
			// The receipt's ID and time come from the deterministic helpers: a replay, and the
			// replay twin, must send the very same mail.
			paidAt, err := durable.Now(ctx)
			if err != nil {
				return "", err
			}
			mail := Mail{Order: o.ID, Receipt: durable.UUID(ctx), PaidAt: paidAt}
			durable.ServiceClient[string](ctx, MailerService, NotifyHandler).Send(mail, durable.WithDelay(2*time.Second))
			return Paid(o, balance), nil
		}))
	wallet := durable.NewObject(WalletObject).Handler(DebitHandler, durable.NewObjectHandler(
		func(ctx durable.ObjectContext, amount int) (int, error) {
			balance, err := durable.Get[*int](ctx, "balance")
			if err != nil {
				return 0, err
			}
			b := InitialBalance
			if balance != nil {
				b = *balance
			}
			if amount > b {
				return 0, durable.TerminalError(errInsufficient, 402)
			}
			durable.Set(ctx, "balance", b-amount)
			return b - amount, nil
		}))
	mailer := durable.NewService(MailerService).Handler(NotifyHandler, durable.NewServiceHandler(
		func(ctx durable.Context, m Mail) (string, error) {
			if _, err := durable.Run(ctx, func(durable.RunContext) (bool, error) { outbox.Deliver(m); return true, nil },
				durable.WithName("deliver")); err != nil {
				return "", err
			}
			return fmt.Sprintf("notified %s, receipt %s", m.Order, m.Receipt), nil
		}))
	return []*durable.Service{checkout, wallet, mailer}
}

// workload drives shoppers and a browser from the run's random stream, as clients of the user
// kit, and is the outside world's mailbox.
type workload struct {
	s *vigiltest.Sim
	// delivered counts the mails the outside world received, by order (a Run may deliver
	// twice when a crash comes before its result is journaled).
	delivered map[string]int
}

// Deliver is the outside world's mailbox.
func (wl *workload) Deliver(m Mail) {
	if wl.delivered == nil {
		wl.delivered = map[string]int{}
	}
	wl.delivered[m.Order]++
}

func (wl *workload) start() {
	r := wl.s.Rand()
	n := 1 + r.Intn(10, "checkouts")
	for i := range n {
		o := Order{ID: fmt.Sprintf("order-%d", i), Customer: fmt.Sprintf("customer-%d", r.Intn(3, "customer")), Amount: 10 + r.Intn(50, "amount")}
		wl.s.After(r.Duration(0, 20*time.Second, "submit-at"), func() { wl.submit(o) })
	}
	// A browser checks the server's health and asks leave (a CORS preflight) to post checkouts.
	// Both are raw requests: they are about the ingress itself, not an invocation, and their
	// exact bytes (the Origin and Access-Control-Request-* headers) are what checkBrowser judges.
	browser := wl.s.Client("browser")
	wl.s.After(r.Duration(0, 20*time.Second, "browser-at"), func() {
		vigiltest.Raw(browser, http.MethodGet, "/restate/health", nil, http.Header{"Origin": {browserOrigin}}, nil)
		vigiltest.Raw(browser, http.MethodOptions, "/"+CheckoutService+"/"+CheckoutHandler, nil, http.Header{
			"Origin": {browserOrigin}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"content-type, idempotency-key"},
		}, nil)
	})
}

// browserOrigin is the web page some shoppers' requests come from.
const browserOrigin = "https://shop.example"

// submit sends or calls the checkout; with an idempotency key the kit retries it after a
// connection failure, as a careful client does (the first call's invocation answers every
// retry). Some shoppers cancel the checkout they sent.
func (wl *workload) submit(o Order) {
	r := wl.s.Rand()
	c := wl.s.NumberedClient("shopper")
	opts := []vigiltest.Option{vigiltest.Tries(21), vigiltest.Retry(100*time.Millisecond, 5*time.Second)}
	if r.Percent(50, "idempotent") {
		opts = append(opts, vigiltest.IdempotencyKey(o.ID))
	}
	if r.Percent(30, "from-browser") {
		opts = append(opts, vigiltest.Header("Origin", browserOrigin))
	}
	checkout := vigiltest.Service(CheckoutService, CheckoutHandler)
	if !r.Percent(50, "use-send") {
		// The answer is judged from the history (checkMail reads what the client received).
		vigiltest.Call[string](c, checkout, o, nil, opts...)
		return
	}
	cancel := r.Percent(30, "cancel")
	vigiltest.Send(c, checkout, o, func(rep vigiltest.Reply[string]) {
		if cancel && rep.Err == nil && rep.Value != "" {
			// Sent once: a lost cancel leaves the checkout to finish, which the checks judge too.
			wl.s.After(wl.s.Rand().Duration(0, 3*time.Second, "cancel-after"), func() { vigiltest.Cancel(c, rep.Value, nil, vigiltest.Tries(1)) })
		}
	}, opts...)
}

// Check states the scenario's expected outcome (see the package comment).
func (wl *workload) Check(h *checkers.History) []checkers.Violation {
	return append(check(h), checkMail(h, wl.delivered)...)
}

// checkMail judges from what the shoppers' clients received and what the outside world got,
// apart from the runtime's own account: a checkout whose caller was told it was paid delivered
// its mail at least once, and one whose caller was told it failed delivered none.
func checkMail(h *checkers.History, delivered map[string]int) []checkers.Violation {
	var vs []checkers.Violation
	orders := map[uint64]string{} // request -> the order its body names
	for i := range h.Events {
		e := &h.Events[i]
		switch e.Kind {
		case checkers.ClientRequest:
			if e.HTTP == nil || e.HTTP.Method != http.MethodPost || e.HTTP.Path != "/"+CheckoutService+"/"+CheckoutHandler {
				continue
			}
			var o Order
			if json.Unmarshal(e.HTTP.Body, &o) == nil && o.ID != "" {
				orders[e.Request] = o.ID
			}
		case checkers.ClientResponse:
			order, ok := orders[e.Request]
			if !ok || e.Entry.Kind != journal.KindOutput {
				continue
			}
			n := delivered[order]
			switch {
			case e.Result.Failure == nil && n == 0:
				vs = append(vs, checkers.Violation{Checker: "calls-mail", Message: fmt.Sprintf("%s: the shopper was told %s, but no mail reached the outside world", order, e.Result), Events: []int{i}})
			case e.Result.Failure != nil && n > 0:
				vs = append(vs, checkers.Violation{Checker: "calls-mail", Message: fmt.Sprintf("%s: the shopper was told %s, but %d mail(s) were delivered", order, e.Result, n), Events: []int{i}})
			}
		}
	}
	return vs
}

// callee is a Wallet or Mailer invocation as the history shows it.
type callee struct {
	seq     uint64
	id      protocol.InvocationID
	service string
	key     string
	journal []journal.Entry
	output  *journal.Result
}

func check(h *checkers.History) []checkers.Violation {
	var vs []checkers.Violation
	fail := func(id protocol.InvocationID, events []int, format string, args ...any) {
		vs = append(vs, checkers.Violation{Checker: "calls-outcome", Invocation: id, Message: fmt.Sprintf(format, args...), Events: events})
	}
	vs = append(vs, checkBrowser(h)...)
	callees := map[protocol.InvocationID]*callee{}
	var order []*callee
	checkouts := map[protocol.InvocationID]int{} // final journal's event index
	for i, e := range h.Events {
		switch e.Kind {
		case checkers.InvocationAccepted:
			if e.Service == WalletObject || e.Service == MailerService {
				if _, seen := callees[e.Invocation]; !seen {
					c := &callee{seq: e.Seq, id: e.Invocation, service: e.Service, key: e.Key}
					callees[e.Invocation] = c
					order = append(order, c)
				}
			}
		case checkers.InvocationDone:
			if c := callees[e.Invocation]; c != nil && c.output == nil {
				res := e.Result
				c.output, c.journal = &res, e.Journal
			}
			if _, seen := checkouts[e.Invocation]; !seen && len(e.Journal) > 0 && isCheckout(e.Journal) {
				checkouts[e.Invocation] = i
			}
		}
	}
	// Every call and send a finished checkout journaled started exactly one callee.
	var calls, sends int
	for _, i := range sortedValues(checkouts) {
		e := &h.Events[i]
		for _, en := range e.Journal {
			switch en.Kind {
			case journal.KindCall:
				calls++
			case journal.KindSend:
				sends++
			}
		}
		if err := checkOutput(e.Journal, e.Result); err != nil {
			fail(e.Invocation, []int{i}, "%v", err)
		}
	}
	count := func(service string) int {
		n := 0
		for _, c := range order {
			if c.service == service {
				n++
			}
		}
		return n
	}
	if got := count(WalletObject); got != calls {
		fail(protocol.InvocationID{}, nil, "%d debits were started for %d calls journaled by finished checkouts", got, calls)
	}
	if got := count(MailerService); got != sends {
		fail(protocol.InvocationID{}, nil, "%d notifications were started for %d sends journaled by finished checkouts", got, sends)
	}
	// Each wallet's debits ran one at a time in acceptance order: each balance follows from the
	// one before.
	slices.SortFunc(order, func(a, b *callee) int { return int(a.seq) - int(b.seq) })
	balance := map[string]int{}
	for _, c := range order {
		if c.service != WalletObject || c.output == nil || len(c.journal) == 0 {
			continue
		}
		var amount int
		_ = json.Unmarshal(c.journal[0].Result.Value, &amount)
		before, ok := balance[c.key]
		if !ok {
			before = InitialBalance
		}
		switch {
		case c.output.Failure != nil && (amount > before || histutil.IsCancelled(*c.output)):
			// Refused for want of funds, or cancelled with its checkout: the balance stays.
		case c.output.Failure != nil:
			fail(c.id, nil, "debit of %d from %s failed with %s although the balance was %d", amount, c.key, c.output, before)
		default:
			var after int
			_ = json.Unmarshal(c.output.Value, &after)
			if after != before-amount {
				fail(c.id, nil, "debit of %d from %s left %d, want %d (balance before: %d)", amount, c.key, after, before-amount, before)
			}
			balance[c.key] = after
		}
	}
	return vs
}

func isCheckout(j []journal.Entry) bool {
	var o Order
	return j[0].Kind == journal.KindInput && json.Unmarshal(j[0].Result.Value, &o) == nil && o.ID != "" && o.Customer != ""
}

// checkOutput derives the checkout's output from its final journal: the debit call's result.
func checkOutput(j []journal.Entry, out journal.Result) error {
	if len(j) < 3 || j[1].Kind != journal.KindCall || !j[1].Completed {
		if out.Failure != nil && out.Failure.Code != 402 {
			// The engine's own verdict (retries ran out, cancelled before it started, ...):
			// other checkers judge it.
			return nil
		}
		return fmt.Errorf("final journal %v has no completed call at index 1", j)
	}
	debit := j[1].Result
	if debit.Failure != nil {
		if !out.Equal(journal.Result{Failure: debit.Failure}) {
			return fmt.Errorf("the debit failed with %s, the checkout's output is %s", debit, out)
		}
		return nil
	}
	var o Order
	var balance int
	_ = json.Unmarshal(j[0].Result.Value, &o)
	if err := json.Unmarshal(debit.Value, &balance); err != nil {
		return fmt.Errorf("the debit returned %s: %v", debit, err)
	}
	want, _ := json.Marshal(Paid(o, balance))
	if !out.Equal(journal.Result{Value: want}) {
		return fmt.Errorf("output %s, want %s (debit returned %s)", out, want, debit)
	}
	return nil
}

func sortedValues(m map[protocol.InvocationID]int) []int {
	var vs []int
	for _, v := range m {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs
}

// checkBrowser holds the ingress to what a browser needs, judged from the bytes the clients sent
// and received: a request with an Origin gets it back in Access-Control-Allow-Origin, a
// preflight is answered 204 with the method allowed, and the health probe says ready.
func checkBrowser(h *checkers.History) []checkers.Violation {
	var vs []checkers.Violation
	requests := map[uint64]*checkers.Event{}
	for i := range h.Events {
		e := &h.Events[i]
		switch e.Kind {
		case checkers.ClientRequest:
			requests[e.Request] = e
		case checkers.ClientResponse:
			req := requests[e.Request]
			if req == nil || e.HTTP == nil || req.HTTP == nil {
				continue
			}
			fail := func(format string, args ...any) {
				vs = append(vs, checkers.Violation{Checker: "calls-browser", Message: fmt.Sprintf(format, args...), Events: []int{i}})
			}
			origin, fromBrowser := req.HTTP.Get("Origin")
			allowed, _ := e.HTTP.Get("Access-Control-Allow-Origin")
			if fromBrowser && allowed != origin {
				fail("%s %s from origin %s: Access-Control-Allow-Origin is %q", req.HTTP.Method, req.HTTP.Path, origin, allowed)
			}
			switch {
			case req.HTTP.Method == http.MethodOptions:
				methods, _ := e.HTTP.Get("Access-Control-Allow-Methods")
				if e.HTTP.Status != http.StatusNoContent || !strings.Contains(methods, "POST") {
					fail("the preflight got %d with Access-Control-Allow-Methods %q, want 204 allowing POST", e.HTTP.Status, methods)
				}
			case req.HTTP.Path == "/restate/health" && e.HTTP.Status != http.StatusOK:
				fail("the health probe got %d %s while the runtime answered", e.HTTP.Status, e.HTTP.Body)
			}
		}
	}
	return vs
}
