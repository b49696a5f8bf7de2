// Package exclusivequeue is the seed's note on exclusive handlers as a scenario: "if you wait for
// an awakeable in an exclusive handler in a Virtual Object, all other calls to this object will
// be queued". A Ledger object's exclusive hold handler creates an awakeable, hands its ID to a
// worker inside Run and waits for it, keeping the key's lock while it is suspended. Exclusive
// appends to the same key queue behind it and run in acceptance order once it finishes; shared
// reads of the key and calls to other keys answer meanwhile. The worker proves the last point
// itself: it releases the hold only after a shared read of the held key and an append to a key
// of its own have answered (or, if they do not, after a long patience), and the scenario checks
// from the history that those probes finished before the hold did.
//
// It imports the user kit (vigiltest), the checkers and the runtime's handler API; nothing in the
// runtime imports it.
package exclusivequeue

import (
	"errors"
	"fmt"
	"time"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/vigiltest"
)

// Scenario is the exclusive-queue scenario as the simulator runs it, built on the user kit.
var Scenario = vigiltest.Scenario{
	Name:        "exclusive-queue",
	Description: "exclusive handler holds its key's lock while waiting on an awakeable: appends queue in order, shared reads and other keys answer",
	Setup: func(s *vigiltest.Sim) {
		wl := &workload{s: s, workers: map[string]*worker{}}
		s.Services(NewObject(wl))
		s.OnStart(wl.start)
		s.Checker(wl.Check)
	},
}.Sim()

// ObjectName and the handler names address the Ledger object over the ingress.
const (
	ObjectName = "Ledger"
	// HoldHandler (exclusive) waits on an awakeable a worker completes.
	HoldHandler = "hold"
	// AppendHandler (exclusive) appends an item to the key's list.
	AppendHandler = "append"
	// ReadHandler (shared) returns the key's list.
	ReadHandler = "read"
	// StateKey is the state entry holding the list.
	StateKey = "items"
)

// Patience is how long a worker waits for the answer to its latest probe before it releases the
// hold anyway; ProbeWindow is how long after sending a probe the nodes must stay up and unpaused
// for the scenario to require that the probe finished before the hold. A probe needs at most a
// few link legs (each under 4.2 s with the plan's long tail), so it finishes well inside
// ProbeWindow, and ProbeWindow is well inside Patience.
const (
	Patience    = 60 * time.Second
	ProbeWindow = 30 * time.Second
)

// HoldRequest is the input of hold.
type HoldRequest struct {
	Holder string `json:"holder"`
}

// HoldResult is the output of a hold that was released: the worker's release value and the
// list as the hold saw it after waiting.
type HoldResult struct {
	Release string   `json:"release"`
	Items   []string `json:"items"`
}

// AppendRequest is the input of append. ProbeFor names the hold invocation a worker's probe is
// for (empty for ordinary appends).
type AppendRequest struct {
	Item     string `json:"item"`
	ProbeFor string `json:"probeFor,omitempty"`
}

// ReadRequest is the input of read; ProbeFor as for AppendRequest.
type ReadRequest struct {
	ProbeFor string `json:"probeFor,omitempty"`
}

// Gate is the outside world the hold hands its awakeable to.
type Gate interface {
	// RequestRelease asks a worker to release the hold holdID of key by completing awakeableID.
	// It may fail transiently; asking again for the same awakeable changes nothing.
	RequestRelease(key, awakeableID, holdID string) error
}

// NewObject returns the Ledger virtual object.
func NewObject(gate Gate) *durable.Service {
	return durable.NewObject(ObjectName).
		Handler(HoldHandler, durable.NewObjectHandler(func(ctx durable.ObjectContext, req HoldRequest) (HoldResult, error) {
			key := ctx.Key()
			awakeable := durable.Awakeable[string](ctx)
			if _, err := durable.Run(ctx, func(rc durable.RunContext) (bool, error) {
				return true, gate.RequestRelease(key, awakeable.ID(), rc.InvocationID())
			}, durable.WithName("request-release")); err != nil {
				return HoldResult{}, err
			}
			release, err := awakeable.Result()
			if err != nil {
				return HoldResult{}, err
			}
			items, err := durable.Get[[]string](ctx, StateKey)
			if err != nil {
				return HoldResult{}, err
			}
			return HoldResult{Release: release, Items: nonNil(items)}, nil
		})).
		Handler(AppendHandler, durable.NewObjectHandler(func(ctx durable.ObjectContext, req AppendRequest) ([]string, error) {
			items, err := durable.Get[[]string](ctx, StateKey)
			if err != nil {
				return nil, err
			}
			items = append(items, req.Item)
			durable.Set(ctx, StateKey, items)
			return items, nil
		})).
		Handler(ReadHandler, durable.NewObjectSharedHandler(func(ctx durable.ObjectSharedContext, req ReadRequest) ([]string, error) {
			items, err := durable.Get[[]string](ctx, StateKey)
			return nonNil(items), err
		}))
}

func nonNil(items []string) []string {
	if items == nil {
		return []string{}
	}
	return items
}

// workload drives callers and workers from the run's random stream, as clients of the user kit.
type workload struct {
	s     *vigiltest.Sim
	items int
	// workers are the release workers by awakeable ID: a Run executed again after a crash asks
	// for the same awakeable, and the gate deduplicates.
	workers map[string]*worker
	sides   int
}

var errGateDown = errors.New("release gate unavailable")

// callTries bounds the retries of a caller that waits for its answer: holds and appends carry
// an idempotency key (a retry reaches the same invocation), reads change nothing.
const callTries = 201

// start schedules, per key, a hold or two, a few appends and a few reads over the first 20 s.
func (wl *workload) start() {
	r := wl.s.Rand()
	keys := 1 + r.Intn(3, "keys")
	for k := range keys {
		key := fmt.Sprintf("acct-%d", k)
		for range 1 + r.Intn(2, "holds") {
			c := wl.s.NumberedClient("holder")
			wl.s.After(r.Duration(0, 15*time.Second, "hold-at"), func() {
				vigiltest.Call[HoldResult](c, vigiltest.Object(ObjectName, key, HoldHandler), HoldRequest{Holder: c.Name()}, nil,
					vigiltest.IdempotencyKey(c.Name()), vigiltest.Tries(callTries))
			})
		}
		for range 1 + r.Intn(4, "appends") {
			c := wl.s.NumberedClient("appender")
			wl.items++
			req := AppendRequest{Item: fmt.Sprintf("item-%d", wl.items)}
			wl.s.After(r.Duration(0, 20*time.Second, "append-at"), func() {
				vigiltest.Call[[]string](c, vigiltest.Object(ObjectName, key, AppendHandler), req, nil,
					vigiltest.IdempotencyKey(c.Name()), vigiltest.Tries(callTries))
			})
		}
		for range r.Intn(4, "reads") {
			c := wl.s.NumberedClient("reader")
			wl.s.After(r.Duration(0, 20*time.Second, "read-at"), func() {
				vigiltest.Call[[]string](c, vigiltest.Object(ObjectName, key, ReadHandler), ReadRequest{}, nil,
					vigiltest.Repeatable(), vigiltest.Tries(callTries))
			})
		}
	}
}

// RequestRelease is the gate: it starts one worker per awakeable. While faults are on it is
// sometimes down, so the hold's Run fails and the invocation retries.
func (wl *workload) RequestRelease(key, awakeableID, holdID string) error {
	r := wl.s.Rand()
	if !wl.s.Healed() && r.Percent(10, "gate-down") {
		return errGateDown
	}
	if wl.workers[awakeableID] != nil {
		return nil
	}
	wl.sides++
	k := &worker{
		s: wl.s, c: wl.s.NumberedClient("worker"), key: key, awakeable: awakeableID, hold: holdID,
		side: fmt.Sprintf("side-%d", wl.sides), reject: r.Percent(20, "reject"),
	}
	wl.workers[awakeableID] = k
	wl.s.After(r.Duration(50*time.Millisecond, 5*time.Second, "worker-start"), k.start)
	return nil
}

// worker releases one hold. It first probes the runtime while the hold waits: a shared read of
// the held key and an append to a key of its own, each sent again after connection failures. It
// releases the hold a little after both answered, or once Patience has passed since its latest
// probe without an answer.
type worker struct {
	s                    *vigiltest.Sim
	c                    *vigiltest.Client
	key, awakeable, hold string
	side                 string
	reject               bool
	readDone, sideDone   bool
	released             bool
	sends                int
}

func (k *worker) start() {
	k.probeRead()
	k.probeSide()
}

// sent arms the patience for the probe just sent; a later probe rearms it.
func (k *worker) sent() {
	k.sends++
	n := k.sends
	k.s.After(Patience, func() {
		if n == k.sends && !(k.readDone && k.sideDone) {
			k.release()
		}
	})
}

// probe sends one probe, once (Tries(1)): the worker itself sends it again after a connection
// failure, rearming its patience each time and stopping once it released the hold, which the
// kit's retries would not do.
func (k *worker) probe(t vigiltest.Target, input any, done *bool, again func(), opts ...vigiltest.Option) {
	k.sent()
	vigiltest.Call(k.c, t, input, func(rep vigiltest.Reply[[]string]) {
		if errors.Is(rep.Err, vigiltest.ErrInDoubt) {
			if !k.released {
				k.s.After(k.s.Rand().Duration(10*time.Millisecond, 2*time.Second, "probe-retry"), again)
			}
			return
		}
		*done = true
		k.answered()
	}, append(opts, vigiltest.Tries(1))...)
}

// probeRead is a new read each time, not a retry of the old one: reads carry no idempotency key.
func (k *worker) probeRead() {
	k.probe(vigiltest.Object(ObjectName, k.key, ReadHandler), ReadRequest{ProbeFor: k.hold}, &k.readDone, k.probeRead)
}

func (k *worker) probeSide() {
	k.probe(vigiltest.Object(ObjectName, k.side, AppendHandler), AppendRequest{Item: "probe-" + k.side, ProbeFor: k.hold}, &k.sideDone, k.probeSide,
		vigiltest.IdempotencyKey("probe-"+k.side))
}

func (k *worker) answered() {
	if k.readDone && k.sideDone {
		k.s.After(k.s.Rand().Duration(0, 3*time.Second, "release-after"), k.release)
	}
}

// release resolves (or, for a rejecting worker, rejects) the hold's awakeable, once; the kit
// retries it after connection failures (the first completion wins, so a repeat is harmless).
func (k *worker) release() {
	if k.released {
		return
	}
	k.released = true
	if k.reject {
		vigiltest.RejectAwakeable(k.c, k.awakeable, k.c.Name()+" refuses to release "+k.key, nil, vigiltest.Tries(callTries))
		return
	}
	vigiltest.ResolveAwakeable(k.c, k.awakeable, k.c.Name()+" releases "+k.key, nil, vigiltest.Tries(callTries))
}
