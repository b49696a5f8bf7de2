package sim_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/faults"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/sim"
)

// stuck is a workload that can never finish: an exclusive handler waits on an awakeable nobody
// resolves, and a second exclusive call to the same key queues behind it.
type stuck struct{ w *sim.World }

func (s *stuck) Services() []*durable.Service {
	return []*durable.Service{durable.NewObject("Gate").
		Handler("wait", durable.NewObjectHandler(func(ctx durable.ObjectContext, _ struct{}) (string, error) {
			return durable.Awakeable[string](ctx).Result()
		}))}
}

func (s *stuck) Start() {
	for i := range 2 {
		s.w.After(time.Duration(i)*time.Second, func() {
			s.w.HTTP("client", http.MethodPost, "/Gate/g/wait/send", []byte(`{}`), nil, func(sim.Response) {})
		})
	}
}

func (s *stuck) Check(*checkers.History) []checkers.Violation { return nil }

// TestLivenessCheckerFails shows that the liveness check catches invocations that cannot finish
// and explains each with its wait-for graph.
func TestLivenessCheckerFails(t *testing.T) {
	sc := sim.Scenario{Name: "stuck", Description: "never finishes", New: func(w *sim.World) sim.Workload { return &stuck{w: w} }}
	plan := faults.None()
	r := sim.RunSeed(sc, sim.Options{Seed: 1, Plan: &plan, SafetyBudget: 10 * time.Second, LivenessBudget: time.Minute})
	var msgs []string
	for _, v := range r.Violations {
		if v.Checker == "liveness" {
			msgs = append(msgs, v.Message)
		}
	}
	require.Len(t, msgs, 2, "%v", r.Violations)
	all := strings.Join(msgs, "\n")
	require.Contains(t, all, "an outside party must resolve or reject it")
	require.Contains(t, all, "lock of Gate/g, held by: ")
}
