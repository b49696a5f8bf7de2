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
// It imports the simulator and the runtime's handler API; nothing in the runtime imports it.
package exclusivequeue

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/sim"
)

// Scenario is the exclusive-queue scenario as the simulator runs it.
var Scenario = sim.Scenario{
	Name:        "exclusive-queue",
	Description: "exclusive handler holds its key's lock while waiting on an awakeable: appends queue in order, shared reads and other keys answer",
	New:         func(w *sim.World) sim.Workload { return &workload{w: w, workers: map[string]*worker{}} },
}

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

// workload drives callers and workers from the world's random stream.
type workload struct {
	w       *sim.World
	clients int
	items   int
	// workers are the release workers by awakeable ID: a Run executed again after a crash asks
	// for the same awakeable, and the gate deduplicates.
	workers map[string]*worker
	sides   int
}

var errGateDown = errors.New("release gate unavailable")

func (wl *workload) Services() []*durable.Service { return []*durable.Service{NewObject(wl)} }

func (wl *workload) client(kind string) string {
	wl.clients++
	return fmt.Sprintf("%s-%d", kind, wl.clients)
}

// Start schedules, per key, a hold or two, a few appends and a few reads over the first 20 s.
func (wl *workload) Start() {
	r := wl.w.Rand()
	keys := 1 + r.Intn(3, "keys")
	for k := range keys {
		key := fmt.Sprintf("acct-%d", k)
		for range 1 + r.Intn(2, "holds") {
			name := wl.client("holder")
			body, _ := json.Marshal(HoldRequest{Holder: name})
			wl.w.After(r.Duration(0, 15*time.Second, "hold-at"), func() {
				wl.call(name, key, HoldHandler, body, name, 0, nil)
			})
		}
		for range 1 + r.Intn(4, "appends") {
			name := wl.client("appender")
			wl.items++
			body, _ := json.Marshal(AppendRequest{Item: fmt.Sprintf("item-%d", wl.items)})
			wl.w.After(r.Duration(0, 20*time.Second, "append-at"), func() {
				wl.call(name, key, AppendHandler, body, name, 0, nil)
			})
		}
		for range r.Intn(4, "reads") {
			name := wl.client("reader")
			body, _ := json.Marshal(ReadRequest{})
			wl.w.After(r.Duration(0, 20*time.Second, "read-at"), func() {
				wl.call(name, key, ReadHandler, body, "", 0, nil)
			})
		}
	}
}

// call invokes handler on key and waits for its output. After a connection failure or a timeout
// it calls again: with the same idempotency key, which reaches the same invocation, when idemKey
// is set. done, if set, is called with the first answer.
func (wl *workload) call(client, key, handler string, body []byte, idemKey string, tries int, done func(sim.Response)) {
	var h http.Header
	if idemKey != "" {
		h = http.Header{"Idempotency-Key": []string{idemKey}}
	}
	wl.w.HTTP(client, http.MethodPost, "/"+ObjectName+"/"+key+"/"+handler, body, h, func(resp sim.Response) {
		if resp.Err != nil && tries < 200 {
			wl.w.After(wl.w.Rand().Duration(10*time.Millisecond, 2*time.Second, "call-retry"), func() {
				wl.call(client, key, handler, body, idemKey, tries+1, done)
			})
			return
		}
		if done != nil {
			done(resp)
		}
	})
}

// RequestRelease is the gate: it starts one worker per awakeable. While faults are on it is
// sometimes down, so the hold's Run fails and the invocation retries.
func (wl *workload) RequestRelease(key, awakeableID, holdID string) error {
	r := wl.w.Rand()
	if !wl.w.Healed() && r.Percent(10, "gate-down") {
		return errGateDown
	}
	if wl.workers[awakeableID] != nil {
		return nil
	}
	wl.sides++
	k := &worker{
		wl: wl, name: wl.client("worker"), key: key, awakeable: awakeableID, hold: holdID,
		side: fmt.Sprintf("side-%d", wl.sides), reject: r.Percent(20, "reject"),
	}
	wl.workers[awakeableID] = k
	wl.w.After(r.Duration(50*time.Millisecond, 5*time.Second, "worker-start"), k.start)
	return nil
}

// worker releases one hold. It first probes the runtime while the hold waits: a shared read of
// the held key and an append to a key of its own, each retried after connection failures. It
// releases the hold a little after both answered, or once Patience has passed since its latest
// probe without an answer.
type worker struct {
	wl                   *workload
	name                 string
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
	k.wl.w.After(Patience, func() {
		if n == k.sends && !(k.readDone && k.sideDone) {
			k.release()
		}
	})
}

func (k *worker) probeRead() {
	body, _ := json.Marshal(ReadRequest{ProbeFor: k.hold})
	k.sent()
	k.wl.w.HTTP(k.name, http.MethodPost, "/"+ObjectName+"/"+k.key+"/"+ReadHandler, body, nil, func(resp sim.Response) {
		if resp.Err != nil {
			if !k.released {
				// A new read, not a retry of the old one: reads carry no idempotency key.
				k.wl.w.After(k.wl.w.Rand().Duration(10*time.Millisecond, 2*time.Second, "probe-retry"), k.probeRead)
			}
			return
		}
		k.readDone = true
		k.answered()
	})
}

func (k *worker) probeSide() {
	body, _ := json.Marshal(AppendRequest{Item: "probe-" + k.side, ProbeFor: k.hold})
	k.sent()
	h := http.Header{"Idempotency-Key": []string{"probe-" + k.side}}
	k.wl.w.HTTP(k.name, http.MethodPost, "/"+ObjectName+"/"+k.side+"/"+AppendHandler, body, h, func(resp sim.Response) {
		if resp.Err != nil {
			if !k.released {
				k.wl.w.After(k.wl.w.Rand().Duration(10*time.Millisecond, 2*time.Second, "probe-retry"), k.probeSide)
			}
			return
		}
		k.sideDone = true
		k.answered()
	})
}

func (k *worker) answered() {
	if k.readDone && k.sideDone {
		k.wl.w.After(k.wl.w.Rand().Duration(0, 3*time.Second, "release-after"), k.release)
	}
}

// release resolves (or, for a rejecting worker, rejects) the hold's awakeable, once.
func (k *worker) release() {
	if k.released {
		return
	}
	k.released = true
	k.complete(0)
}

func (k *worker) complete(tries int) {
	path := "/restate/awakeables/" + k.awakeable
	var body []byte
	if k.reject {
		path += "/reject"
		body = []byte(k.name + " refuses to release " + k.key)
	} else {
		path += "/resolve"
		body, _ = json.Marshal(k.name + " releases " + k.key)
	}
	k.wl.w.HTTP(k.name, http.MethodPost, path, body, nil, func(resp sim.Response) {
		if resp.Err != nil && tries < 200 {
			k.wl.w.After(k.wl.w.Rand().Duration(10*time.Millisecond, 2*time.Second, "release-retry"), func() { k.complete(tries + 1) })
		}
	})
}
