// Package timeouts is the seed's "include timeouts" best practice as a scenario: a handler waits
// for an awakeable with WaitFirst(awakeable, After(timeout)) and answers "completed: v" or
// "timed out". Resolvers aim at the timeout's deadline: never, well before it, just before it,
// just after it, late, or twice around it. A second handler sleeps durably and reads the virtual
// clock when it wakes. The scenario checks that what each invocation answered follows from what
// the engine recorded: the completion it reports was accepted before the handler chose it, a
// timeout was a timer that really fired at or after its deadline, and a completion accepted well
// before the deadline always wins.
//
// It imports the user kit (vigiltest), the checkers and the runtime's handler API; nothing in the
// runtime imports it.
package timeouts

import (
	"errors"
	"fmt"
	"time"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/vigiltest"
)

// Scenario is the timeouts scenario as the simulator runs it, built on the user kit.
var Scenario = vigiltest.Scenario{
	Name:        "timeouts",
	Description: "awakeables with WaitFirst timeouts resolved never, early, just before/after the deadline, late, twice; durable sleeps",
	Setup: func(s *vigiltest.Sim) {
		wl := &workload{s: s, handedOut: map[string]bool{}}
		s.Services(NewService(wl))
		s.OnStart(wl.start)
		s.Checker(wl.Check)
	},
}.Sim()

// ServiceName and the handler names address the scenario's plain service over the ingress.
const (
	ServiceName = "Timeouts"
	// WaitHandler waits for an awakeable with a timeout.
	WaitHandler = "wait"
	// NapHandler sleeps durably and reports when it woke.
	NapHandler = "nap"
)

// Cases say when a resolver completes the awakeable of a wait, relative to the moment it was
// handed the awakeable's ID (the engine fixes the deadline a little after that moment).
const (
	// CaseNever: nobody ever completes the awakeable.
	CaseNever = "never"
	// CaseEarly: resolved at least 6 s before the timeout would elapse.
	CaseEarly = "early"
	// CaseJustBefore: resolved up to 5 ms before the timeout would elapse.
	CaseJustBefore = "just-before"
	// CaseJustAfter: resolved up to 5 ms after the timeout elapsed.
	CaseJustAfter = "just-after"
	// CaseLate: resolved 0.5 to 5 s after the timeout elapsed.
	CaseLate = "late"
	// CaseTwice: two resolvers with different values, both within 10 ms of the timeout.
	CaseTwice = "twice"
)

var cases = []string{CaseNever, CaseEarly, CaseJustBefore, CaseJustAfter, CaseLate, CaseTwice}

// WaitRequest is the input of the wait handler.
type WaitRequest struct {
	// Case tells the resolver when to complete the awakeable.
	Case string `json:"case"`
	// TimeoutMs is the timeout of the wait, in milliseconds.
	TimeoutMs int64 `json:"timeoutMs"`
}

// NapRequest is the input of the nap handler.
type NapRequest struct {
	// Ms is how long to sleep, in milliseconds.
	Ms int64 `json:"ms"`
}

// TimedOut is the wait handler's output when the timer won.
const TimedOut = "timed out"

// Completed is the wait handler's output when the awakeable won with value v.
func Completed(v string) string { return "completed: " + v }

// Slept is the nap handler's output: how long it slept and the virtual time (since the start of
// the run) at which the side effect after the sleep ran.
func Slept(d, wokeAt time.Duration) string {
	return fmt.Sprintf("slept %s, woke at %s", d, wokeAt)
}

// Resolvers is the outside world of the scenario.
type Resolvers interface {
	// HandOut gives the awakeable awakeableID of a wait with the given case and timeout to a
	// resolver, which completes it (or not) as its case says. It may fail transiently.
	HandOut(c, awakeableID string, timeout time.Duration) error
	// Now reads the virtual clock (time since the start of the run).
	Now() time.Duration
	// Notify tells the outside world the outcome of the wait on awakeableID. It may fail
	// transiently.
	Notify(awakeableID, outcome string) error
}

// NewService returns the Timeouts service: wait creates an awakeable and a durable timer, hands
// the awakeable to a resolver inside Run and returns whichever completes first; nap sleeps and
// then reads the clock inside Run.
func NewService(res Resolvers) *durable.Service {
	return durable.NewService(ServiceName).
		Handler(WaitHandler, durable.NewServiceHandler(func(ctx durable.Context, req WaitRequest) (string, error) {
			d := time.Duration(req.TimeoutMs) * time.Millisecond
			awakeable := durable.Awakeable[string](ctx)
			// The timer is created before the hand-out, so the deadline the engine fixes lies
			// just after the moment the resolver aims from.
			timer := durable.After(ctx, d)
			if _, err := durable.Run(ctx, func(durable.RunContext) (bool, error) {
				return true, res.HandOut(req.Case, awakeable.ID(), d)
			}, durable.WithName("hand-out")); err != nil {
				return "", err
			}
			first, err := durable.WaitFirst(ctx, awakeable, timer)
			if err != nil {
				return "", err
			}
			outcome := TimedOut
			if first != durable.Selectable(timer) {
				v, err := awakeable.Result()
				if err != nil {
					return "", err
				}
				outcome = Completed(v)
			}
			// The outcome leaves for the outside world at once, as a real handler's would (an
			// email, a status page). Every execution of this Run must carry the same outcome:
			// the choice is durable before the handler goes on.
			if _, err := durable.Run(ctx, func(durable.RunContext) (bool, error) {
				return true, res.Notify(awakeable.ID(), outcome)
			}, durable.WithName("notify")); err != nil {
				return "", err
			}
			return outcome, nil
		})).
		Handler(NapHandler, durable.NewServiceHandler(func(ctx durable.Context, req NapRequest) (string, error) {
			d := time.Duration(req.Ms) * time.Millisecond
			if err := durable.Sleep(ctx, d); err != nil {
				return "", err
			}
			woke, err := durable.Run(ctx, func(durable.RunContext) (time.Duration, error) { return res.Now(), nil }, durable.WithName("woke"))
			if err != nil {
				return "", err
			}
			return Slept(d, woke), nil
		}))
}

// workload drives callers and resolvers from the run's random stream, as clients of the user kit.
type workload struct {
	s *vigiltest.Sim
	// handedOut remembers the awakeables already given to a resolver: a Run that executes again
	// after a crash hands out the same ID, and the resolver system deduplicates by ID.
	handedOut map[string]bool
	values    int
}

var errResolversDown = errors.New("resolver system unavailable")

// tries bounds the retries of every client after connection failures.
const tries = 201

// start schedules a few waits, one of each case at least once in a while, and a few naps.
func (wl *workload) start() {
	r := wl.s.Rand()
	waits := 2 + r.Intn(8, "waits")
	for i := range waits {
		req := WaitRequest{
			Case:      cases[r.Intn(len(cases), "case")],
			TimeoutMs: (6*time.Second + r.Duration(0, 14*time.Second, "timeout")).Milliseconds(),
		}
		wl.s.After(r.Duration(0, 20*time.Second, "submit-at"), func() {
			wl.call(wl.s.NumberedClient("waiter"), WaitHandler, fmt.Sprintf("wait-%d", i), req)
		})
	}
	naps := r.Intn(4, "naps")
	for i := range naps {
		req := NapRequest{Ms: r.Duration(0, 10*time.Second, "nap").Milliseconds()}
		wl.s.After(r.Duration(0, 20*time.Second, "submit-at"), func() {
			wl.call(wl.s.NumberedClient("napper"), NapHandler, fmt.Sprintf("nap-%d", i), req)
		})
	}
}

// call invokes handler and waits for its output (judged from the history); after a connection
// failure or a timeout the kit calls again with the same idempotency key, which reaches the same
// invocation.
func (wl *workload) call(c *vigiltest.Client, handler, idemKey string, input any) {
	vigiltest.Call[string](c, vigiltest.Service(ServiceName, handler), input, nil, vigiltest.IdempotencyKey(idemKey), vigiltest.Tries(tries))
}

// HandOut is the resolver system: it schedules the resolutions of the awakeable as c says.
// While faults are on it is sometimes down, so the handler's Run fails and the invocation
// retries.
func (wl *workload) HandOut(c, awakeableID string, timeout time.Duration) error {
	r := wl.s.Rand()
	if !wl.s.Healed() && r.Percent(10, "resolvers-down") {
		return errResolversDown
	}
	if wl.handedOut[awakeableID] {
		return nil
	}
	wl.handedOut[awakeableID] = true
	resolveAfter := func(d time.Duration) {
		wl.values++
		rc := wl.s.NumberedClient("resolver")
		value := fmt.Sprintf("%s-value-%d", c, wl.values)
		// The kit retries the resolution after connection failures, as a webhook sender would.
		wl.s.After(max(d, 0), func() { vigiltest.ResolveAwakeable(rc, awakeableID, value, nil, vigiltest.Tries(tries)) })
	}
	const edge = 5 * time.Millisecond
	switch c {
	case CaseNever:
	case CaseEarly:
		resolveAfter(r.Duration(0, max(timeout-6*time.Second, 0), "early"))
	case CaseJustBefore:
		resolveAfter(timeout - r.Duration(0, edge, "just-before"))
	case CaseJustAfter:
		resolveAfter(timeout + r.Duration(0, edge, "just-after"))
	case CaseLate:
		resolveAfter(timeout + r.Duration(500*time.Millisecond, 5*time.Second, "late"))
	case CaseTwice:
		first := timeout - edge + r.Duration(0, 2*edge, "twice-first")
		resolveAfter(first)
		resolveAfter(first + r.Duration(0, 2*edge, "twice-second"))
	default:
		panic(fmt.Sprintf("timeouts: unknown case %q", c))
	}
	return nil
}

// Now implements Resolvers.
func (wl *workload) Now() time.Duration { return wl.s.Now() }

// Notified is the fact that the outside world heard the outcome (value) of the wait on the
// awakeable (key).
var Notified = vigiltest.NewFact[string]("outcome-notified")

// Notify implements Resolvers: it records what the outside world heard, for the check.
func (wl *workload) Notify(awakeableID, outcome string) error {
	if !wl.s.Healed() && wl.s.Rand().Percent(5, "notify-down") {
		return errResolversDown
	}
	Notified.Record(wl.s, awakeableID, outcome)
	return nil
}
