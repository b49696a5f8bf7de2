package checkers

import (
	"cmp"
	"encoding/binary"
	"slices"
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
	// RequestOrder lists the request numbers in the order they were first sent. What each
	// request is and means, and its response, are looked up by number: FirstRequest,
	// FirstResponse, Parsed.
	RequestOrder []uint64
	// Deliveries lists every RequestDelivered, in history order: the order in which requests
	// reached the runtime.
	Deliveries []int
	// Accepted, Done: each invocation's first InvocationAccepted and first InvocationDone;
	// DoneOrder the invocations in the order they finished.
	Accepted  IndexMap[protocol.InvocationID, int]
	Done      IndexMap[protocol.InvocationID, int]
	DoneOrder []protocol.InvocationID
	// Completed is each awakeable's first CompletionAccepted.
	Completed IndexMap[Slot, int]
	// Armed, Fired: each sleep entry's first TimerArmed and TimerFired.
	Armed IndexMap[Slot, int]
	Fired IndexMap[Slot, int]
	// Emitted lists every CommandEmitted of each entry, in history order (a slot with none has
	// no list).
	Emitted IndexMap[Slot, []int]
	// Purges lists every Purged, in history order.
	Purges []int
	// RuntimeHeld are the stretches of time the runtime node was paused or down: while they
	// last it acts on nothing, so nothing it owes can be judged late.
	RuntimeHeld []Window
	// End is when the run ended (History.End).
	End time.Duration

	// byKind holds the index of every event, grouped by kind and in history order within a
	// kind: those of kind k are byKind[kindStart[k]:kindStart[k+1]], for k below kinds (one past
	// the largest kind of the history; there are none of the others). A checker that reads a
	// few kinds walks them instead of the whole history.
	byKind    []int
	kindStart [258]int
	kinds     int
	// requestRepeats is set when some request number has more than one ClientRequest (a
	// hand-written history): then "the request before the response" is not always the first.
	requestRepeats bool
	// reqs is the request table: the first ClientRequest and ClientResponse of each request
	// number, and what the request means, found by number in reqDense (a slot per number, when
	// the numbers run from 1 with few gaps, as a simulator numbers them) or else in reqSparse.
	reqs []requestEntry
	// reqsCleared is how many entries of reqs's room tableRequests cleared for this history.
	reqsCleared int
	reqDense    []int32
	reqSparse   map[uint64]int32
	// facts, built on first use (completionFacts), lists the CompletionAccepted,
	// CompletionBuffered and CompletionDropped events of each awakeable, in history order.
	facts smallMap[Slot, []int]
	// factsBuilt tells that facts is built for this history; factsAll holds its lists.
	factsBuilt bool
	factsAll   []int
	// emitted holds the lists of Emitted (see build).
	emitted []int
	// replay is the Replay checker's state, kept for its room (replay empties it after use).
	replay replayer
	// timers is the Timers checker's state, kept for its room (timers empties it first).
	timers timerState
	// room holds what the checkers fill for one history, kept for its room.
	room checkRoom
}

// IndexMap is one of the index's maps of invocations or slots (Accepted, Done, Completed, Armed,
// Fired, Emitted), read with Lookup and Get. A history's few invocations and slots are found
// sooner by a short search than by hashing their 16- or 20-byte keys: as Go maps, filled per
// history and read by most checkers, they cost more than several checks they served. Past a
// few dozen keys it indexes them by hash as well, so a long history stays linear in its size.
// The index empties it for each history it builds, keeping its room; what it holds is valid
// until then. The zero value is empty.
type IndexMap[K comparable, V any] struct{ m smallMap[K, V] }

// Lookup returns k's value and whether k has one.
func (m *IndexMap[K, V]) Lookup(k K) (V, bool) { return m.m.lookup(k) }

// Get returns k's value, or V's zero value when k has none (as a Go map's read does).
func (m *IndexMap[K, V]) Get(k K) V { return m.m.get(k) }

// Len returns how many keys have a value.
func (m *IndexMap[K, V]) Len() int { return len(m.m.keys) }

// first gives k the value v unless it has one.
func (m *IndexMap[K, V]) first(k K, v V) {
	if m.m.find(k) < 0 {
		m.m.vals[m.m.insert(k)] = v
	}
}

// checkRoom is the room of slices and maps that checkers of All fill for one history: each
// empties what it takes (reuse, clearedMap) and keeps nothing of it past its call, so what one
// history left in it is never read for the next.
type checkRoom struct {
	crashes    []int                                     // runtimeCrashes
	firsts     []submission                              // outputs: each key's first submission
	idemOrder  []idempotencyTarget                       // outputs: the keys in the order first sent
	idem       smallMap[idempotencyTarget, []submission] // outputs: each key's submissions
	idempotent smallMap[protocol.InvocationID, bool]     // idempotentInvocations
	accFirst   []int                                     // readsAfterPurge: each invocation's first acceptance
	final      smallMap[protocol.InvocationID, int]      // finalJournal: each invocation's final journal
	judged     smallMap[Slot, bool]                      // firstCompletion: the awakeables judged
	cancels    smallMap[protocol.InvocationID, int]      // firstCompletion: each invocation's first cancel
}

// requestEntry is what the index holds of one request number.
type requestEntry struct {
	// request and response are the event indices of its first ClientRequest and first
	// ClientResponse, -1 when there is none.
	request, response int
	// parsed is what the request means (zero when there is no request).
	parsed ParsedRequest
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

// NewIndex indexes h: it counts and groups the events by kind, builds the maps in one pass, and
// parses the requests once the declarations are known.
func NewIndex(h *History) *Index { return newIndex(h, nil) }

// newIndex is NewIndex taking the readings of read (nil: none) where they are the ones it would
// make (ReadRequests).
func newIndex(h *History, read *ReadRequests) *Index {
	x := &Index{}
	x.build(h, read)
	return x
}

// build indexes h into x, which holds nothing or an earlier history's index: the maps and
// slices of that one are cleared and filled again (Judges keeps one index across histories),
// so nothing of it is left, and the index is what NewIndex would build.
func (x *Index) build(h *History, read *ReadRequests) {
	// The events are grouped by kind with a counting sort in kindStart itself: each kind's count,
	// then where it starts, then where it ends. Only the kinds up to the largest in h are summed
	// (x.kinds): a history uses a few dozen of the 256, and summing all of them, in copies of
	// the table, was a tenth of the index's own work. kindStart is zero past x.kinds+1 between
	// builds, so only what the last history set needs clearing.
	ks := &x.kindStart
	clear(ks[:x.kinds+2])
	top := 0 // one past the largest kind in h
	for i := range h.Events {
		k := int(h.Events[i].Kind)
		ks[k+2]++
		top = max(top, k+1)
	}
	for k := 2; k <= top+1; k++ {
		ks[k] += ks[k-1] // ks[k+1] is where kind k starts
	}
	byKind := reuse(x.byKind, len(h.Events))
	for i := range h.Events {
		k := int(h.Events[i].Kind) + 1
		byKind[ks[k]] = i
		ks[k]++ // ks[k+1] ends up where kind k ends, and kind k+1 starts
	}
	x.kinds, x.byKind = top, byKind
	// The maps are sized from the counts when they are made (the first history): growing them
	// key by key cost more, and the counts bound the sizes (repeats only make them smaller).
	// Every other field is set here, or by the pass below, for this history.
	n := func(k event.Kind) int { return len(x.ofKind(k)) }
	x.H, x.Specs = h, clearedMap(x.Specs, n(event.ServiceDeclared))
	x.RequestOrder, x.Deliveries = x.RequestOrder[:0], x.Deliveries[:0]
	x.Accepted.m.reset()
	x.Done.m.reset()
	x.DoneOrder = x.DoneOrder[:0]
	x.Completed.m.reset()
	x.Armed.m.reset()
	x.Fired.m.reset()
	x.Emitted.m.reset()
	x.Purges, x.RuntimeHeld = x.Purges[:0], x.RuntimeHeld[:0]
	x.End, x.factsBuilt = h.End(), false
	x.tableRequests(n(event.ClientRequest) + n(event.ClientResponse))
	// A slot's first command takes one element of emitted, capped so that an append (a later
	// attempt's emission at the same slot, or a caller's) moves it out instead of writing over
	// the next slot's: one allocation for the common case of one command per slot. A later
	// emission at the slot moves its list to the next free elements of emitted too, again
	// capped, while there is room (twice the commands: a slot emitted again by a later attempt
	// is common, emitted many times rare), and to the heap past it.
	emitted := reuse(x.emitted, 2*n(event.CommandEmitted))
	x.emitted = emitted
	// The maps and lists are filled kind by kind, from the groups above: each reads one or two
	// kinds, in history order within the kind, and a pass over the whole history to switch on
	// every event's kind cost more than the filling (most events are of kinds none reads).
	ev := h.Events
	for _, i := range x.ofKind(event.ServiceDeclared) {
		if e := &ev[i]; e.Spec != nil {
			x.Specs[e.Spec.Name] = e.Spec
		}
	}
	for _, i := range x.ofKind(event.ClientRequest) {
		if r := x.reqEntry(ev[i].Request); r.request < 0 {
			r.request = i
			x.RequestOrder = append(x.RequestOrder, ev[i].Request)
		}
	}
	for _, i := range x.ofKind(event.ClientResponse) {
		if r := x.reqEntry(ev[i].Request); r.response < 0 {
			r.response = i
		}
	}
	x.Deliveries = append(x.Deliveries, x.ofKind(event.RequestDelivered)...)
	for _, i := range x.ofKind(event.InvocationAccepted) {
		x.Accepted.first(ev[i].Invocation, i)
	}
	for _, i := range x.ofKind(event.InvocationDone) {
		if inv := ev[i].Invocation; x.Done.m.find(inv) < 0 {
			x.Done.m.vals[x.Done.m.insert(inv)] = i
			x.DoneOrder = append(x.DoneOrder, inv)
		}
	}
	for _, i := range x.ofKind(event.CompletionAccepted) {
		x.Completed.first(Slot{ev[i].Invocation, ev[i].Index}, i)
	}
	for _, i := range x.ofKind(event.TimerArmed) {
		if e := &ev[i]; e.Timer == event.TimerSleep {
			x.Armed.first(Slot{e.Invocation, e.Index}, i)
		}
	}
	for _, i := range x.ofKind(event.TimerFired) {
		if e := &ev[i]; e.Timer == event.TimerSleep {
			x.Fired.first(Slot{e.Invocation, e.Index}, i)
		}
	}
	for _, i := range x.ofKind(event.CommandEmitted) {
		s := Slot{ev[i].Invocation, ev[i].Index}
		k := x.Emitted.m.find(s)
		if k < 0 {
			k = x.Emitted.m.insert(s)
		}
		l := &x.Emitted.m.vals[k] // nil for the slot's first command: Emitted holds no empty list
		if n := len(*l); n < len(emitted) {
			copy(emitted, *l)
			emitted[n] = i
			*l, emitted = emitted[:n+1:n+1], emitted[n+1:]
		} else {
			*l = append(*l, i) // out of room: the list is capped, so this moves it
		}
	}
	x.Purges = append(x.Purges, x.ofKind(event.Purged)...)
	// The runtime's pauses and downtimes, in history order: the three kinds merged.
	downSince := time.Duration(-1)
	x.eachOfKinds(heldKinds[:], func(i int) {
		e := &ev[i]
		if e.Node != runtimeNode {
			return
		}
		switch e.Kind {
		case event.NodePaused:
			x.RuntimeHeld = append(x.RuntimeHeld, Window{e.At, e.At + e.Span})
		case event.NodeCrashed:
			if downSince < 0 {
				downSince = e.At
			}
		case event.NodeRestarted:
			if downSince >= 0 {
				x.RuntimeHeld = append(x.RuntimeHeld, Window{downSince, e.At})
				downSince = -1
			}
		}
	})
	if downSince >= 0 {
		x.RuntimeHeld = append(x.RuntimeHeld, Window{downSince, x.End})
	}
	x.requestRepeats = len(x.RequestOrder) != n(event.ClientRequest)
	useRead := read.usable(x.Specs)
	for _, n := range x.RequestOrder {
		r := x.entry(n)
		http := h.Events[r.request].HTTP
		if useRead {
			if p := read.lookup(n, http); p != nil {
				r.parsed = *p
				continue
			}
		}
		parseClientRequest(&r.parsed, http, x.Specs, nil)
	}
}

// heldKinds are the kinds of event that tell when the runtime node was held (RuntimeHeld).
var heldKinds = [...]event.Kind{event.NodePaused, event.NodeCrashed, event.NodeRestarted}

// reuse returns s's array as a slice of n zeros, or a new one when it is too small.
func reuse[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// clearedMap returns m emptied, or a new map for about n keys when m is nil.
func clearedMap[K comparable, V any](m map[K]V, n int) map[K]V {
	if m == nil {
		return make(map[K]V, n)
	}
	clear(m)
	return m
}

// tableRequests readies the request table for the request numbers of h's ClientRequest and
// ClientResponse events (count of them): a slot per number when the largest is small next to
// their count, else a map.
func (x *Index) tableRequests(count int) {
	largest := uint64(0)
	for _, k := range [...]event.Kind{event.ClientRequest, event.ClientResponse} {
		for _, i := range x.ofKind(k) {
			largest = max(largest, x.H.Events[i].Request)
		}
	}
	x.reqs, x.reqsCleared = reuse(x.reqs, count)[:0], count
	if largest <= 2*uint64(count)+64 {
		x.reqDense, x.reqSparse = reuse(x.reqDense, int(largest+1)), nil
		for n := range x.reqDense {
			x.reqDense[n] = -1
		}
		return
	}
	x.reqDense, x.reqSparse = nil, clearedMap(x.reqSparse, count)
}

// reqEntry returns the request table's entry of request number n, made if there is none.
func (x *Index) reqEntry(n uint64) *requestEntry {
	if r := x.entry(n); r != nil {
		return r
	}
	k := int32(len(x.reqs))
	if int(k) < x.reqsCleared {
		// tableRequests cleared this room: only the event indices need setting, not the few
		// hundred bytes of a zero reading written again.
		x.reqs = x.reqs[:k+1]
		x.reqs[k].request, x.reqs[k].response = -1, -1
	} else {
		x.reqs = append(x.reqs, requestEntry{request: -1, response: -1})
	}
	if x.reqDense != nil {
		x.reqDense[n] = k
	} else {
		x.reqSparse[n] = k
	}
	return &x.reqs[k]
}

// entry returns the request table's entry of request number n, nil when no ClientRequest or
// ClientResponse has that number.
func (x *Index) entry(n uint64) *requestEntry {
	k := int32(-1)
	if x.reqDense != nil {
		if n < uint64(len(x.reqDense)) {
			k = x.reqDense[n]
		}
	} else if v, ok := x.reqSparse[n]; ok {
		k = v
	}
	if k < 0 {
		return nil
	}
	return &x.reqs[k]
}

// FirstRequest returns the event index of the first ClientRequest of request number n, and
// whether there is one.
func (x *Index) FirstRequest(n uint64) (int, bool) {
	if r := x.entry(n); r != nil && r.request >= 0 {
		return r.request, true
	}
	return 0, false
}

// FirstResponse returns the event index of the first ClientResponse of request number n, and
// whether there is one.
func (x *Index) FirstResponse(n uint64) (int, bool) {
	if r := x.entry(n); r != nil && r.response >= 0 {
		return r.response, true
	}
	return 0, false
}

// Parsed returns what request number n means, read by ParseClientRequest from what the client
// sent in its first ClientRequest: the zero ParsedRequest (RequestInvalid) when there is none.
func (x *Index) Parsed(n uint64) ParsedRequest { return *x.parsed(n) }

// parsed is Parsed without the copy (a ParsedRequest is a few hundred bytes, and the checkers
// look one up per request): the index's own reading, or noRequest, which the caller must not
// change.
func (x *Index) parsed(n uint64) *ParsedRequest {
	if r := x.entry(n); r != nil {
		return &r.parsed
	}
	return &noRequest
}

// noRequest is what parsed gives for a request number with no request; nothing writes it.
var noRequest ParsedRequest

// runtimeNode is the Node of the events the runtime process records.
const runtimeNode = "runtime"

// Request returns the first ClientRequest of request number n, what it means, and whether there
// is one.
func (x *Index) Request(n uint64) (Event, ParsedRequest, bool) {
	i, ok := x.FirstRequest(n)
	if !ok {
		return Event{}, ParsedRequest{}, false
	}
	return x.H.Events[i], x.Parsed(n), true
}

// Finished calls fn with each invocation of service that finished, in the order they finished,
// with the event indices of its acceptance and its output.
func (x *Index) Finished(service string, fn func(inv protocol.InvocationID, accepted, done int)) {
	for _, inv := range x.DoneOrder {
		acc, ok := x.Accepted.Lookup(inv)
		if !ok || x.H.Events[acc].Service != service {
			continue
		}
		fn(inv, acc, x.Done.Get(inv))
	}
}

// ofKind returns the indices of the events of kind k, in history order. The caller must not
// change the slice.
func (x *Index) ofKind(k event.Kind) []int {
	if int(k) >= x.kinds {
		return nil
	}
	return x.byKind[x.kindStart[k]:x.kindStart[int(k)+1]]
}

// eachOf calls fn with the index of every event of kind a or of kind b, in history order.
func (x *Index) eachOf(a, b event.Kind, fn func(i int)) {
	as, bs := x.ofKind(a), x.ofKind(b)
	for len(as) > 0 || len(bs) > 0 {
		if len(bs) == 0 || len(as) > 0 && as[0] < bs[0] {
			fn(as[0])
			as = as[1:]
		} else {
			fn(bs[0])
			bs = bs[1:]
		}
	}
}

// maxMergedKinds is the most kinds eachOfKinds merges the lists of.
const maxMergedKinds = 8

// eachOfKinds calls fn with the index of every event of the kinds ks (distinct), in history
// order: their lists merged, so that a checker that reads a few kinds of a history walks those
// events only instead of testing the kind of every event (the storage audit reads a tenth of an
// approval seed's). Replay, whose kinds are a fifth of it and interleave closely, gained nothing
// by it: the merge costs about what the switch on every kind did.
func (x *Index) eachOfKinds(ks []event.Kind, fn func(i int)) {
	if len(ks) > maxMergedKinds { // more lists than the merge holds: the history, filtered
		only := kinds(ks...)
		for i := range x.H.Events {
			if only.has(x.H.Events[i].Kind) {
				fn(i)
			}
		}
		return
	}
	// The lists not yet done, and the next event of each: an event is of one kind, so the
	// smallest next event is one list's.
	var lists [maxMergedKinds][]int
	var next [maxMergedKinds]int
	n := 0
	for _, k := range ks {
		if l := x.ofKind(k); len(l) > 0 {
			lists[n], next[n] = l, l[0]
			n++
		}
	}
	for n > 0 {
		m := 0
		for j := 1; j < n; j++ {
			if next[j] < next[m] {
				m = j
			}
		}
		fn(next[m])
		if l := lists[m][1:]; len(l) > 0 {
			lists[m], next[m] = l, l[0]
		} else {
			n--
			lists[m], next[m] = lists[n], next[n]
		}
	}
}

// completionFacts returns, per awakeable, its CompletionAccepted, CompletionBuffered and
// CompletionDropped events in history order: the durable facts about its completions. It is
// built on the first call and shared by the checkers that read it, who must not change it.
func (x *Index) completionFacts() *smallMap[Slot, []int] {
	if x.factsBuilt {
		return &x.facts
	}
	x.factsBuilt = true
	kinds := [...]event.Kind{event.CompletionAccepted, event.CompletionBuffered, event.CompletionDropped}
	n := 0
	for _, k := range kinds {
		n += len(x.ofKind(k))
	}
	// The three kinds' events, ordered by awakeable and then by history order, so that each
	// awakeable's facts are one run of them: its list is that run, capped at its end.
	all := reuse(x.factsAll, n)[:0]
	for _, k := range kinds {
		all = append(all, x.ofKind(k)...)
	}
	ev := x.H.Events
	if len(all) <= smallFactSort {
		// A seed's few facts: sorted in place by insertion, with factPrecedes, instead of through
		// SortFunc's closure and a byte comparison of the invocations per step.
		for k := 1; k < len(all); k++ {
			for j := k; j > 0 && factPrecedes(ev, all[j], all[j-1]); j-- {
				all[j], all[j-1] = all[j-1], all[j]
			}
		}
	} else {
		slices.SortFunc(all, func(a, b int) int {
			if c := compareInvocations(ev[a].Invocation, ev[b].Invocation); c != 0 {
				return c
			}
			return cmp.Or(cmp.Compare(ev[a].Index, ev[b].Index), cmp.Compare(a, b))
		})
	}
	x.factsAll = all
	x.facts.reset()
	for from := 0; from < len(all); {
		e := &ev[all[from]]
		to := from + 1
		for to < len(all) && ev[all[to]].Invocation == e.Invocation && ev[all[to]].Index == e.Index {
			to++
		}
		// Each awakeable's run of facts is one run, so its slot is new: no search for it.
		x.facts.vals[x.facts.insert(Slot{e.Invocation, e.Index})] = all[from:to:to]
		from = to
	}
	return &x.facts
}

// smallFactSort is how many completion facts completionFacts sorts by insertion.
const smallFactSort = 16

// factPrecedes reports whether the fact at event a comes before the one at event b in
// completionFacts' order: by invocation (its bytes, read as two big-endian words, order as
// compareInvocations does), then journal index, then history order.
func factPrecedes(ev []Event, a, b int) bool {
	x, y := &ev[a].Invocation, &ev[b].Invocation
	if p, q := binary.BigEndian.Uint64(x[:8]), binary.BigEndian.Uint64(y[:8]); p != q {
		return p < q
	}
	if p, q := binary.BigEndian.Uint64(x[8:]), binary.BigEndian.Uint64(y[8:]); p != q {
		return p < q
	}
	if ia, ib := ev[a].Index, ev[b].Index; ia != ib {
		return ia < ib
	}
	return a < b
}

// requestBefore returns the last ClientRequest of request number n before the event i, and
// whether there is one.
func (x *Index) requestBefore(n uint64, i int) (int, bool) {
	if !x.requestRepeats {
		r, ok := x.FirstRequest(n)
		return r, ok && r < i
	}
	last, ok := 0, false
	for _, r := range x.ofKind(event.ClientRequest) {
		if r >= i {
			break
		}
		if x.H.Events[r].Request == n {
			last, ok = r, true
		}
	}
	return last, ok
}

// runtimeCrashes returns the NodeCrashed events of the runtime node, in history order. The
// slice is the index's room: valid until the next call.
func (x *Index) runtimeCrashes() []int {
	out := x.room.crashes[:0]
	for _, i := range x.ofKind(event.NodeCrashed) {
		if x.H.Events[i].Node == runtimeNode {
			out = append(out, i)
		}
	}
	x.room.crashes = out
	return out
}
