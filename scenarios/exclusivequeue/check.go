package exclusivequeue

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
	"github.com/vigilsim/vigil/scenarios/internal/histutil"
)

// checkerName is the Checker of the scenario's violations.
const checkerName = "exclusive-queue-outcome"

// holdAwakeable is the journal index of the hold's awakeable.
const holdAwakeable = 1

// Check states the scenario's expected outcome, per key of the Ledger object. Call X1..Xn the
// key's exclusive invocations (holds and appends) in acceptance order (InvocationAccepted Seq),
// and L0 = [], Li = L(i-1) plus Xi's item if Xi is an append, else L(i-1):
//
//   - Q1 queue order: the exclusive invocations acquire the key's lock (their first
//     LockAcquired) in acceptance order: the acquirers, in history order, are X1, X2, ... with
//     no gap; shared reads never take the lock;
//   - Q2 one at a time: no exclusive invocation acquires the lock between another's LockAcquired
//     and LockReleased, and each finishes (InvocationDone) while it holds the lock;
//   - Q3 outputs: append Xi returns Li; hold Xi returns the value of its awakeable's first
//     accepted completion with L(i-1), or fails with the accepted rejection;
//   - Q4 reads see a consistent prefix: a read returns some Lm where m is at least the number of
//     exclusive invocations finished before the read was accepted and at most the number that
//     had acquired the lock before the read finished;
//   - Q5 a hold blocks nobody else: a worker's probe P for hold H (a read of H's key or an
//     append to a key of the worker's own, naming H in its input) that was accepted while H
//     held the lock, whose output reached the worker (request sent at s), that ran in a single
//     attempt, and with no crash or pause of any node from s to s + ProbeWindow, finished before
//     H released the lock. Those conditions exclude exactly the ways a probe can legitimately be
//     slow: a node down or paused, a broken attempt retried with backoff, a lost answer that
//     made the worker probe again. Without them, a probe finishes within seconds, long before
//     the worker's Patience runs out, and the worker releases the hold only after its answer.
//
// Invocations that never finished are the liveness checker's to report; Q3 and Q4 stop judging
// a key at its first unfinished exclusive invocation.
func (wl *workload) Check(h *checkers.History) []checkers.Violation {
	return check(h)
}

// call is what the history says about one invocation of the Ledger; event fields are indices
// into the history, -1 when absent.
type call struct {
	id                          protocol.InvocationID
	seq                         uint64
	handler, key                string
	exclusive                   bool
	accepted, acquired, release int
	done                        int
	attempts                    int
	// reached are the ClientRequests whose response carried this invocation's output.
	reached []int
}

type checker struct {
	h     *checkers.History
	calls map[protocol.InvocationID]*call
	// exclusive lists each key's exclusive calls by Seq; reads each key's shared calls.
	exclusive, reads map[string][]*call
	completed        map[protocol.InvocationID]int
	faults           []histutil.Window
	vs               []checkers.Violation
}

func check(h *checkers.History) []checkers.Violation {
	c := &checker{h: h, calls: map[protocol.InvocationID]*call{}, exclusive: map[string][]*call{}, reads: map[string][]*call{},
		completed: map[protocol.InvocationID]int{}, faults: faultWindows(h)}
	c.index()
	keys := slices.Sorted(maps.Keys(c.exclusive))
	for _, k := range slices.Sorted(maps.Keys(c.reads)) {
		if _, ok := c.exclusive[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		c.queueOrder(k)
		lists := c.outputs(k)
		c.readPrefixes(k, lists)
	}
	c.probes()
	slices.SortStableFunc(c.vs, func(a, b checkers.Violation) int { return cmp.Compare(firstEvent(a), firstEvent(b)) })
	return c.vs
}

func firstEvent(v checkers.Violation) int {
	if len(v.Events) == 0 {
		return -1
	}
	return v.Events[0]
}

func (c *checker) fail(id protocol.InvocationID, events []int, format string, args ...any) {
	c.vs = append(c.vs, checkers.Violation{Checker: checkerName, Invocation: id, Message: fmt.Sprintf(format, args...), Events: events})
}

// index reads the history once, and states Q2 on the way.
func (c *checker) index() {
	requests := map[uint64]int{}
	holder := map[string]*call{}
	for i := range c.h.Events {
		e := &c.h.Events[i] // not a copy: an event is a few hundred bytes
		cl := c.calls[e.Invocation]
		switch e.Kind {
		case checkers.InvocationAccepted:
			if e.Service != ObjectName || cl != nil {
				continue
			}
			cl = &call{id: e.Invocation, seq: e.Seq, handler: e.Handler, key: e.Key, exclusive: e.HandlerKind == event.HandlerExclusive,
				accepted: i, acquired: -1, release: -1, done: -1}
			c.calls[e.Invocation] = cl
			if cl.exclusive {
				c.exclusive[cl.key] = append(c.exclusive[cl.key], cl)
			} else {
				c.reads[cl.key] = append(c.reads[cl.key], cl)
			}
		case checkers.LockAcquired:
			if e.Service != ObjectName {
				continue
			}
			switch {
			case cl == nil:
				c.fail(e.Invocation, []int{i}, "%s: acquired the lock, but was never accepted", e.Key)
				continue
			case !cl.exclusive:
				c.fail(e.Invocation, []int{cl.accepted, i}, "%s: the shared %s took the lock", e.Key, cl.handler)
				continue
			}
			if cur := holder[e.Key]; cur != nil && cur != cl {
				c.fail(e.Invocation, []int{cur.acquired, i}, "%s: %s acquired the lock while %s %s holds it", e.Key, cl.handler, cur.handler, cur.id)
			}
			holder[e.Key] = cl
			if cl.acquired < 0 {
				cl.acquired = i
			}
		case checkers.LockReleased:
			if cl == nil || e.Service != ObjectName {
				continue
			}
			if holder[e.Key] == cl {
				delete(holder, e.Key)
			}
			if cl.release < 0 {
				cl.release = i
			}
		case checkers.AttemptStarted:
			if cl != nil {
				cl.attempts++
			}
		case checkers.InvocationDone:
			if cl == nil || cl.done >= 0 {
				continue
			}
			cl.done = i
			if cl.exclusive && holder[cl.key] != cl {
				c.fail(cl.id, []int{i}, "%s: the exclusive %s finished without holding the lock", cl.key, cl.handler)
			}
		case checkers.CompletionAccepted:
			if _, ok := c.completed[e.Invocation]; !ok && e.Index == holdAwakeable {
				c.completed[e.Invocation] = i
			}
		case checkers.ClientRequest:
			if _, ok := requests[e.Request]; !ok {
				requests[e.Request] = i
			}
		case checkers.ClientResponse:
			if cl != nil && e.Entry.Kind == journal.KindOutput {
				if q, ok := requests[e.Request]; ok {
					cl.reached = append(cl.reached, q)
				}
			}
		}
	}
	for _, q := range c.exclusive {
		slices.SortStableFunc(q, func(a, b *call) int { return cmp.Compare(a.seq, b.seq) })
	}
}

// queueOrder states Q1 for key k.
func (c *checker) queueOrder(k string) {
	q := c.exclusive[k]
	var acquirers []*call
	for _, cl := range q {
		if cl.acquired >= 0 {
			acquirers = append(acquirers, cl)
		}
	}
	slices.SortStableFunc(acquirers, func(a, b *call) int { return cmp.Compare(a.acquired, b.acquired) })
	for p, cl := range acquirers {
		if want := q[p]; cl != want {
			c.fail(cl.id, []int{want.accepted, cl.accepted, cl.acquired},
				"%s: %s (seq %d) was the %s to acquire the lock, but %s %s (seq %d) was accepted before it",
				k, cl.handler, cl.seq, ordinal(p+1), want.handler, want.id, want.seq)
			return
		}
	}
}

func ordinal(n int) string {
	switch n {
	case 1:
		return "1st"
	case 2:
		return "2nd"
	case 3:
		return "3rd"
	}
	return fmt.Sprintf("%dth", n)
}

// outputs states Q3 for key k and returns L0, L1, ... as far as the key's exclusive invocations
// finished in a row.
func (c *checker) outputs(k string) [][]string {
	lists := [][]string{{}}
	for _, cl := range c.exclusive[k] {
		if cl.done < 0 {
			break
		}
		d := &c.h.Events[cl.done]
		prev := lists[len(lists)-1]
		next := prev
		if len(d.Journal) == 0 || d.Journal[0].Kind != journal.KindInput {
			c.fail(cl.id, []int{cl.done}, "%s: final journal %v has no input", k, d.Journal)
			break
		}
		switch cl.handler {
		case AppendHandler:
			var req AppendRequest
			if err := json.Unmarshal(d.Journal[0].Result.Value, &req); err != nil {
				c.fail(cl.id, []int{cl.done}, "%s: append input %s: %v", k, d.Journal[0].Result, err)
				return lists
			}
			next = append(slices.Clone(prev), req.Item)
			if want := jsonValue(next); !d.Result.Equal(want) {
				c.fail(cl.id, []int{cl.done}, "%s: append (seq %d) returned %s, want %s: the items of the appends accepted before it and its own, in acceptance order",
					k, cl.seq, d.Result, want)
			}
		case HoldHandler:
			want, err := c.holdOutput(cl, prev)
			if err != nil {
				c.fail(cl.id, []int{cl.done}, "%s: hold (seq %d): %v", k, cl.seq, err)
			} else if !d.Result.Equal(want) {
				c.fail(cl.id, []int{cl.done}, "%s: hold (seq %d) returned %s, want %s", k, cl.seq, d.Result, want)
			}
		}
		lists = append(lists, next)
	}
	return lists
}

// holdOutput is what hold cl must return given the list before it.
func (c *checker) holdOutput(cl *call, items []string) (journal.Result, error) {
	i, ok := c.completed[cl.id]
	if !ok {
		return journal.Result{}, fmt.Errorf("finished, but no completion of its awakeable was ever accepted")
	}
	acc := c.h.Events[i].Result
	if acc.Failure != nil {
		return journal.Result{Failure: &journal.Failure{Code: acc.Failure.Code, Message: acc.Failure.Message}}, nil
	}
	var release string
	if err := json.Unmarshal(acc.Value, &release); err != nil {
		return journal.Result{}, fmt.Errorf("accepted completion %s: %v", acc, err)
	}
	return jsonValue(HoldResult{Release: release, Items: items}), nil
}

func jsonValue(v any) journal.Result {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("exclusivequeue: marshal %v: %v", v, err))
	}
	return journal.Result{Value: b}
}

// readPrefixes states Q4 for key k, given L0, L1, ... .
func (c *checker) readPrefixes(k string, lists [][]string) {
	q := c.exclusive[k]
	for _, r := range c.reads[k] {
		if r.done < 0 {
			continue
		}
		lo, hi := 0, 0
		for i, x := range q {
			if x.done >= 0 && x.done < r.accepted {
				lo = i + 1
			}
			if x.acquired >= 0 && x.acquired < r.done {
				hi = i + 1
			}
		}
		if hi >= len(lists) {
			continue // an exclusive invocation before it never finished: nothing to judge by
		}
		got := c.h.Events[r.done].Result
		ok := false
		for m := lo; m <= hi && !ok; m++ {
			ok = got.Equal(jsonValue(lists[m]))
		}
		if !ok {
			var want []string
			for m := lo; m <= hi; m++ {
				want = append(want, jsonValue(lists[m]).String())
			}
			c.fail(r.id, []int{r.accepted, r.done}, "%s: read returned %s, want one of %s (the list after %d to %d of the key's exclusive invocations)",
				k, got, strings.Join(want, ", "), lo, hi)
		}
	}
}

// probes states Q5.
func (c *checker) probes() {
	for _, p := range c.sortedCalls() {
		if p.done < 0 || len(p.reached) == 0 || p.attempts != 1 {
			continue
		}
		d := &c.h.Events[p.done]
		if len(d.Journal) == 0 {
			continue
		}
		var in struct {
			ProbeFor string `json:"probeFor"`
		}
		if json.Unmarshal(d.Journal[0].Result.Value, &in) != nil || in.ProbeFor == "" {
			continue
		}
		holdID, err := protocol.ParseInvocationID(in.ProbeFor)
		if err != nil {
			c.fail(p.id, []int{p.done}, "probe for %q, not an invocation ID", in.ProbeFor)
			continue
		}
		hold := c.calls[holdID]
		if hold == nil || hold.acquired < 0 || hold.release < 0 || p.accepted < hold.acquired || p.accepted > hold.release {
			continue // not accepted while the hold held the lock
		}
		sent := c.h.Events[p.reached[0]].At
		if histutil.Overlaps(c.faults, sent, sent+ProbeWindow) {
			continue
		}
		if p.done > hold.release {
			c.fail(p.id, []int{hold.acquired, p.accepted, hold.release, p.done},
				"%s on %s, a probe accepted while hold %s of %s waited, finished at %v, after the hold released the lock at %v: the hold blocked it",
				p.handler, p.key, hold.id, hold.key, d.At, c.h.Events[hold.release].At)
		}
	}
}

// sortedCalls returns every call in acceptance order.
func (c *checker) sortedCalls() []*call {
	all := slices.Collect(maps.Values(c.calls))
	slices.SortFunc(all, func(a, b *call) int { return cmp.Compare(a.accepted, b.accepted) })
	return all
}

// faultWindows lists when a node was down (from its crash to its restart, or the end of the run)
// or paused (for the duration its NodePaused gives; to the end of the run if it cannot be read).
func faultWindows(h *checkers.History) []histutil.Window {
	var ws []histutil.Window
	down := map[string]time.Duration{}
	for i := range h.Events {
		e := &h.Events[i] // not a copy: an event is a few hundred bytes
		switch e.Kind {
		case checkers.NodeCrashed:
			if _, ok := down[e.Node]; !ok {
				down[e.Node] = e.At
			}
		case checkers.NodeRestarted:
			if from, ok := down[e.Node]; ok {
				ws = append(ws, histutil.Window{From: from, To: e.At})
				delete(down, e.Node)
			}
		case checkers.NodePaused:
			ws = append(ws, histutil.Window{From: e.At, To: e.At + histutil.PauseLength(h, *e)})
		}
	}
	for _, node := range slices.Sorted(maps.Keys(down)) {
		ws = append(ws, histutil.Window{From: down[node], To: h.End()})
	}
	return ws
}
