// Package objectstate is the scenario of a virtual object's state under every write: an
// exclusive handler applies a list of operations (Set, Clear of a key, set or not, and ClearAll)
// and answers with the state it then reads back (Keys, then Get of each key); a shared handler
// reads the same snapshot beside it. Clients call both on a few keys, with idempotency keys so
// that retries after connection errors reach the same invocation.
//
// The expected outcome (see Check): replaying the finished apply invocations of an object key
// in the order they finished (they hold the key's lock, so they ran one after another) on a
// model of its state gives, after each, exactly the snapshot it answered; a read that no apply
// overlapped answers the model's state at that point.
//
// It imports the user kit (vigiltest), the simulator's coverage points, the checkers' history and
// the runtime's handler API; nothing in the runtime imports it.
package objectstate

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/vigilsim/vigil/runtime/durable"
	"github.com/vigilsim/vigil/scenarios/internal/wfload"
	"github.com/vigilsim/vigil/sim"
	"github.com/vigilsim/vigil/vigiltest"
)

// Scenario is the object-state scenario as the simulator runs it, built on the user kit.
var Scenario = vigiltest.Scenario{
	Name:        "object-state",
	Description: "virtual object state: Set, Clear, ClearAll and Keys applied by an exclusive handler and read back, beside shared reads",
	Setup: func(s *vigiltest.Sim) {
		wl := &workload{s: s, cl: wfload.Over(s, ObjectName)}
		s.Services(NewObject())
		s.OnStart(wl.start)
		s.Checker(wl.Check)
	},
}.Sim()

// Names of the object and its handlers, as clients address them.
const (
	ObjectName = "Shelf"
	Apply      = "apply"
	Read       = "read"
)

// Op kinds.
const (
	OpSet      = "set"
	OpClear    = "clear"
	OpClearAll = "clearAll"
)

// Op is one state operation.
type Op struct {
	Op    string `json:"op"`
	Key   string `json:"key,omitempty"`
	Value string `json:"value,omitempty"`
}

// Snapshot is the state as a handler read it back: Keys, and the value of each.
type Snapshot struct {
	Keys   []string          `json:"keys"`
	Values map[string]string `json:"values"`
}

// NewObject returns the Shelf object: apply(ops) applies ops in order and returns the snapshot
// it reads back; read() returns the snapshot.
func NewObject() *durable.Service {
	return durable.NewObject(ObjectName).
		Handler(Apply, durable.NewObjectHandler(func(ctx durable.ObjectContext, ops []Op) (Snapshot, error) {
			for _, op := range ops {
				switch op.Op {
				case OpSet:
					durable.Set(ctx, op.Key, op.Value)
				case OpClear:
					durable.Clear(ctx, op.Key)
				case OpClearAll:
					durable.ClearAll(ctx)
				default:
					return Snapshot{}, durable.TerminalError(fmt.Errorf("unknown op %q", op.Op), 400)
				}
			}
			return snapshot(ctx)
		})).
		Handler(Read, durable.NewObjectSharedHandler(func(ctx durable.ObjectSharedContext, _ struct{}) (Snapshot, error) {
			return snapshot(ctx)
		}))
}

func snapshot(ctx durable.ObjectSharedContext) (Snapshot, error) {
	keys, err := durable.Keys(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	s := Snapshot{Keys: keys, Values: map[string]string{}}
	for _, k := range keys {
		v, err := durable.Get[string](ctx, k)
		if err != nil {
			return Snapshot{}, err
		}
		s.Values[k] = v
	}
	return s, nil
}

// Model applies ops to state (a map it changes) and returns the snapshot apply must answer.
func Model(state map[string]string, ops []Op) Snapshot {
	for _, op := range ops {
		switch op.Op {
		case OpSet:
			state[op.Key] = op.Value
		case OpClear:
			delete(state, op.Key)
		case OpClearAll:
			clear(state)
		}
	}
	return Snapshot{Keys: slices.Sorted(maps.Keys(state)), Values: maps.Clone(state)}
}

// workload drives the clients, on the user kit.
type workload struct {
	s  *vigiltest.Sim
	cl *wfload.Actors
	n  int
}

func (wl *workload) start() {
	r := wl.s.Rand()
	shelves := 1 + r.Intn(3, "shelves")
	n := 4 + r.Intn(12, "calls")
	for range n {
		shelf := fmt.Sprintf("shelf-%d", r.Intn(shelves, "shelf"))
		at := r.Duration(0, 40*time.Second, "call-at")
		if r.Percent(25, "read") {
			wl.s.After(at, func() { wl.call(shelf, Read, nil) })
			continue
		}
		ops := wl.drawOps()
		wl.s.After(at, func() { wl.call(shelf, Apply, ops) })
	}
}

// drawOps draws one to five operations over four state keys, ClearAll now and then.
func (wl *workload) drawOps() []Op {
	r := wl.s.Rand()
	ops := make([]Op, 1+r.Intn(5, "ops"))
	for i := range ops {
		key := string(rune('a' + r.Intn(4, "state-key")))
		switch p := r.Intn(100, "op"); {
		case p < 55:
			ops[i] = Op{Op: OpSet, Key: key, Value: fmt.Sprintf("v%d", r.Intn(1000, "value"))}
		case p < 90:
			ops[i] = Op{Op: OpClear, Key: key}
		default:
			ops[i] = Op{Op: OpClearAll}
		}
	}
	return ops
}

// call invokes handler of shelf with an idempotency key, retrying after connection errors; a
// read sends no input.
func (wl *workload) call(shelf, handler string, ops []Op) {
	wl.n++
	var input any
	if handler == Apply {
		input = ops
	}
	clears := slices.ContainsFunc(ops, func(o Op) bool { return o.Op != OpSet })
	vigiltest.Call(wl.cl.Client(handler), vigiltest.Object(ObjectName, shelf, handler), input, func(rep vigiltest.Reply[json.RawMessage]) {
		if clears && rep.Status == http.StatusOK {
			wl.s.World().Reach(sim.CoverStateKeysChecked)
		}
	}, wfload.Retrying(vigiltest.IdempotencyKey(fmt.Sprintf("%s-%d", handler, wl.n)))...)
}
