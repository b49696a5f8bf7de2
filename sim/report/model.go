package report

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/sim"
)

// run is a failing run as the artifacts show it, built once from the history: its nodes, its
// invocations with their attempts and events, and which events the violations name.
type run struct {
	events []checkers.Event
	end    time.Duration
	// nodes are the node names, sorted.
	nodes []string
	// invs are the invocations in order of their first event.
	invs  []*invocation
	byInv map[protocol.InvocationID]*invocation
	// exchanges are client requests with their responses, in request order.
	exchanges []span
	// flagged maps an event index to the violations (indices into Violations) that name it.
	flagged map[int][]int
}

// invocation is one invocation's part of the history.
type invocation struct {
	id       protocol.InvocationID
	target   string
	attempts []span
	// events are the indices of every event that names the invocation.
	events []int
	// violated is set when a violation names the invocation or one of its events.
	violated bool
}

// span is something with a start and an end event: an attempt, a client exchange. end is -1
// when the history holds no end (the attempt or the request was still open when the run ended).
type span struct {
	name       string
	start, end int
	from, to   time.Duration
	node       string
}

func newRun(r *sim.Result) *run {
	x := &run{byInv: map[protocol.InvocationID]*invocation{}, flagged: map[int][]int{}}
	if r.History == nil {
		return x
	}
	x.events = r.History.Events
	x.end = r.History.End()
	nodes := map[string]bool{}
	openAttempt := map[attemptKey]int{}
	openRequest := map[uint64]int{}
	for i, e := range x.events {
		if e.Node != "" {
			nodes[e.Node] = true
		}
		if !e.Invocation.IsZero() {
			inv := x.invocation(e.Invocation)
			inv.events = append(inv.events, i)
			if inv.target == "" && e.Kind == checkers.InvocationAccepted {
				inv.target = targetOf(e)
			}
		}
		x.pair(i, e, openAttempt, openRequest)
	}
	x.closeOpen(openAttempt, openRequest)
	x.nodes = nodeOrder(nodes)
	for vi, v := range r.Violations {
		for _, i := range v.Events {
			x.flagged[i] = append(x.flagged[i], vi)
			if i >= 0 && i < len(x.events) && !x.events[i].Invocation.IsZero() {
				x.invocation(x.events[i].Invocation).violated = true
			}
		}
		if !v.Invocation.IsZero() {
			x.invocation(v.Invocation).violated = true
		}
	}
	return x
}

type attemptKey struct {
	inv     protocol.InvocationID
	attempt uint32
}

// pair matches attempt starts with their ends and client requests with their responses.
func (x *run) pair(i int, e checkers.Event, openAttempt map[attemptKey]int, openRequest map[uint64]int) {
	switch e.Kind {
	case checkers.AttemptStarted:
		inv := x.invocation(e.Invocation)
		openAttempt[attemptKey{e.Invocation, e.Attempt}] = len(inv.attempts)
		inv.attempts = append(inv.attempts, span{name: "attempt " + itoa(int(e.Attempt)), start: i, end: -1, from: e.At, to: x.end, node: e.Node})
	case checkers.AttemptEnded:
		k := attemptKey{e.Invocation, e.Attempt}
		if n, ok := openAttempt[k]; ok {
			a := &x.invocation(e.Invocation).attempts[n]
			a.end, a.to = i, e.At
			a.name += " " + e.End.String()
			delete(openAttempt, k)
		}
	case checkers.ClientRequest:
		name := e.Reason
		if e.HTTP != nil {
			name = e.HTTP.Method + " " + e.HTTP.Path
		}
		openRequest[e.Request] = len(x.exchanges)
		x.exchanges = append(x.exchanges, span{name: name, start: i, end: -1, from: e.At, to: x.end, node: e.Node})
	case checkers.ClientResponse:
		if n, ok := openRequest[e.Request]; ok {
			s := &x.exchanges[n]
			s.end, s.to = i, e.At
			s.name += " -> " + itoa(e.Status)
			delete(openRequest, e.Request)
		}
	}
}

// closeOpen names what was still open at the end of the run.
func (x *run) closeOpen(openAttempt map[attemptKey]int, openRequest map[uint64]int) {
	for k, n := range openAttempt {
		x.byInv[k.inv].attempts[n].name += " (open at the end)"
	}
	for _, n := range openRequest {
		x.exchanges[n].name += " (no response)"
	}
}

func (x *run) invocation(id protocol.InvocationID) *invocation {
	inv := x.byInv[id]
	if inv == nil {
		inv = &invocation{id: id}
		x.byInv[id] = inv
		x.invs = append(x.invs, inv)
	}
	return inv
}

func targetOf(e checkers.Event) string {
	s := e.Service
	if e.Key != "" {
		s += "/" + e.Key
	}
	if e.Handler != "" {
		s += "/" + e.Handler
	}
	return s
}

// nodeOrder lists the nodes as the tracks show them: the runtime, the executor, then the
// clients and anything else by name.
func nodeOrder(m map[string]bool) []string {
	rank := func(n string) int {
		switch n {
		case "runtime":
			return 0
		case "executor":
			return 1
		}
		return 2
	}
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b string) int { return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b)) })
	return ks
}

// lanes places spans on as few lanes as keep each lane's spans apart: a span goes on the first
// lane whose last span ended by its start. Perfetto draws the slices of one track nested, so two
// attempts that overlap (a superseded one still running beside its successor) need two lanes.
func lanes(spans []span) []int {
	var ends []time.Duration
	out := make([]int, len(spans))
	for i, s := range spans {
		lane := -1
		for l, end := range ends {
			if end <= s.from {
				lane = l
				break
			}
		}
		if lane < 0 {
			lane = len(ends)
			ends = append(ends, 0)
		}
		ends[lane] = s.to
		out[i] = lane
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
