// Package shop is a small application written the way a team using Vigil writes one, and tested
// the way such a team tests it (see shop_test.go): an Order object whose checkout asks a payment
// provider to charge the customer and waits for the provider's webhook on an awakeable, with a
// timeout; and a Shipment workflow that books a courier and waits for the pickup on a durable
// promise.
//
// PlantBug plants the classic mistake: the charge request is sent from handler code outside
// durable.Run, so every replay of the handler (after a crash, when it resumes from suspension)
// sends it again and the customer is charged twice. The test in shop_test.go catches it with
// the vigiltest kit; go test -run TestShop ./examples/shop -args -shop.bug shows the failure.
package shop

import (
	"errors"
	"fmt"
	"time"

	"github.com/vigilsim/vigil/runtime/durable"
)

// PlantBug moves the charge request out of durable.Run (see the package comment).
var PlantBug = false

// PaymentTimeout is how long checkout waits for the payment webhook.
const PaymentTimeout = 10 * time.Minute

// Cart is checkout's input.
type Cart struct {
	Customer    string `json:"customer"`
	AmountCents int    `json:"amountCents"`
}

// Payment is what the provider's webhook reports on the awakeable.
type Payment struct {
	ChargeID string `json:"chargeId"`
}

// Receipt is checkout's output.
type Receipt struct {
	Order    string `json:"order"`
	ChargeID string `json:"chargeId"`
}

// Payments is the payment provider: Charge asks it to charge the customer and to call the
// webhook (resolve or reject the awakeable callbackID) with the outcome. Charging is not
// idempotent: each call charges.
type Payments interface {
	Charge(order string, amountCents int, callbackID string) error
}

// Couriers book pickups: Book returns a booking reference.
type Couriers interface {
	Book(order string) (string, error)
}

// NewOrders returns the Order object: checkout(Cart) Receipt, keyed by order ID.
func NewOrders(payments Payments) *durable.Service {
	return durable.NewObject("Order").Handler("checkout", durable.NewObjectHandler(
		func(ctx durable.ObjectContext, cart Cart) (Receipt, error) {
			order := ctx.Key()
			paid := durable.Awakeable[Payment](ctx)
			if PlantBug {
				// The bug: a side effect in plain handler code. It runs again on every replay.
				if err := payments.Charge(order, cart.AmountCents, paid.ID()); err != nil {
					return Receipt{}, err
				}
			} else {
				_, err := durable.Run(ctx, func(durable.RunContext) (bool, error) {
					return true, payments.Charge(order, cart.AmountCents, paid.ID())
				}, durable.WithName("charge"))
				if err != nil {
					return Receipt{}, err
				}
			}
			timeout := durable.After(ctx, PaymentTimeout)
			first, err := durable.WaitFirst(ctx, paid, timeout)
			if err != nil {
				return Receipt{}, err
			}
			if first == timeout {
				durable.Set(ctx, "status", "payment-timed-out")
				return Receipt{}, durable.TerminalError(errors.New("payment timed out"), 408)
			}
			p, err := paid.Result() // a rejected payment is a terminal error
			if err != nil {
				durable.Set(ctx, "status", "payment-failed")
				return Receipt{}, err
			}
			durable.Set(ctx, "status", "paid")
			return Receipt{Order: order, ChargeID: p.ChargeID}, nil
		}))
}

// NewShipments returns the Shipment workflow: run(order) books a courier and waits for the
// "picked-up" promise, which the shared handler pickedUp(courier) resolves.
func NewShipments(couriers Couriers) *durable.Service {
	return durable.NewWorkflow("Shipment").
		Handler("run", durable.NewWorkflowHandler(func(ctx durable.WorkflowContext, order string) (string, error) {
			booking, err := durable.Run(ctx, func(durable.RunContext) (string, error) {
				return couriers.Book(order)
			}, durable.WithName("book-courier"))
			if err != nil {
				return "", err
			}
			courier, err := durable.Promise[string](ctx, "picked-up").Result()
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%s shipped with booking %s, picked up by %s", order, booking, courier), nil
		})).
		Handler("pickedUp", durable.NewWorkflowSharedHandler(func(ctx durable.WorkflowSharedContext, courier string) (bool, error) {
			// A courier's app retries; the first pickup wins and a repeat changes nothing.
			if err := durable.Promise[string](ctx, "picked-up").Resolve(courier); errors.Is(err, durable.ErrPromiseAlreadyCompleted) {
				return false, nil
			} else if err != nil {
				return false, err
			}
			return true, nil
		}))
}
