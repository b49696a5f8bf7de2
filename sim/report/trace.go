package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigilsim/vigil/checkers"
	"github.com/vigilsim/vigil/sim"
)

// Process ids of trace.json: one process holds a track per node, the other a track (or more,
// see lanes) per invocation.
const (
	pidNodes       = 1
	pidInvocations = 2
)

// traceEvent is one event of the Chrome trace-event format (the "JSON Object Format" that
// Perfetto and chrome://tracing read). Ts and Dur are microseconds of virtual time.
type traceEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"`
	Dur  *float64       `json:"dur,omitempty"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	S    string         `json:"s,omitempty"`
	Args map[string]any `json:"args,omitempty"`
}

// traceFile is the whole trace.json.
type traceFile struct {
	TraceEvents     []traceEvent   `json:"traceEvents"`
	DisplayTimeUnit string         `json:"displayTimeUnit"`
	OtherData       map[string]any `json:"otherData"`
}

// micros is virtual time as trace timestamps.
func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// tracks hands out thread ids and names them with metadata events.
type tracks struct {
	meta []traceEvent
	ids  map[string]int
	next map[int]int
}

func (t *tracks) id(pid int, name string) int {
	key := fmt.Sprintf("%d/%s", pid, name)
	if id, ok := t.ids[key]; ok {
		return id
	}
	t.next[pid]++
	id := t.next[pid]
	t.ids[key] = id
	t.meta = append(t.meta,
		traceEvent{Name: "thread_name", Ph: "M", Pid: pid, Tid: id, Args: map[string]any{"name": name}},
		traceEvent{Name: "thread_sort_index", Ph: "M", Pid: pid, Tid: id, Args: map[string]any{"sort_index": id}})
	return id
}

// TraceJSON renders trace.json: a track per node (runtime, executor, each client) and per
// invocation; attempts and client exchanges as complete slices; journal entries, deliveries and
// the engine's facts as instants on the invocation's (or node's) track; crashes, restarts,
// pauses and clock steps as instants on the node's track (a crash across the whole trace);
// violations as global instants. Timestamps are virtual microseconds since the run started.
func TraceJSON(r *sim.Result, info Info) ([]byte, error) {
	info = info.withDefaults(r)
	x := newRun(r)
	t := &tracks{ids: map[string]int{}, next: map[int]int{}}
	t.meta = append(t.meta,
		traceEvent{Name: "process_name", Ph: "M", Pid: pidNodes, Args: map[string]any{"name": "nodes"}},
		traceEvent{Name: "process_sort_index", Ph: "M", Pid: pidNodes, Args: map[string]any{"sort_index": 1}},
		traceEvent{Name: "process_name", Ph: "M", Pid: pidInvocations, Args: map[string]any{"name": "invocations"}},
		traceEvent{Name: "process_sort_index", Ph: "M", Pid: pidInvocations, Args: map[string]any{"sort_index": 2}})
	for _, n := range x.nodes {
		t.id(pidNodes, n)
	}
	var evs []traceEvent
	evs = append(evs, invocationSlices(x, t)...)
	evs = append(evs, exchangeSlices(x, t)...)
	for i, e := range x.events {
		if ev, ok := instant(x, t, i, e); ok {
			evs = append(evs, ev)
		}
	}
	evs = append(evs, violationInstants(r, x, t)...)
	f := traceFile{
		TraceEvents:     append(t.meta, evs...),
		DisplayTimeUnit: "ms",
		OtherData: map[string]any{
			"scenario": r.Scenario, "seed": r.Seed, "commit": info.Commit, "plan": planOf(r),
			"reproduce": info.Reproduce, "trace_hash": fmt.Sprintf("%016x", r.TraceHash),
		},
	}
	return marshalTrace(f)
}

// marshalTrace writes the trace one event per line, so that two traces diff line by line.
func marshalTrace(f traceFile) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("{\"traceEvents\": [\n")
	for i, ev := range f.TraceEvents {
		if err := writeJSON(&b, ev); err != nil {
			return nil, err
		}
		if i < len(f.TraceEvents)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("],\n\"displayTimeUnit\": ")
	for _, v := range []any{f.DisplayTimeUnit, f.OtherData} {
		if err := writeJSON(&b, v); err != nil {
			return nil, err
		}
		if _, ok := v.(string); ok {
			b.WriteString(",\n\"otherData\": ")
		}
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// writeJSON writes v as one line of JSON, with <, > and & left as they are (the trace is read
// by tools, never pasted into HTML).
func writeJSON(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}

// invocationSlices gives each invocation its track (more when attempts overlap) and each
// attempt a complete slice on it.
func invocationSlices(x *run, t *tracks) []traceEvent {
	var evs []traceEvent
	for _, inv := range x.invs {
		name := invTrackName(inv)
		t.id(pidInvocations, name)
		for n, lane := range lanes(inv.attempts) {
			a := inv.attempts[n]
			track := name
			if lane > 0 {
				track = fmt.Sprintf("%s (lane %d)", name, lane+1)
			}
			evs = append(evs, slice(t.id(pidInvocations, track), "attempt", a, x))
		}
	}
	return evs
}

// exchangeSlices puts each client request, until its response, on its client's track.
func exchangeSlices(x *run, t *tracks) []traceEvent {
	byNode := map[string][]span{}
	var order []string
	for _, s := range x.exchanges {
		if _, ok := byNode[s.node]; !ok {
			order = append(order, s.node)
		}
		byNode[s.node] = append(byNode[s.node], s)
	}
	var evs []traceEvent
	for _, node := range order {
		spans := byNode[node]
		for n, lane := range lanes(spans) {
			track := node
			if lane > 0 {
				track = fmt.Sprintf("%s (lane %d)", node, lane+1)
			}
			evs = append(evs, slice(t.id(pidNodes, track), "request", spans[n], x))
		}
	}
	return evs
}

func slice(tid int, cat string, s span, x *run) traceEvent {
	dur := micros(s.to - s.from)
	args := map[string]any{"start_event": s.start}
	if s.end >= 0 {
		args["end_event"] = s.end
	}
	pid := pidInvocations
	if cat == "request" {
		pid = pidNodes
	}
	if vs := slices.Concat(x.flagged[s.start], endFlags(x, s)); len(vs) > 0 {
		args["violations"] = vs
	}
	return traceEvent{Name: s.name, Cat: cat, Ph: "X", Ts: micros(s.from), Dur: &dur, Pid: pid, Tid: tid, Args: args}
}

func endFlags(x *run, s span) []int {
	if s.end < 0 {
		return nil
	}
	return x.flagged[s.end]
}

// instant renders one event of the history as an instant, unless a slice already shows it.
func instant(x *run, t *tracks, i int, e checkers.Event) (traceEvent, bool) {
	switch e.Kind {
	case checkers.AttemptStarted, checkers.AttemptEnded, checkers.ClientRequest, checkers.ClientResponse:
		if len(x.flagged[i]) == 0 { // a flagged one gets its own marker too
			return traceEvent{}, false
		}
	}
	ev := traceEvent{Name: instantName(e), Cat: e.Kind.String(), Ph: "i", Ts: micros(e.At), S: "t",
		Args: map[string]any{"event": i, "text": strings.TrimSpace(e.String())}}
	if vs := x.flagged[i]; len(vs) > 0 {
		ev.Args["violations"] = vs
	}
	switch e.Kind {
	case checkers.NodeCrashed, checkers.NodeRestarted, checkers.NodePaused, checkers.ClockStepped:
		ev.Cat = "fault"
		ev.Pid, ev.Tid = pidNodes, t.id(pidNodes, e.Node)
		if e.Kind == checkers.NodeCrashed {
			ev.S = "g" // a crash concerns everything running at that instant
		}
		return ev, true
	case checkers.RunEnded:
		ev.S, ev.Pid, ev.Tid = "g", pidNodes, t.id(pidNodes, nodeOr(e.Node, "simulator"))
		return ev, true
	}
	if !e.Invocation.IsZero() {
		ev.Pid, ev.Tid = pidInvocations, t.id(pidInvocations, invTrackName(x.byInv[e.Invocation]))
		return ev, true
	}
	ev.Pid, ev.Tid = pidNodes, t.id(pidNodes, nodeOr(e.Node, "simulator"))
	return ev, true
}

func nodeOr(node, def string) string {
	if node == "" {
		return def
	}
	return node
}

// instantName is the short label of an event: its kind and, for journal entries, the entry.
func instantName(e checkers.Event) string {
	switch e.Kind {
	case checkers.CommandEmitted:
		return fmt.Sprintf("[%d] %s", e.Index, e.Entry.Kind)
	case checkers.ValueObserved:
		return fmt.Sprintf("observed [%d] %s", e.Index, e.Entry.Kind)
	case checkers.RunExecuted:
		return fmt.Sprintf("run-executed [%d]", e.Index)
	case checkers.MessageDelivered:
		return "deliver " + e.Message.String()
	}
	return e.Kind.String()
}

// violationInstants marks each violation at its last event (the moment it became visible), on
// the track of its invocation, or across the trace when it names none.
func violationInstants(r *sim.Result, x *run, t *tracks) []traceEvent {
	var evs []traceEvent
	for vi, v := range r.Violations {
		at := x.end
		if n := len(v.Events); n > 0 {
			if e, ok := eventAt(r, v.Events[n-1]); ok {
				at = e.At
			}
		}
		ev := traceEvent{Name: "violation: " + v.Checker, Cat: "violation", Ph: "i", Ts: micros(at), S: "g",
			Pid: pidNodes, Tid: t.id(pidNodes, "violations"),
			Args: map[string]any{"violation": vi, "message": v.Message, "events": v.Events}}
		if !v.Invocation.IsZero() {
			ev.Args["invocation"] = v.Invocation.String()
		}
		evs = append(evs, ev)
	}
	return evs
}

func invTrackName(inv *invocation) string {
	if inv.target == "" {
		return inv.id.String()
	}
	return inv.id.String() + " " + inv.target
}
