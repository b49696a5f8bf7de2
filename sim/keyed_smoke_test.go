package sim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/sim"
)

// keyedSmoke drives a counter object and a tiny workflow through the simulator: enough to show
// locks, state, promises, sleeps and retention work end to end under the default swarm faults.
type keyedSmoke struct {
	w   *sim.World
	out []string
}

var keyedSmokeScenario = sim.Scenario{
	Name:        "keyed-smoke",
	Description: "counter object and a promise workflow",
	New:         func(w *sim.World) sim.Workload { return &keyedSmoke{w: w} },
}

func (k *keyedSmoke) Services() []*durable.Service {
	counter := durable.NewObject("Counter").
		Handler("add", durable.NewObjectHandler(func(ctx durable.ObjectContext, n int) (int, error) {
			v, err := durable.Get[int](ctx, "n")
			if err != nil {
				return 0, err
			}
			if err := durable.Sleep(ctx, 100*time.Millisecond); err != nil {
				return 0, err
			}
			durable.Set(ctx, "n", v+n)
			return v + n, nil
		})).
		Handler("get", durable.NewObjectSharedHandler(func(ctx durable.ObjectSharedContext, _ struct{}) (int, error) {
			return durable.Get[int](ctx, "n")
		}))
	// The retention outlasts the safety phase: the starter retries its send after a timeout, and
	// a retry that lands after the purge rightly starts a fresh run, which nobody greets.
	wf := durable.NewWorkflow("Greet", durable.WithRetention(5*time.Minute)).
		Handler("run", durable.NewWorkflowHandler(func(ctx durable.WorkflowContext, name string) (string, error) {
			v, err := durable.Promise[string](ctx, "greeting").Result()
			if err != nil {
				return "", err
			}
			durable.Set(ctx, "done", true)
			return v + ", " + name, nil
		})).
		Handler("greet", durable.NewWorkflowSharedHandler(func(ctx durable.WorkflowSharedContext, g string) (string, error) {
			if err := durable.Promise[string](ctx, "greeting").Resolve(g); err != nil {
				return "", err
			}
			return "ok", nil
		}))
	return []*durable.Service{counter, wf}
}

func (k *keyedSmoke) call(client, path string, body any, tries int) {
	b, _ := json.Marshal(body)
	k.w.HTTP(client, http.MethodPost, path, b, nil, func(r sim.Response) {
		if r.Err != nil && tries < 100 {
			k.w.After(time.Second, func() { k.call(client, path, body, tries+1) })
			return
		}
		if r.Err == nil {
			k.out = append(k.out, fmt.Sprintf("%s %d %s", path, r.Status, r.Body))
		}
	})
}

func (k *keyedSmoke) Start() {
	for i := range 4 {
		k.w.After(time.Duration(i)*time.Second, func() { k.call("adder", "/Counter/c1/add", 1, 0) })
	}
	k.w.After(500*time.Millisecond, func() { k.call("reader", "/Counter/c1/get", struct{}{}, 0) })
	k.w.After(time.Second, func() { k.call("starter", "/Greet/g1/run/send", "bob", 0) })
	k.w.After(2*time.Second, func() { k.call("greeter", "/Greet/g1/greet", "hello", 0) })
	k.w.After(3*time.Second, func() { k.call("greeter2", "/Greet/g1/greet", "hi", 0) })
}

func (k *keyedSmoke) Check(h *checkers.History) []checkers.Violation { return nil }

func TestKeyedSmokeTrace(t *testing.T) {
	r := sim.RunSeed(keyedSmokeScenario, sim.Options{Seed: 3, KeepHistory: true})
	for _, e := range r.History.Events {
		switch e.Kind {
		case checkers.ClientResponse, checkers.Purged, checkers.LockAcquired, checkers.LockReleased, checkers.PromiseCompleted, checkers.TimerFired:
			t.Log(e.String())
		}
	}
}

func TestKeyedSmoke(t *testing.T) {
	var runs, purges, locks int
	for seed := uint64(1); seed <= 100; seed++ {
		r := sim.RunSeed(keyedSmokeScenario, sim.Options{Seed: seed, KeepHistory: true})
		if r.Failed() {
			var b = new(stringsBuilder)
			r.Report(b, true)
			t.Fatalf("%s", b.String())
		}
		for _, e := range r.History.Events {
			switch e.Kind {
			case checkers.InvocationDone:
				runs++
			case checkers.Purged:
				purges++
			case checkers.LockAcquired:
				locks++
			}
		}
	}
	require.Greater(t, runs, 500)
	require.Greater(t, purges, 50)
	require.Greater(t, locks, 400)
}

type stringsBuilder struct{ b []byte }

func (s *stringsBuilder) Write(p []byte) (int, error) { s.b = append(s.b, p...); return len(p), nil }
func (s *stringsBuilder) String() string              { return string(s.b) }

func TestKeyedSmokeCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("campaign")
	}
	sim.Check(t, keyedSmokeScenario, sim.CheckOptions{Seeds: 300, FirstSeed: 1000})
}
