package objectstate

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// CheckerName is the Checker of the violations Check reports.
const CheckerName = "object-state"

// Check states the scenario's expected outcome over a recorded history:
//
//   - apply: per object key, the apply invocations that finished, taken in the order they
//     finished and each with the operations of its journaled input, fold into a model of the
//     key's state; each answered exactly the model's snapshot after its own operations;
//   - read: a read during which no apply of its key was accepted but unfinished answered the
//     model's snapshot of the applies finished before it was accepted (a read that overlapped
//     an apply may see a state in between, and is not judged).
//
// The state after ClearAll, after Clear of a key that was never set, and the sorted order of
// Keys are all part of the snapshot compared.
func Check(h *checkers.History) []checkers.Violation {
	var vs []checkers.Violation
	fail := func(inv protocol.InvocationID, events []int, format string, args ...any) {
		vs = append(vs, checkers.Violation{Checker: CheckerName, Invocation: inv, Message: fmt.Sprintf(format, args...), Events: events})
	}
	type call struct {
		handler, key string
		acc          int
	}
	calls := map[protocol.InvocationID]*call{}
	state := map[string]map[string]string{}
	// busy counts, per object key, the applies accepted and not yet finished; spoilt marks the
	// reads during which it was not zero.
	busy := map[string]int{}
	spoilt := map[protocol.InvocationID]bool{}
	// expected is, per read, the model's snapshot when it was accepted.
	expected := map[protocol.InvocationID]Snapshot{}
	done := map[protocol.InvocationID]bool{}
	for i, e := range h.Events {
		switch e.Kind {
		case checkers.InvocationAccepted:
			if e.Service != ObjectName || calls[e.Invocation] != nil {
				continue
			}
			calls[e.Invocation] = &call{handler: e.Handler, key: e.Key, acc: i}
			switch e.Handler {
			case Apply:
				busy[e.Key]++
				for inv, c := range calls {
					if c.handler == Read && c.key == e.Key && !done[inv] {
						spoilt[inv] = true
					}
				}
			case Read:
				if busy[e.Key] > 0 {
					spoilt[e.Invocation] = true
				}
				expected[e.Invocation] = Model(keyState(state, e.Key), nil)
			}
		case checkers.InvocationDone:
			c := calls[e.Invocation]
			if c == nil || done[e.Invocation] {
				continue
			}
			done[e.Invocation] = true
			switch c.handler {
			case Apply:
				busy[c.key]--
				var ops []Op
				if len(e.Journal) == 0 || json.Unmarshal(e.Journal[0].Result.Value, &ops) != nil {
					fail(e.Invocation, []int{c.acc, i}, "apply of %s finished without a readable input: %v", c.key, e.Journal)
					continue
				}
				want := Model(keyState(state, c.key), ops)
				judge(fail, e, []int{c.acc, i}, "apply", c.key, want)
			case Read:
				if !spoilt[e.Invocation] {
					judge(fail, e, []int{c.acc, i}, "read", c.key, expected[e.Invocation])
				}
			}
		}
	}
	return vs
}

// keyState returns the model of key's state in state, creating it.
func keyState(state map[string]map[string]string, key string) map[string]string {
	if state[key] == nil {
		state[key] = map[string]string{}
	}
	return state[key]
}

// judge reports an invocation whose output is not the snapshot want.
func judge(fail func(protocol.InvocationID, []int, string, ...any), e checkers.Event, events []int, what, key string, want Snapshot) {
	var got Snapshot
	if e.Result.Failure != nil || json.Unmarshal(e.Result.Value, &got) != nil {
		fail(e.Invocation, events, "%s of %s finished with %s, not a snapshot", what, key, e.Result)
		return
	}
	if got.Values == nil {
		got.Values = map[string]string{}
	}
	if !slices.Equal(got.Keys, want.Keys) || !reflect.DeepEqual(got.Values, want.Values) {
		fail(e.Invocation, events, "%s of %s answered keys %v values %v, the model says keys %v values %v", what, key, got.Keys, got.Values, want.Keys, want.Values)
	}
}

// Check judges a run against the scenario's expected outcome.
func (wl *workload) Check(h *checkers.History) []checkers.Violation { return Check(h) }
