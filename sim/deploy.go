package sim

import (
	"fmt"
	"slices"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// Workload points: features of the runtime that only a client can tell were exercised (a
// route it used, two answers it compared). A scenario reports them with World.Reach once it
// has seen the answer that shows the feature worked, so that -require-coverage fails when a
// scenario stops reaching them. They are listed with the simulator's points.
const (
	CoverIdempotencyTwoTargets Point = "idempotency-key-on-two-targets"
	CoverIdempotencyReused     Point = "idempotency-key-reused-after-expiry"
	CoverIdempotentSend        Point = "idempotent-send-previously-accepted"
	CoverDelayedSend           Point = "delayed-send-answered"
	CoverAwakeableAlias        Point = "awakeable-completed-via-short-route"
	CoverStateKeysChecked      Point = "object-state-keys-read-back"
	CoverDeployment            Point = "executor-redeployed-with-new-code"
	// CoverDeploymentNewCommand and CoverDeploymentRolledBack are scenarios/deployment's: an
	// order answered with the failure of the call its redeployed code journals where the first
	// version journals an awakeable, and one in flight across the redeployment answered with the
	// first version's output after the rollback.
	CoverDeploymentNewCommand Point = "redeployed-code-journaled-another-command"
	CoverDeploymentRolledBack Point = "order-across-redeployment-finished-after-rollback"
	// CoverTwinEarlierVersion is the replay twin's: a persisted journal that the last deployed
	// code diverges from and an earlier version replays in full. It is listed here, with the
	// deployments that make it reachable.
	CoverTwinEarlierVersion Point = "twin-journal-fits-an-earlier-version"
)

// workloadPoints describes the workload points.
var workloadPoints = map[Point]string{
	CoverIdempotencyTwoTargets: "one idempotency key sent to two targets (handler or object key) got two invocations",
	CoverIdempotencyReused:     "an idempotency key used again after its retention started a fresh invocation",
	CoverIdempotentSend:        "a /send repeating an idempotency key got 202 PreviouslyAccepted",
	CoverDelayedSend:           "a delayed send (POST .../send?delay=) was accepted and later ran",
	CoverAwakeableAlias:        "a client resolved or rejected an awakeable through /restate/a/{id}/...",
	CoverStateKeysChecked:      "a client read back an object's state keys after Clear or ClearAll",
	CoverDeployment:            "the executor was replaced by a deployment with other handler code",
	CoverDeploymentNewCommand:  "a client got the answer of an order whose journal the redeployed code wrote with another command than the first version's at an index",
	CoverDeploymentRolledBack:  "a client got the first version's answer, after the rollback, to an order it sent before the redeployment",
	CoverTwinEarlierVersion:    "the replay twin judged a persisted journal that the last deployed code diverges from and an earlier version replays in full",
}

// Reach counts one reach of the workload point p: a scenario saw the answer that shows the
// feature p names worked. Reporting changes nothing the run does, so it leaves the trace hash
// alone.
func (w *World) Reach(p Point) {
	if _, ok := workloadPoints[p]; !ok {
		panic(fmt.Sprintf("sim: Reach(%q): not a workload point", p))
	}
	w.cover(p)
}

// Deploy replaces the handler code the executor runs, as an in-place update of a deployment
// does in Restate: the executor process is replaced (its attempts in flight break, as a crash
// breaks them) and every attempt from then on, replays included, runs services. The services
// must be those the scenario declared (Workload.Services) with the same names, kinds and
// handlers; only their code may differ. The engine keeps the declared specs. The replay twin
// keeps every version deployed so far and judges each journal against them all: some single
// version must replay all of it, since a deployment whose code diverges from a journal must be
// stopped by the executor with a non-determinism error before it journals anything more.
func (w *World) Deploy(services []*durable.Service) {
	if !sameSpecs(w.services, services) {
		panic("sim: Deploy: the deployment's services differ from the declared ones in names, kinds or handlers")
	}
	w.executor.services = services
	w.twin.deployments = append(w.twin.deployments, services)
	w.cover(CoverDeployment)
	w.Record(checkers.Event{Kind: checkers.NodeCrashed, Node: "executor", Reason: "replaced by a new deployment"})
	if w.executor.up {
		lost := w.executor.ex.Crash()
		w.executor.up = false
		w.executor.gen++
		w.executor.ex = nil
		w.endPause(&w.executor.pause)
		for _, m := range lost {
			w.connectionLost(m)
		}
	}
	w.executor.restartIfDown()
}

// sameSpecs reports whether two sets of services describe the same services for the engine.
func sameSpecs(a, b []*durable.Service) bool {
	spec := func(s []*durable.Service) []protocol.ServiceSpec {
		out := make([]protocol.ServiceSpec, len(s))
		for i, sv := range s {
			out[i] = sv.Spec()
		}
		return out
	}
	return slices.EqualFunc(spec(a), spec(b), func(x, y protocol.ServiceSpec) bool {
		return x.Name == y.Name && x.Kind == y.Kind && x.Retention == y.Retention &&
			x.IdempotencyRetention == y.IdempotencyRetention && slices.Equal(x.Handlers, y.Handlers)
	})
}

// deployed is the handler code the executor runs: the last deployment's, or the declared.
func (n *executorNode) deployed() []*durable.Service {
	if n.services != nil {
		return n.services
	}
	return n.w.services
}
