package checkers

import (
	"time"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// Index is what the checkers (and the scenario checks) look things up in, built once per history
// in one pass and shared by every checker All runs, instead of each rebuilding its own maps.
// Values are indices into H.Events; "first" means the first event of its kind for the key.
type Index struct {
	H *History
	// Specs are the services the scenario declared (ServiceDeclared), by name.
	Specs map[string]*protocol.ServiceSpec
	// Requests, Responses: the first ClientRequest and ClientResponse of each request number.
	Requests  map[uint64]int
	Responses map[uint64]int
	// RequestOrder lists the request numbers in the order they were first sent.
	RequestOrder []uint64
	// Parsed is what each request means, read by ParseClientRequest from what the client sent.
	Parsed map[uint64]ParsedRequest
	// Deliveries lists every RequestDelivered, in history order: the order in which requests
	// reached the runtime.
	Deliveries []int
	// Accepted, Done: each invocation's first InvocationAccepted and first InvocationDone;
	// DoneOrder the invocations in the order they finished.
	Accepted  map[protocol.InvocationID]int
	Done      map[protocol.InvocationID]int
	DoneOrder []protocol.InvocationID
	// Completed is each awakeable's first CompletionAccepted.
	Completed map[Slot]int
	// Armed, Fired: each sleep entry's first TimerArmed and TimerFired.
	Armed map[Slot]int
	Fired map[Slot]int
	// Emitted lists every CommandEmitted of each entry, in history order.
	Emitted map[Slot][]int
	// Purges lists every Purged, in history order.
	Purges []int
	// RuntimeHeld are the stretches of time the runtime node was paused or down: while they
	// last it acts on nothing, so nothing it owes can be judged late.
	RuntimeHeld []Window
	// End is when the run ended (History.End).
	End time.Duration
}

// Window is a stretch of virtual time, From to To inclusive.
type Window struct{ From, To time.Duration }

// Overlaps reports whether any window of ws meets [from, to].
func Overlaps(ws []Window, from, to time.Duration) bool {
	for _, w := range ws {
		if w.From <= to && from <= w.To {
			return true
		}
	}
	return false
}

// NewIndex indexes h in one pass (and parses the requests once the declarations are known).
func NewIndex(h *History) *Index {
	// The maps are sized from a count of each kind first: growing them key by key cost more
	// than the counting pass, and the counts bound the sizes (repeats only make them smaller).
	var n [256]int // every Kind (a uint8), so a kind added later is counted too
	for i := range h.Events {
		n[h.Events[i].Kind]++
	}
	x := &Index{
		H: h, Specs: make(map[string]*protocol.ServiceSpec, n[event.ServiceDeclared]),
		Requests: make(map[uint64]int, n[event.ClientRequest]), Responses: make(map[uint64]int, n[event.ClientResponse]),
		RequestOrder: make([]uint64, 0, n[event.ClientRequest]), Deliveries: make([]int, 0, n[event.RequestDelivered]),
		Accepted: make(map[protocol.InvocationID]int, n[event.InvocationAccepted]),
		Done:     make(map[protocol.InvocationID]int, n[event.InvocationDone]), DoneOrder: make([]protocol.InvocationID, 0, n[event.InvocationDone]),
		Completed: make(map[Slot]int, n[event.CompletionAccepted]), Armed: make(map[Slot]int, n[event.TimerArmed]),
		Fired: make(map[Slot]int, n[event.TimerFired]), Emitted: make(map[Slot][]int, n[event.CommandEmitted]),
		End: h.End(),
	}
	first := func(m map[Slot]int, s Slot, i int) {
		if _, ok := m[s]; !ok {
			m[s] = i
		}
	}
	downSince := time.Duration(-1)
	for i := range h.Events {
		e := &h.Events[i]
		s := Slot{e.Invocation, e.Index}
		switch e.Kind {
		case event.ServiceDeclared:
			if e.Spec != nil {
				x.Specs[e.Spec.Name] = e.Spec
			}
		case event.ClientRequest:
			if _, ok := x.Requests[e.Request]; !ok {
				x.Requests[e.Request] = i
				x.RequestOrder = append(x.RequestOrder, e.Request)
			}
		case event.ClientResponse:
			if _, ok := x.Responses[e.Request]; !ok {
				x.Responses[e.Request] = i
			}
		case event.RequestDelivered:
			x.Deliveries = append(x.Deliveries, i)
		case event.InvocationAccepted:
			if _, ok := x.Accepted[e.Invocation]; !ok {
				x.Accepted[e.Invocation] = i
			}
		case event.InvocationDone:
			if _, ok := x.Done[e.Invocation]; !ok {
				x.Done[e.Invocation] = i
				x.DoneOrder = append(x.DoneOrder, e.Invocation)
			}
		case event.CompletionAccepted:
			first(x.Completed, s, i)
		case event.TimerArmed:
			if e.Timer == event.TimerSleep {
				first(x.Armed, s, i)
			}
		case event.TimerFired:
			if e.Timer == event.TimerSleep {
				first(x.Fired, s, i)
			}
		case event.CommandEmitted:
			x.Emitted[s] = append(x.Emitted[s], i)
		case event.Purged:
			x.Purges = append(x.Purges, i)
		case event.NodePaused:
			if e.Node == runtimeNode {
				x.RuntimeHeld = append(x.RuntimeHeld, Window{e.At, e.At + e.Span})
			}
		case event.NodeCrashed:
			if e.Node == runtimeNode && downSince < 0 {
				downSince = e.At
			}
		case event.NodeRestarted:
			if e.Node == runtimeNode && downSince >= 0 {
				x.RuntimeHeld = append(x.RuntimeHeld, Window{downSince, e.At})
				downSince = -1
			}
		}
	}
	if downSince >= 0 {
		x.RuntimeHeld = append(x.RuntimeHeld, Window{downSince, x.End})
	}
	x.Parsed = make(map[uint64]ParsedRequest, len(x.Requests))
	for n, i := range x.Requests {
		x.Parsed[n] = ParseClientRequest(h.Events[i].HTTP, x.Specs)
	}
	return x
}

// runtimeNode is the Node of the events the runtime process records.
const runtimeNode = "runtime"

// Request returns the first ClientRequest of request number n, what it means, and whether there
// is one.
func (x *Index) Request(n uint64) (Event, ParsedRequest, bool) {
	i, ok := x.Requests[n]
	if !ok {
		return Event{}, ParsedRequest{}, false
	}
	return x.H.Events[i], x.Parsed[n], true
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
