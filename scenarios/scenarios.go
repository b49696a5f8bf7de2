// Package scenarios lists the workloads Vigil's campaigns run. Each scenario lives in its own
// subpackage, registers real handlers, drives its clients from the simulator's random stream and
// states its own expected outcome.
//
// It imports the simulator and the scenario subpackages; nothing in the runtime imports it.
package scenarios

import (
	"github.com/vigilsim/vigil/scenarios/agenttools"
	"github.com/vigilsim/vigil/scenarios/approval"
	"github.com/vigilsim/vigil/scenarios/calls"
	"github.com/vigilsim/vigil/scenarios/deployment"
	"github.com/vigilsim/vigil/scenarios/exclusivequeue"
	"github.com/vigilsim/vigil/scenarios/handoff"
	"github.com/vigilsim/vigil/scenarios/idempotency"
	"github.com/vigilsim/vigil/scenarios/objectstate"
	"github.com/vigilsim/vigil/scenarios/reviewworkflow"
	"github.com/vigilsim/vigil/scenarios/timeouts"
	"github.com/vigilsim/vigil/scenarios/workflowexternal"
	"github.com/vigilsim/vigil/sim"
)

// All returns every scenario in the order campaigns run them.
func All() []sim.Scenario {
	return []sim.Scenario{
		approval.Scenario, reviewworkflow.Scenario, timeouts.Scenario, exclusivequeue.Scenario, agenttools.Scenario, workflowexternal.Scenario,
		handoff.Scenario, objectstate.Scenario, idempotency.Scenario, deployment.Scenario, calls.Scenario,
	}
}

// Lookup returns the scenario called name.
func Lookup(name string) (sim.Scenario, bool) {
	for _, s := range All() {
		if s.Name == name {
			return s, true
		}
	}
	return sim.Scenario{}, false
}

// Names returns the names of every scenario.
func Names() []string {
	var names []string
	for _, s := range All() {
		names = append(names, s.Name)
	}
	return names
}
