package histutil

import (
	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// Slot names one journal entry of one invocation.
type Slot struct {
	Inv   protocol.InvocationID
	Index uint32
}

// Index is what the scenario checks look things up in, by event index into H.Events: each
// invocation's first acceptance and first output, the order outputs came in, each entry's first
// accepted completion and its sleep timer's first arming and firing, every emission of each
// entry, and the executor's pauses.
type Index struct {
	H         *checkers.History
	Accepted  map[protocol.InvocationID]int
	Done      map[protocol.InvocationID]int
	DoneOrder []protocol.InvocationID
	Completed map[Slot]int
	Armed     map[Slot]int
	Fired     map[Slot]int
	// Emitted lists every CommandEmitted of each entry, in history order.
	Emitted map[Slot][]int
	Paused  []Window
}

// NewIndex indexes h in one pass.
func NewIndex(h *checkers.History) *Index {
	x := &Index{
		H: h, Accepted: map[protocol.InvocationID]int{}, Done: map[protocol.InvocationID]int{},
		Completed: map[Slot]int{}, Armed: map[Slot]int{}, Fired: map[Slot]int{}, Emitted: map[Slot][]int{},
		Paused: Pauses(h, "executor"),
	}
	first := func(m map[Slot]int, s Slot, i int) {
		if _, ok := m[s]; !ok {
			m[s] = i
		}
	}
	for i, e := range h.Events {
		s := Slot{e.Invocation, e.Index}
		switch e.Kind {
		case checkers.InvocationAccepted:
			if _, ok := x.Accepted[e.Invocation]; !ok {
				x.Accepted[e.Invocation] = i
			}
		case checkers.InvocationDone:
			if _, ok := x.Done[e.Invocation]; !ok {
				x.Done[e.Invocation] = i
				x.DoneOrder = append(x.DoneOrder, e.Invocation)
			}
		case checkers.CompletionAccepted:
			first(x.Completed, s, i)
		case checkers.TimerArmed:
			if e.Reason == "sleep" {
				first(x.Armed, s, i)
			}
		case checkers.TimerFired:
			if e.Reason == "sleep" {
				first(x.Fired, s, i)
			}
		case checkers.CommandEmitted:
			x.Emitted[s] = append(x.Emitted[s], i)
		}
	}
	return x
}

// Finished calls fn with each invocation of service that finished, in the order they finished,
// with the event indices of its acceptance and its output.
func (x *Index) Finished(service string, fn func(inv protocol.InvocationID, accepted, done int)) {
	for _, inv := range x.DoneOrder {
		acc, ok := x.Accepted[inv]
		if !ok || x.H.Events[acc].Service != service {
			continue
		}
		fn(inv, acc, x.Done[inv])
	}
}
