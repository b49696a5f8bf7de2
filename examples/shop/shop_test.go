package shop_test

import (
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/vigilsim/vigil/examples/shop"
	"github.com/vigilsim/vigil/vigiltest"
)

// -shop.bug plants the bug (a charge sent outside durable.Run): go test ./examples/shop -args -shop.bug
var bug = flag.Bool("shop.bug", false, "plant the bug: charge outside durable.Run")

// TestShop runs the shop under crashes and faults; every failure prints the go test line that
// reruns exactly the failing run.
func TestShop(t *testing.T) {
	shop.PlantBug = *bug
	vigiltest.Check(t, Scenario, vigiltest.Options{Seeds: 40})
}

// Charge is what the fake payment provider records for each charge it makes.
type Charge struct {
	ChargeID    string
	AmountCents int
}

// charged is a fact: the provider charged an order.
var charged = vigiltest.NewFact[Charge]("charged")

// Scenario is the shop under test: customers check out and ship orders, a payment provider
// answers on a webhook, couriers pick up; invariants say what customers must be able to trust.
var Scenario = vigiltest.Scenario{
	Name:        "shop",
	Description: "orders paid over a webhook awakeable with a timeout, shipped by a workflow",
	Setup: func(s *vigiltest.Sim) {
		psp := &provider{s: s, webhook: s.Client("psp"), charges: map[string]int{}}
		s.Services(shop.NewOrders(psp), shop.NewShipments(&couriers{s: s, app: s.Client("courier-app")}))

		orders := 1 + s.Rand().Intn(5, "orders")
		for i := range orders {
			order := fmt.Sprintf("order-%d", i)
			s.Actor("customer-"+order, func(c *vigiltest.Client) {
				c.After(s.Rand().Duration(0, 20*time.Second, "checkout-at"), func() { checkout(c, order) })
			})
		}

		s.Invariant("charged-once", func(h *vigiltest.History) []vigiltest.Violation {
			byOrder := map[string][]vigiltest.Recorded[Charge]{}
			var order []string
			for _, c := range charged.In(h) {
				if byOrder[c.Key] == nil {
					order = append(order, c.Key)
				}
				byOrder[c.Key] = append(byOrder[c.Key], c)
			}
			var vs []vigiltest.Violation
			for _, key := range order {
				var outside, events []int
				replayed := ""
				for _, c := range byOrder[key] {
					events = append(events, c.Index)
					if !c.InRun {
						outside = append(outside, c.Index)
					}
					if c.Replay >= 0 && replayed == "" {
						// The decisive evidence: the charge ran again while the handler was
						// only being replayed.
						replayed = "; one was " + c.Where(h)
						events = append(events, c.Replay)
					}
				}
				if len(outside) > 0 {
					vs = append(vs, vigiltest.Violationf("%s charged %d times, %d of them by handler code outside durable.Run, which runs again at every replay%s",
						key, len(byOrder[key]), len(outside), replayed).At(events...))
				}
			}
			return vs
		})

		s.Invariant("paid-orders-ship", func(h *vigiltest.History) []vigiltest.Violation {
			var vs []vigiltest.Violation
			for _, inv := range h.Invocations(vigiltest.Query{Service: "Order", Handler: "checkout"}) {
				receipt, err := vigiltest.OutputOf[shop.Receipt](inv)
				if err != nil {
					continue // not paid: declined or timed out
				}
				runs := h.Invocations(vigiltest.Query{Service: "Shipment", Key: inv.Key})
				if len(runs) == 0 || !runs[0].Done {
					vs = append(vs, vigiltest.Violationf("%s was paid (charge %s) but never shipped", inv.Key, receipt.ChargeID).Of(inv))
				}
			}
			return vs
		})
	},
}

// checkout is a customer: pay (idempotently, so a retry after a dropped connection is safe),
// then ship and wait for the delivery.
func checkout(c *vigiltest.Client, order string) {
	cart := shop.Cart{Customer: c.Name(), AmountCents: 100 * (1 + c.Sim().Rand().Intn(50, "amount"))}
	vigiltest.Call(c, vigiltest.Object("Order", order, "checkout"), cart, func(r vigiltest.Reply[shop.Receipt]) {
		if r.Err != nil {
			return // declined, timed out, or in doubt after every retry
		}
		ship := vigiltest.Workflow("Shipment", order)
		vigiltest.SubmitWorkflow(c, ship, order, func(r vigiltest.Reply[string]) {
			if r.Err == nil {
				vigiltest.AttachWorkflow[string](c, ship, nil)
			}
		})
	}, vigiltest.IdempotencyKey("checkout-"+order))
}

// provider is a fake payment provider: it charges (recording the fact), then calls the webhook
// after a while — usually to confirm, sometimes to decline, and now and then never.
type provider struct {
	s       *vigiltest.Sim
	webhook *vigiltest.Client
	charges map[string]int
}

func (p *provider) Charge(order string, amountCents int, callbackID string) error {
	p.charges[order]++
	id := fmt.Sprintf("ch-%s-%d", order, p.charges[order])
	charged.Record(p.s, order, Charge{ChargeID: id, AmountCents: amountCents})
	r := p.s.Rand()
	switch n := r.Intn(100, "psp-outcome"); {
	case n < 5: // the webhook is never sent: checkout times out
	case n < 15:
		p.s.After(r.Duration(time.Second, 30*time.Second, "psp-delay"), func() {
			vigiltest.RejectAwakeable(p.webhook, callbackID, "card declined", nil)
		})
	default:
		p.s.After(r.Duration(time.Second, 30*time.Second, "psp-delay"), func() {
			vigiltest.ResolveAwakeable(p.webhook, callbackID, shop.Payment{ChargeID: id}, nil)
		})
	}
	return nil
}

// couriers is a fake courier company: a booking is picked up a little later, and the courier's
// app tells the shipment workflow.
type couriers struct {
	s   *vigiltest.Sim
	app *vigiltest.Client
}

func (c *couriers) Book(order string) (string, error) {
	c.s.After(c.s.Rand().Duration(time.Second, time.Minute, "pickup-delay"), func() {
		vigiltest.Call[bool](c.app, vigiltest.Workflow("Shipment", order).On("pickedUp"), "courier-7", nil,
			vigiltest.IdempotencyKey("pickup-"+order))
	})
	return "booking-" + order, nil
}
