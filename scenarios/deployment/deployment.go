// Package deployment is the scenario of a bad in-place update of a handler's code, rolled back:
// Restate's non-determinism incident. Orders run a checkout handler (v1) that reserves stock,
// hands an awakeable to a payment provider and ships once paid. While orders are in flight the
// executor is replaced by v2, which sends the order to an audit service right after the
// reservation, where v1 creates the awakeable — another command at journal index 2 — and later
// rolled back to v1 (sim.World.Deploy, each replacing the executor as a redeploy does).
//
// What a Restate user sees: every v2 attempt that replays a v1 journal past the reservation gets
// a non-determinism error, which is retryable, so the order keeps retrying until fixed code (the
// rollback) is deployed and then finishes with v1's output. A v2 attempt on a journal holding no
// more than the reservation journals its send; the audit service is deployed nowhere, so the
// runtime fails the order in the same step, as Restate fails an invocation whose send names no
// handler. Its journal is finished at once — nothing v2 wrote is ever left for v1 to go on with,
// which a rollback would strand. The payment provider pays each awakeable once and never again,
// so a completion lost across all this shows as an unfinished order.
//
// The expected outcome (see Check): every order finishes, and its final journal is one
// version's: v1's shape with the output v1 computes from it, or v2's send with the runtime's
// refusal of it as the output. A runtime that let v2 replay a v1 journal unchecked would
// leave a journal neither version wrote, which this check and the replay twin both report.
//
// It imports the user kit (vigiltest), the simulator, the checkers' history and the runtime's
// handler API; nothing in the runtime imports it.
package deployment

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/scenarios/internal/wfload"
	"github.com/vigilsim/vigil/sim"
	"github.com/vigilsim/vigil/vigiltest"
)

// Scenario is the deployment scenario as the simulator runs it, built on the user kit.
var Scenario = vigiltest.Scenario{
	Name:        "deployment",
	Description: "an in-place update changes a handler's code under in-flight invocations (non-determinism), then is rolled back",
	Setup: func(s *vigiltest.Sim) {
		wl := &workload{s: s, w: s.World(), paid: map[string]bool{}}
		s.Services(NewService(wl, false))
		s.OnStart(wl.start)
		s.Checker(Check)
	},
}.Sim()

// Names of the service, its handler and the v1 steps, as the journal names them, and the
// audit handler v2 sends to, which no version deploys.
const (
	ServiceName  = "Checkout"
	HandlerName  = "checkout"
	StepReserve  = "reserve"
	StepAsk      = "ask-payment"
	StepShip     = "ship"
	AuditService = "Audit"
	AuditHandler = "record"
)

// AuditTarget is v2's audit send's target as its journal entry names it.
const AuditTarget = AuditService + "/" + AuditHandler

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

// NewService returns the Checkout service with v1's handler, or v2's when v2 is set: v2 sends
// the order to an audit service before it asks for payment, so its journal holds a send where
// v1's holds the awakeable.
func NewService(wd World, v2 bool) *durable.Service {
	return durable.NewService(ServiceName).Handler(HandlerName, durable.NewServiceHandler(func(ctx durable.Context, order string) (string, error) {
		stamp := func(name string) (int, error) {
			return durable.Run(ctx, func(durable.RunContext) (int, error) { return wd.Stamp(), nil }, durable.WithName(name))
		}
		reservation, err := stamp(StepReserve)
		if err != nil {
			return "", err
		}
		if v2 {
			durable.ServiceClient[string](ctx, AuditService, AuditHandler).Send(order)
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
	s      *vigiltest.Sim
	w      *sim.World
	stamps int
	paid   map[string]bool
	// badAt and fixedAt are when v2 and the rollback were deployed (zero: not yet).
	badAt, fixedAt time.Duration
}

// Stamp implements World.
func (wl *workload) Stamp() int {
	wl.stamps++
	return wl.stamps
}

func (wl *workload) start() {
	r := wl.s.Rand()
	for i := range 3 + r.Intn(6, "orders") {
		order := fmt.Sprintf("order-%d", i)
		wl.s.After(r.Duration(0, 25*time.Second, "order-at"), func() { wl.submit(order) })
	}
	bad := r.Duration(5*time.Second, 25*time.Second, "deploy-v2-at")
	wl.s.After(bad, func() {
		wl.badAt = wl.s.Now()
		wl.w.Deploy([]*durable.Service{NewService(wl, true)})
	})
	wl.s.After(bad+r.Duration(5*time.Second, 25*time.Second, "rollback-after"), func() {
		wl.fixedAt = wl.s.Now()
		wl.w.Deploy([]*durable.Service{NewService(wl, false)})
	})
}

// submit calls checkout for order with an idempotency key, again after connection errors, and
// reports what the answer shows of the deployments.
func (wl *workload) submit(order string) {
	at := wl.s.Now()
	vigiltest.Call(wl.s.NumberedClient("customer"), vigiltest.Service(ServiceName, HandlerName), order, func(rep vigiltest.Reply[string]) {
		switch {
		case rep.Status == 0: // in doubt: the connection failed for good
		case rep.Status != http.StatusOK && strings.Contains(string(rep.Body), AuditTarget):
			// v2 journaled its audit send, another command than v1's at that index.
			wl.w.Reach(sim.CoverDeploymentNewCommand)
		case rep.Status == http.StatusOK && wl.badAt > 0 && at < wl.badAt && wl.fixedAt > 0:
			// The order was in flight under v1 when v2 came, and finished on the rolled-back code.
			wl.w.Reach(sim.CoverDeploymentRolledBack)
		}
	}, wfload.Retrying(vigiltest.IdempotencyKey(order))...)
}

// AskPayment implements World: the provider pays each awakeable once, later, and never sends
// again once the runtime answered.
func (wl *workload) AskPayment(order, id string) {
	if wl.paid[id] {
		return
	}
	wl.paid[id] = true
	r := wl.s.Rand()
	c := wl.s.NumberedClient("payments")
	delay := r.Duration(0, 8*time.Second, "pay-delay")
	if r.Percent(30, "pay-late") {
		delay += r.Duration(10*time.Second, 20*time.Second, "pay-late-delay")
	}
	wl.s.After(delay, func() {
		vigiltest.ResolveAwakeable(c, id, c.Name()+" paid "+order, nil, wfload.Retrying()...)
	})
}
