// Package deployment is the scenario of a bad in-place update of a handler's code, rolled back:
// Restate's non-determinism incident. Orders run a checkout handler (v1) that reserves stock,
// hands an awakeable to a payment provider and ships once paid. While orders are in flight the
// executor is replaced by v2, which inserts a fraud check before the reservation, and later
// rolled back to v1 (sim.World.Deploy, each replacing the executor as a redeploy does). Every
// v2 attempt that replays a v1 journal diverges at its first entry and must fail with a
// non-determinism error, never run on with a journal that is not its own; a v2 attempt on a
// journal holding only the input runs the fraud check, whose service is not deployed yet, so it
// fails before journaling anything and leaves nothing v1 cannot replay. After the rollback every
// order finishes. The payment provider pays each awakeable once and never again, so a completion
// lost across all this shows as an unfinished order.
//
// The expected outcome (see Check): every order finishes with its handler's own output, whose
// final journal has v1's shape and whose output v1 computes from it; no attempt ever journaled a
// v2 entry, and no journal entry was ever emitted twice at one index with different commands.
//
// It imports the simulator, the checkers' history and the runtime's handler API; nothing in the
// runtime imports it.
package deployment

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/scenarios/internal/wfload"
	"github.com/vigilsim/vigil/sim"
)

// Scenario is the deployment scenario as the simulator runs it.
var Scenario = sim.Scenario{
	Name:        "deployment",
	Description: "an in-place update changes a handler's code under in-flight invocations (non-determinism), then is rolled back",
	New:         func(w *sim.World) sim.Workload { return newWorkload(w) },
}

// Names of the service, its handler and the v1 steps, as the journal names them.
const (
	ServiceName = "Checkout"
	HandlerName = "checkout"
	StepReserve = "reserve"
	StepAsk     = "ask-payment"
	StepShip    = "ship"
	StepFraud   = "fraud-check"
)

// Outcome is v1's output for an order, its reservation, the payment and the shipment.
func Outcome(order string, reservation int, payment string, shipment int) string {
	return fmt.Sprintf("%s: reservation %d, %s, shipment %d", order, reservation, payment, shipment)
}

// World is what the handler reaches outside: stamps for reservations and shipments, and the
// payment provider.
type World interface {
	// Stamp returns a number never returned before.
	Stamp() int
	// AskPayment hands the awakeable id of order to the payment provider.
	AskPayment(order, id string)
}

// errFraudDown is v2's fraud check failing: its service is not deployed yet.
var errFraudDown = errors.New("fraud-check service unavailable")

// NewService returns the Checkout service with v1's handler, or v2's when v2 is set.
func NewService(wd World, v2 bool) *durable.Service {
	return durable.NewService(ServiceName).Handler(HandlerName, durable.NewServiceHandler(func(ctx durable.Context, order string) (string, error) {
		stamp := func(name string) (int, error) {
			return durable.Run(ctx, func(durable.RunContext) (int, error) { return wd.Stamp(), nil }, durable.WithName(name))
		}
		if v2 {
			if _, err := durable.Run(ctx, func(durable.RunContext) (bool, error) { return false, errFraudDown }, durable.WithName(StepFraud)); err != nil {
				return "", err
			}
		}
		reservation, err := stamp(StepReserve)
		if err != nil {
			return "", err
		}
		paid := durable.Awakeable[string](ctx)
		if _, err := durable.Run(ctx, func(durable.RunContext) (bool, error) {
			wd.AskPayment(order, paid.ID())
			return true, nil
		}, durable.WithName(StepAsk)); err != nil {
			return "", err
		}
		payment, err := paid.Result()
		if err != nil {
			return "", err
		}
		shipment, err := stamp(StepShip)
		if err != nil {
			return "", err
		}
		return Outcome(order, reservation, payment, shipment), nil
	}))
}

// workload drives the orders, the payment provider and the deployments.
type workload struct {
	w      *sim.World
	cl     *wfload.Clients
	stamps int
	paid   map[string]bool
}

func newWorkload(w *sim.World) *workload {
	return &workload{w: w, cl: wfload.New(w, ServiceName), paid: map[string]bool{}}
}

func (wl *workload) Services() []*durable.Service { return []*durable.Service{NewService(wl, false)} }

// Stamp implements World.
func (wl *workload) Stamp() int {
	wl.stamps++
	return wl.stamps
}

func (wl *workload) Start() {
	r := wl.w.Rand()
	for i := range 3 + r.Intn(6, "orders") {
		order := fmt.Sprintf("order-%d", i)
		wl.w.After(r.Duration(0, 25*time.Second, "order-at"), func() { wl.submit(order) })
	}
	bad := r.Duration(5*time.Second, 25*time.Second, "deploy-v2-at")
	wl.w.After(bad, func() { wl.w.Deploy([]*durable.Service{NewService(wl, true)}) })
	wl.w.After(bad+r.Duration(5*time.Second, 25*time.Second, "rollback-after"), func() {
		wl.w.Deploy([]*durable.Service{NewService(wl, false)})
	})
}

// submit calls checkout for order with an idempotency key, again after connection errors.
func (wl *workload) submit(order string) {
	body, _ := json.Marshal(order)
	header := http.Header{"Idempotency-Key": []string{order}}
	wl.cl.Call(wl.cl.Name("customer"), http.MethodPost, "/"+ServiceName+"/"+HandlerName, body, header, func(sim.Response) {})
}

// AskPayment implements World: the provider pays each awakeable once, later, and never sends
// again once the runtime answered.
func (wl *workload) AskPayment(order, id string) {
	if wl.paid[id] {
		return
	}
	wl.paid[id] = true
	r := wl.w.Rand()
	name := wl.cl.Name("payments")
	delay := r.Duration(0, 8*time.Second, "pay-delay")
	if r.Percent(30, "pay-late") {
		delay += r.Duration(10*time.Second, 20*time.Second, "pay-late-delay")
	}
	body, _ := json.Marshal(name + " paid " + order)
	wl.w.After(delay, func() {
		wl.cl.Call(name, http.MethodPost, "/restate/awakeables/"+id+"/resolve", body, nil, func(sim.Response) {})
	})
}
