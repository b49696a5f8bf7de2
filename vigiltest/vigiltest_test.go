package vigiltest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/faults"
	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/sim"
)

// waiting is a fact the Waiter service records with its awakeable's ID, inside Run, so that an
// actor can complete it.
var waiting = NewFact[string]("waiting")

// services are the handlers the helper tests talk to; onWait hands a waiter's awakeable ID to
// the test's actor.
func services(onWait func(id string)) []*durable.Service {
	echo := durable.NewService("Echo").
		Handler("echo", durable.NewServiceHandler(func(_ durable.Context, s string) (string, error) { return s, nil })).
		Handler("fail", durable.NewServiceHandler(func(_ durable.Context, s string) (string, error) {
			return "", durable.TerminalError(errors.New("no "+s), 418)
		}))
	counter := durable.NewObject("Counter").Handler("add", durable.NewObjectHandler(func(ctx durable.ObjectContext, n int) (int, error) {
		v, err := durable.Get[int](ctx, "n")
		if err != nil {
			return 0, err
		}
		durable.Set(ctx, "n", v+n)
		return v + n, nil
	}))
	wf := durable.NewWorkflow("WF").
		Handler("run", durable.NewWorkflowHandler(func(ctx durable.WorkflowContext, in string) (string, error) {
			v, err := durable.Promise[string](ctx, "go").Result()
			return in + ":" + v, err
		})).
		Handler("signal", durable.NewWorkflowSharedHandler(func(ctx durable.WorkflowSharedContext, v string) (bool, error) {
			return true, durable.Promise[string](ctx, "go").Resolve(v)
		}))
	waiter := durable.NewService("Waiter").Handler("wait", durable.NewServiceHandler(func(ctx durable.Context, _ string) (string, error) {
		a := durable.Awakeable[string](ctx)
		if _, err := durable.Run(ctx, func(durable.RunContext) (bool, error) { onWait(a.ID()); return true, nil }); err != nil {
			return "", err
		}
		return a.Result()
	}))
	return []*durable.Service{echo, counter, wf, waiter}
}

// result is what one helper case saw: the last reply's value and error, rendered.
type result struct {
	value string
	err   error
	tries int
}

// runCase runs act as the only actor of a fault-free run and returns what it reported.
func runCase(t *testing.T, plan *faults.Plan, act func(s *Sim, c *Client, done func(string, error, int))) (result, *sim.Result) {
	t.Helper()
	var got result
	reported := false
	sc := Scenario{Name: "helpers", Setup: func(s *Sim) {
		c := s.Client("actor")
		s.Services(services(func(id string) {
			waiting.Record(s, "waiter", id)
			ResolveOrReject(s, id)
		})...)
		s.Actor("tester", func(*Client) {
			act(s, c, func(v string, err error, tries int) { got, reported = result{v, err, tries}, true })
		})
	}}
	opts := sim.Options{Seed: 1, Faults: faults.LevelNone, Plan: plan, KeepHistory: true}
	r := sim.RunSeed(sc.Sim(), opts)
	require.True(t, reported, "the helper never called back")
	return got, r
}

// awakeableAction is what the Waiter's awakeable gets: set by a case before it calls Waiter.
var awakeableAction func(s *Sim, id string)

// ResolveOrReject completes a waiter's awakeable as the current case asks.
func ResolveOrReject(s *Sim, id string) {
	if awakeableAction != nil {
		awakeableAction(s, id)
	}
}

func TestHelpers(t *testing.T) {
	str := func(done func(string, error, int)) func(Reply[string]) {
		return func(r Reply[string]) { done(r.Value, r.Err, r.Tries) }
	}
	webhook := func(resolve bool) func(s *Sim, id string) {
		return func(s *Sim, id string) {
			c := s.Client("webhook")
			s.After(time.Second, func() {
				if resolve {
					ResolveAwakeable(c, id, "approved", nil)
				} else {
					RejectAwakeable(c, id, "denied", nil)
				}
			})
		}
	}
	tests := []struct {
		name      string
		awakeable func(s *Sim, id string)
		act       func(s *Sim, c *Client, done func(string, error, int))
		want      string
		wantErr   string
	}{
		{name: "call", want: "hi", act: func(_ *Sim, c *Client, done func(string, error, int)) {
			Call(c, Service("Echo", "echo"), "hi", str(done), IdempotencyKey("k"))
		}},
		{name: "call fails terminally", wantErr: "invocation failed (418): no hi", act: func(_ *Sim, c *Client, done func(string, error, int)) {
			Call(c, Service("Echo", "fail"), "hi", str(done))
		}},
		{name: "unknown service", wantErr: "ingress answered 404", act: func(_ *Sim, c *Client, done func(string, error, int)) {
			Call(c, Service("Nope", "x"), "hi", str(done))
		}},
		{name: "send then attach", want: "sent", act: func(_ *Sim, c *Client, done func(string, error, int)) {
			Send(c, Service("Echo", "echo"), "sent", func(r Reply[string]) {
				require.NoError(t, r.Err)
				require.True(t, strings.HasPrefix(r.Value, "inv_"), r.Value)
				Attach(c, r.Value, str(done))
			})
		}},
		{name: "delayed send is not ready", wantErr: "not completed yet", act: func(_ *Sim, c *Client, done func(string, error, int)) {
			Send(c, Service("Echo", "echo"), "later", func(r Reply[string]) {
				Output(c, r.Value, func(o Reply[string]) {
					require.ErrorIs(t, o.Err, ErrNotReady)
					done(o.Value, o.Err, o.Tries)
				})
			}, Delay(2*time.Minute))
		}},
		{name: "object state", want: "5", act: func(_ *Sim, c *Client, done func(string, error, int)) {
			Call(c, Object("Counter", "a/b", "add"), 2, func(Reply[int]) {
				Call(c, Object("Counter", "a/b", "add"), 3, func(r Reply[int]) { done(strconv.Itoa(r.Value), r.Err, r.Tries) })
			})
		}},
		{name: "workflow submit, signal, attach, output", want: "in:go", act: func(_ *Sim, c *Client, done func(string, error, int)) {
			wf := Workflow("WF", "k1")
			SubmitWorkflow(c, wf, "in", func(r Reply[string]) {
				require.NoError(t, r.Err)
				Call[bool](c, wf.On("signal"), "go", nil)
				AttachWorkflow(c, wf, func(a Reply[string]) {
					require.NoError(t, a.Err)
					WorkflowOutput(c, wf, str(done))
				})
			})
		}},
		{name: "attach and output by idempotency key", want: "keyed", act: func(_ *Sim, c *Client, done func(string, error, int)) {
			echo := Service("Echo", "echo")
			Send(c, echo, "keyed", func(r Reply[string]) {
				require.Contains(t, string(r.Body), `"Accepted"`)
				AttachByIdempotencyKey(c, echo, "k3", func(a Reply[string]) {
					require.NoError(t, a.Err)
					OutputByIdempotencyKey(c, echo, "k3", str(done))
				})
			}, IdempotencyKey("k3"))
		}},
		{name: "attach by an unknown idempotency key", wantErr: "ingress answered 404", act: func(_ *Sim, c *Client, done func(string, error, int)) {
			AttachByIdempotencyKey(c, Object("Counter", "a", "add"), "never", str(done))
		}},
		{name: "no input, no body", want: "", act: func(_ *Sim, c *Client, done func(string, error, int)) {
			Call(c, Service("Echo", "echo"), nil, str(done))
		}},
		{name: "raw request", want: `"raw"`, act: func(_ *Sim, c *Client, done func(string, error, int)) {
			Raw(c, "POST", "/Echo/echo", []byte(`"raw"`), nil, func(r Reply[json.RawMessage]) { done(string(r.Value), r.Err, r.Tries) })
		}},
		{name: "raw malformed request", wantErr: "ingress answered 400", act: func(_ *Sim, c *Client, done func(string, error, int)) {
			Raw(c, "POST", "/restate/awakeables/not-an-id/resolve", []byte(`"x"`), nil, func(r Reply[json.RawMessage]) { done(string(r.Value), r.Err, r.Tries) })
		}},
		{name: "cancel", wantErr: "invocation failed (409): Cancelled", act: func(_ *Sim, c *Client, done func(string, error, int)) {
			// A delayed send, cancelled before it starts. (Cancelling the Waiter while it waits on
			// its awakeable is reported by the exactly-once checker as a failure observed for an
			// awakeable never completed.)
			Send(c, Service("Echo", "echo"), "never", func(r Reply[string]) {
				Cancel(c, r.Value, func(err error) {
					require.NoError(t, err)
					Attach(c, r.Value, str(done))
				})
			}, Delay(time.Minute))
		}},
		{name: "resolve awakeable", awakeable: webhook(true), want: "approved", act: func(_ *Sim, c *Client, done func(string, error, int)) {
			Call(c, Service("Waiter", "wait"), "", str(done))
		}},
		{name: "reject awakeable", awakeable: webhook(false), wantErr: "denied", act: func(_ *Sim, c *Client, done func(string, error, int)) {
			Call(c, Service("Waiter", "wait"), "", str(done))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			awakeableAction = tc.awakeable
			defer func() { awakeableAction = nil }()
			got, r := runCase(t, nil, tc.act)
			require.False(t, r.Failed(), "%v", r.Violations)
			if tc.wantErr != "" {
				require.Error(t, got.err)
				assert.Contains(t, got.err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, got.err)
			assert.Equal(t, tc.want, got.value)
		})
	}
}

// TestRetriesAfterLostRequests: with half the requests and answers lost, an idempotent call
// still gets its answer after retries, and a call without a key gives up in doubt.
func TestRetriesAfterLostRequests(t *testing.T) {
	plan := faults.None()
	plan.RequestLossPercent, plan.ResponseLossPercent, plan.ClientTimeout = 50, 50, time.Second
	var retried, doubted bool
	for seed := range 20 {
		_ = seed
		got, _ := runCase(t, &plan, func(_ *Sim, c *Client, done func(string, error, int)) {
			Call(c, Service("Echo", "echo"), "x", func(r Reply[string]) { done(r.Value, r.Err, r.Tries) }, IdempotencyKey("k"), Tries(100))
		})
		require.NoError(t, got.err)
		retried = retried || got.tries > 1
		got, _ = runCase(t, &plan, func(_ *Sim, c *Client, done func(string, error, int)) {
			Call(c, Service("Echo", "echo"), "x", func(r Reply[string]) { done(r.Value, r.Err, r.Tries) })
		})
		if got.err != nil {
			require.ErrorIs(t, got.err, ErrInDoubt)
			require.Equal(t, 1, got.tries)
			doubted = true
		}
		plan.LinkDelayMax += time.Millisecond // another run
	}
	assert.True(t, retried, "some idempotent call needed a retry")
	assert.True(t, doubted, "some call without a key was left in doubt")
}

// TestRepeatableRetries: a call marked Repeatable is retried without a key, and a Header reaches
// the wire as written.
func TestRepeatableRetries(t *testing.T) {
	plan := faults.None()
	plan.RequestLossPercent, plan.ResponseLossPercent, plan.ClientTimeout = 50, 50, time.Second
	retried := false
	for range 10 {
		got, r := runCase(t, &plan, func(_ *Sim, c *Client, done func(string, error, int)) {
			Call(c, Service("Echo", "echo"), "x", func(r Reply[string]) { done(r.Value, r.Err, r.Tries) },
				Repeatable(), Tries(100), Header("Origin", "https://shop.example"))
		})
		require.NoError(t, got.err)
		retried = retried || got.tries > 1
		var origins int
		for _, e := range r.History.Events {
			if e.HTTP != nil && e.Kind == checkers.ClientRequest {
				v, _ := e.HTTP.Get("Origin")
				require.Equal(t, "https://shop.example", v)
				origins++
			}
		}
		require.Equal(t, got.tries, origins, "every try carries the header")
		plan.LinkDelayMax += time.Millisecond // another run
	}
	assert.True(t, retried, "some repeatable call needed a retry")
}

// TestBackoffBounds: Retry waits within fixed bounds; Backoff's upper bound doubles from its
// first value per failed try up to its cap, and never falls below the lower bound.
func TestBackoffBounds(t *testing.T) {
	r := newRequest(nil, "GET", "/", nil, true, []Option{Retry(5*time.Millisecond, time.Second)})
	lo, hi := r.waitBounds(7)
	assert.Equal(t, []time.Duration{5 * time.Millisecond, time.Second}, []time.Duration{lo, hi})
	r = newRequest(nil, "GET", "/", nil, true, []Option{Backoff(10*time.Millisecond, 100*time.Millisecond, 3*time.Second)})
	var his []time.Duration
	for n := 1; n <= 7; n++ {
		_, hi := r.waitBounds(n)
		his = append(his, hi)
	}
	ms := time.Millisecond
	assert.Equal(t, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3000 * ms, 3000 * ms}, his)
	_, hi = r.waitBounds(1 << 20)
	assert.Equal(t, 3*time.Second, hi, "no overflow after many tries")
	r = newRequest(nil, "GET", "/", nil, true, []Option{Backoff(time.Second, time.Millisecond, 3*time.Second)})
	lo, hi = r.waitBounds(1)
	assert.Equal(t, []time.Duration{time.Second, time.Second}, []time.Duration{lo, hi})
}

func TestFactsAndQueries(t *testing.T) {
	awakeableAction = func(s *Sim, id string) {
		s.After(time.Second, func() { ResolveAwakeable(s.Client("webhook"), id, "ok", nil) })
	}
	defer func() { awakeableAction = nil }()
	outside := NewFact[int]("outside")
	var h *History
	sc := Scenario{Name: "facts", Setup: func(s *Sim) {
		s.Services(services(func(id string) { waiting.Record(s, "waiter", id); ResolveOrReject(s, id) })...)
		s.Actor("a", func(c *Client) {
			outside.Record(s, "actor", 7)
			Call[string](c, Service("Waiter", "wait"), "", nil)
			Call[int](c, Object("Counter", "x", "add"), 1, nil)
		})
		s.Invariant("capture", func(hist *History) []Violation { h = hist; return nil })
	}}
	r := sim.RunSeed(sc.Sim(), sim.Options{Seed: 1, Faults: faults.LevelNone, KeepHistory: true})
	require.False(t, r.Failed(), "%v", r.Violations)

	w := waiting.In(h)
	require.NotEmpty(t, w)
	assert.True(t, w[0].InRun, "recorded inside durable.Run")
	assert.Equal(t, "waiter", w[0].Key)
	o := outside.In(h)
	require.Len(t, o, 1)
	assert.False(t, o[0].InRun)
	assert.Equal(t, 7, o[0].Value)

	waits := h.Invocations(Query{Service: "Waiter", Handler: "wait"})
	require.Len(t, waits, 1)
	out, err := OutputOf[string](waits[0])
	require.NoError(t, err)
	assert.Equal(t, "ok", out)
	assert.GreaterOrEqual(t, waits[0].Attempts, 1)
	byID, ok := h.Invocation(waits[0].ID)
	require.True(t, ok)
	assert.Same(t, waits[0], byID)
	assert.Len(t, h.Invocations(Query{Key: "x"}), 1)
	assert.Empty(t, h.Invocations(Query{Service: "Counter", Key: "y"}))
	assert.Len(t, h.Invocations(Query{}), 2)

	v := Violationf("bad %d", 1).Of(waits[0]).At(o[0].Index)
	assert.Equal(t, []int{waits[0].Accepted, waits[0].DoneAt, o[0].Index}, v.Events)
}

// fakeT records what Check reports instead of failing the real test.
type fakeT struct {
	testing.TB
	name   string
	errors []string
	logs   []string
}

func (f *fakeT) Helper()      {}
func (f *fakeT) Name() string { return f.name }
func (f *fakeT) Errorf(format string, a ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, a...))
}
func (f *fakeT) Fatalf(format string, a ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, a...))
}
func (f *fakeT) Logf(format string, args ...any) {
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}

// broken fails its invariant on a seed-dependent condition, so that only some seeds fail.
var broken = Scenario{Name: "broken", Setup: func(s *Sim) {
	s.Services(services(func(string) {})...)
	n := s.Rand().Intn(4, "n")
	s.Actor("a", func(c *Client) { Call[string](c, Service("Echo", "echo"), "x", nil) })
	s.Invariant("n-is-not-3", func(h *History) []Violation {
		if n == 3 {
			return []Violation{Violationf("n is 3").At(0)}
		}
		return nil
	})
}}

var (
	reproRe = regexp.MustCompile(`reproduce: go test -run '\^TestX\$' -count=1 \. -vigil\.seed=(\d+)(.*)\n`)
	hashRe  = regexp.MustCompile(`trace hash: ([0-9a-f]{16})`)
)

// TestReproduceLineReproduces: a failure's line names a seed and flags that, applied as the
// flags would be, give the same run (same trace hash); the run is saved to the corpus and
// replayed first next time.
func TestReproduceLineReproduces(t *testing.T) {
	for _, lvl := range faults.Levels() {
		t.Run(lvl.String(), func(t *testing.T) {
			dir := t.TempDir()
			ft := &fakeT{TB: t, name: "TestX"}
			check(ft, broken, Options{Seeds: 50, Faults: lvl, SafetyBudget: 20 * time.Second, Corpus: dir}, settings{})
			require.Len(t, ft.errors, 1)
			report := ft.errors[0]
			m := reproRe.FindStringSubmatch(report)
			require.NotNil(t, m, report)
			flags := m[2]
			assert.Contains(t, flags, " -vigil.budget=20s")
			if lvl != faults.LevelDefault {
				assert.Contains(t, flags, " -vigil.faults="+lvl.String())
			}
			hash := hashRe.FindStringSubmatch(report)[1]

			// Rerun as the line says, from a fresh Options: only the flags carry the run.
			seed, _ := strconv.ParseUint(m[1], 10, 64)
			st := settings{seed: &seed, budget: 20 * time.Second}
			if lvl != faults.LevelDefault {
				st.faults = &lvl
			}
			again := &fakeT{TB: t, name: "TestX"}
			check(again, broken, Options{Corpus: "-"}, st)
			require.Len(t, again.errors, 1)
			assert.Equal(t, hash, hashRe.FindStringSubmatch(again.errors[0])[1], "the same run")

			// The corpus holds the seed, and a later run replays it before any other seed.
			saved, err := os.ReadFile(filepath.Join(dir, "TestX.txt"))
			require.NoError(t, err)
			assert.Contains(t, string(saved), m[1]+" "+lvl.String()+"\n")
			later := &fakeT{TB: t, name: "TestX"}
			check(later, broken, Options{Seeds: 1, FirstSeed: 1000, Faults: lvl, SafetyBudget: 20 * time.Second, Corpus: dir}, settings{})
			require.Len(t, later.errors, 1)
			assert.Contains(t, later.errors[0], "seed "+m[1]+":")
		})
	}
}

// TestFaultsChoiceReachesTheRun: the level decides the plan, and the default level draws the
// plans simrun always drew.
func TestFaultsChoiceReachesTheRun(t *testing.T) {
	sc := broken.Sim()
	none := sim.RunSeed(sc, sim.Options{Seed: 5, Faults: faults.LevelNone})
	assert.Equal(t, faults.None(), none.Plan)
	light := sim.RunSeed(sc, sim.Options{Seed: 5, Faults: faults.LevelLight})
	assert.Equal(t, faults.DrawLight(sim.NewPCGSource(5, "plan")), light.Plan)
	assert.Zero(t, light.Plan.LinkLossPercent+light.Plan.RequestLossPercent+light.Plan.BuggifyPercent)
	assert.NotZero(t, light.Plan.RuntimeCrashEvery)
	def := sim.RunSeed(sc, sim.Options{Seed: 5})
	assert.Equal(t, faults.Draw(sim.NewPCGSource(5, "plan")), def.Plan)

	lvl := faults.LevelNone
	ft := &fakeT{TB: t, name: "TestX"}
	check(ft, broken, Options{Seeds: 1, FirstSeed: 5, Corpus: "-"}, settings{faults: &lvl})
	require.NotEmpty(t, ft.logs)
	assert.Contains(t, strings.Join(ft.logs, "\n"), "faults=none")
}

func TestCorpusFileNames(t *testing.T) {
	assert.Equal(t, filepath.Join("d", "TestA__sub_case.txt"), corpusFile("d", "TestA/sub case"))
	assert.Equal(t, "", corpusFile("-", "TestA"))
}

// TestOnStartAndChecker: OnStart runs when the run begins (its client's request reaches the
// history), and a Checker's violations keep the checker name they give.
func TestOnStartAndChecker(t *testing.T) {
	started := false
	sc := Scenario{Name: "raw-checker", Setup: func(s *Sim) {
		s.Services(services(func(string) {})...)
		s.OnStart(func() {
			started = true
			Call[string](s.Client("late-client"), Service("Echo", "echo"), "hi", nil)
		})
		s.Checker(func(h *checkers.History) []checkers.Violation {
			for i, e := range h.Events {
				if e.Kind == checkers.ClientRequest && e.Node == "late-client" {
					return []checkers.Violation{{Checker: "mine", Message: "saw the request", Events: []int{i}}}
				}
			}
			return nil
		})
	}}
	r := sim.RunSeed(sc.Sim(), sim.Options{Seed: 1, Faults: faults.LevelNone})
	require.True(t, started)
	require.Len(t, r.Violations, 1, "%v", r.Violations)
	assert.Equal(t, "mine", r.Violations[0].Checker)
}

// NumberedClient numbers every client it names in a run, whatever their kind, and a client name
// taken twice is refused as with Client.
func TestNumberedClient(t *testing.T) {
	var names []string
	sc := Scenario{Name: "numbered", Setup: func(s *Sim) {
		for _, kind := range []string{"reviewer", "payer", "reviewer"} {
			names = append(names, s.NumberedClient(kind).Name())
		}
		assert.Panics(t, func() { s.Client("payer-2") }, "a numbered name is taken like any other")
	}}
	sim.RunSeed(sc.Sim(), sim.Options{Seed: 1, Faults: faults.LevelNone})
	assert.Equal(t, []string{"reviewer-1", "payer-2", "reviewer-3"}, names)
}

// TestCheckLeavesNoGoroutine: a goroutine-leak check after Check (goleak.VerifyNone in a user's
// test) finds nothing of the runs, although each run hands its executor's idle workers on to the
// next: Check ends them when it returns.
func TestCheckLeavesNoGoroutine(t *testing.T) {
	sim.StopKeptWorkers() // what earlier tests' runs kept is not this test's
	before := goleak.IgnoreCurrent()
	sc := Scenario{Name: "leak", Setup: func(s *Sim) {
		c := s.Client("actor")
		s.Services(services(func(string) {})...)
		s.Actor("caller", func(*Client) {
			Call(c, Service("Echo", "echo"), "hi", func(Reply[string]) {})
		})
	}}
	Check(t, sc, Options{Seeds: 5, Faults: faults.LevelNone, Corpus: "-"})
	goleak.VerifyNone(t, before)
}
