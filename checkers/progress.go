package checkers

import (
	"fmt"
	"slices"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/protocol"
)

const progressName = "progress"

// Progress checks that a completion reaching an attempt waiting on it lets that attempt go on.
// "Eventually finishes" is not enough: an engine that never sends a completion to the running
// attempt is healed by the inactivity timeout (the attempt suspends, the engine sees the entry
// completed and starts a new attempt), so only the attempt-level facts show the lost wake-up.
// The property has two halves, both judged on what the simulator itself sent and delivered (l)
// placed among the runtime's durable facts (h):
//
//   - sent: when the engine durably completes entry i of an invocation (an awakeable's accepted
//     completion, a sleep's timer) while the attempt a the runtime last started for it is open —
//     no Suspend, End or Error of a reached the runtime, no retry was armed and the invocation is
//     not done — then the release that makes the completion durable (the runtime node's first
//     release after the fact is recorded) carries Completion(i) to attempt a or a later one, or a
//     Start of a later attempt. Only a crash of the runtime node before that release excuses it.
//   - used: once Completion(i) of attempt a reaches the executor while a is live there, or
//     before a's Start reached it (the network may deliver a start after what the engine sent
//     behind it), a never suspends waiting on i — unless the executor crashed in between.
//
// An attempt "open" at the runtime is judged from deliveries to the runtime, which the simulator
// records as the engine takes them, before the completion's own durable fact: so the check never
// asks a completion of an attempt the engine already saw end.
func Progress(h History, l Link) []Violation { return judgeAttempts(h, l, newProgress(h))[0] }

func newProgress(History) *progress {
	p := &progress{}
	p.reset()
	return p
}

// reset readies p for a new history, keeping its maps' and slices' room (AttemptJudges), and
// every lastStart it made (in free).
func (p *progress) reset() {
	p.dropLast()
	p.live.reset()
	p.given.reset()
	p.early.reset()
	p.ended.reset()
	p.owed = p.owed[:0]
	p.vs = nil // handed out by finish
}

// dropLast forgets every last start, keeping them for runtimeSent to reuse: p.last alone
// holds them.
func (p *progress) dropLast() {
	for _, ls := range p.last {
		if ls != nil {
			p.free = append(p.free, ls)
		}
	}
	p.last = clearDense(p.last)
}

func (p *progress) finish() []Violation {
	for i := range p.owed {
		p.unpaid(p.owed[i])
	}
	sortByFirstEvent(p.vs)
	return p.vs
}

// lastStart is the attempt the runtime node last started for an invocation since it (re)started,
// and whether the engine may still take it for running.
type lastStart struct {
	attempt uint32
	open    bool
}

// owed is a completion the engine must send in its next release.
type owed struct {
	inv     protocol.InvocationID
	v       invNum // inv's number
	attempt uint32
	index   uint32
	event   int // the durable fact
	release uint64
	paid    bool
}

// givenCompletion is a completion delivered to a live attempt, at history position event.
type givenCompletion struct {
	index uint32
	event int
}

type progress struct {
	last []*lastStart // by invocation number; nil for none
	// free are lastStarts of an earlier history, for runtimeSent to reuse.
	free  []*lastStart
	owed  []owed
	live  invBits                             // attempts started at the executor and not ended
	given smallMap[uint64, []givenCompletion] // by farKey(invocation number, attempt), as early
	// early are completions delivered before their attempt started at the executor.
	early smallMap[uint64, []givenCompletion]
	// ended are the attempts that ended at the executor.
	ended invBits
	vs    []Violation
}

// progressKinds are the kinds of event that progress.event reads.
var progressKinds = kinds(NodeCrashed, InvocationDone, TimerArmed, CompletionAccepted, TimerFired, AttemptStarted, AttemptEnded)

func (*progress) kinds() *kindSet { return &progressKinds }

func (p *progress) event(i int, e *Event, v invNum) {
	switch e.Kind {
	case NodeCrashed:
		if e.Node == "runtime" {
			// Nothing the crashed node had not released is owed any more; its successor starts
			// afresh (recovery restarts what was running, with the journal as stored).
			p.dropLast()
			p.owed = p.owed[:0]
		} else if e.Node == "executor" {
			p.live.reset()
			p.early.reset() // what the executor kept for attempts not started yet died with it
		}
	case InvocationDone:
		p.close(v, 0)
	case TimerArmed:
		if e.Timer == event.TimerRetry {
			p.close(v, 0)
		}
	case CompletionAccepted:
		if !e.Invocation.IsZero() {
			p.completed(e.Invocation, v, e.Index, i)
		}
	case TimerFired:
		if e.Timer == event.TimerSleep {
			p.completed(e.Invocation, v, e.Index, i)
		}
	case AttemptStarted:
		k := farKey(v, e.Attempt)
		p.live.add(v, e.Attempt)
		if early, ok := p.early.lookup(k); ok {
			g := p.given.ref(k)
			*g = append(*g, early...)
			p.early.del(k)
		}
	case AttemptEnded:
		p.live.del(v, e.Attempt)
		p.ended.add(v, e.Attempt)
	}
}

// lastOf returns the last start of invocation number v, nil when there is none.
func (p *progress) lastOf(v invNum) *lastStart {
	if int(v) < len(p.last) {
		return p.last[v]
	}
	return nil
}

// close marks the runtime's last attempt of invocation number v as one the engine no longer
// runs (attempt zero: whatever it is).
func (p *progress) close(v invNum, attempt uint32) {
	if ls := p.lastOf(v); ls != nil && (attempt == 0 || attempt == ls.attempt) {
		ls.open = false
	}
}

func (p *progress) completed(inv protocol.InvocationID, v invNum, index uint32, at int) {
	if ls := p.lastOf(v); ls != nil && ls.open {
		p.owed = append(p.owed, owed{inv: inv, v: v, attempt: ls.attempt, index: index, event: at})
	}
}

// progressLinks are the link events that progress.link reads.
var progressLinks = links(linkMatch{kind: LinkReleased, from: runtimeNode}, linkMatch{kind: LinkReleased, from: "executor"},
	linkMatch{kind: LinkSent, from: runtimeNode},
	linkMatch{kind: LinkDelivered, from: "executor", msgs: []protocol.Kind{protocol.KindSuspend, protocol.KindEnd, protocol.KindError}},
	linkMatch{kind: LinkDelivered, from: runtimeNode, msgs: []protocol.Kind{protocol.KindCompletion}},
	linkMatch{kind: LinkSent, from: "executor", msgs: []protocol.Kind{protocol.KindSuspend}})

func (*progress) links() *linkSet { return &progressLinks }

func (p *progress) link(_ int, le *LinkEvent, v invNum) {
	m := &le.Message
	switch {
	case le.Kind == LinkReleased:
		p.released(le)
	case le.Kind == LinkSent && le.From == "runtime":
		p.runtimeSent(le, v)
	case le.Kind == LinkDelivered && le.From == "executor":
		// The engine takes it now: an attempt that suspended, ended or failed is not running.
		if m.Kind == protocol.KindSuspend || m.Kind == protocol.KindEnd || m.Kind == protocol.KindError {
			p.close(v, m.Attempt)
		}
	case le.Kind == LinkDelivered && le.From == "runtime" && m.Kind == protocol.KindCompletion:
		k := farKey(v, m.Attempt)
		switch {
		case p.live.has(v, m.Attempt):
			g := p.given.ref(k)
			*g = append(*g, givenCompletion{m.Index, le.After})
		case !p.ended.has(v, m.Attempt):
			g := p.early.ref(k)
			*g = append(*g, givenCompletion{m.Index, le.After})
		}
	case le.Kind == LinkSent && le.From == "executor" && m.Kind == protocol.KindSuspend:
		for _, g := range p.given.get(farKey(v, m.Attempt)) {
			if slices.Contains(m.WaitingOn, g.index) {
				p.vs = append(p.vs, newViolation(progressName, m.Invocation, fmt.Sprintf(
					"attempt %d suspended waiting on index %d although the completion of that index had reached it (a lost wake-up in the executor)", m.Attempt, g.index), g.event, le.After))
			}
		}
	}
}

// released judges what the previous release owed and gives what is owed since to this one.
func (p *progress) released(le *LinkEvent) {
	kept := p.owed[:0]
	for _, o := range p.owed {
		if o.release != 0 {
			p.unpaid(o)
			continue
		}
		o.release = le.Release // the first release after the fact is the one that owes it
		kept = append(kept, o)
	}
	p.owed = kept
}

// runtimeSent pays what this send carries, then notes a start.
func (p *progress) runtimeSent(le *LinkEvent, v invNum) {
	m := &le.Message
	for i := range p.owed {
		if o := &p.owed[i]; o.v == v && o.release == le.Release && (m.Kind == protocol.KindCompletion && m.Index == o.index && m.Attempt >= o.attempt ||
			m.Kind == protocol.KindStart && m.Attempt > o.attempt) {
			o.paid = true
		}
	}
	if m.Kind == protocol.KindStart {
		ls := p.lastOf(v)
		if ls == nil {
			// A lastStart is held by p.last alone: one it dropped is taken again.
			if n := len(p.free); n > 0 {
				ls, p.free = p.free[n-1], p.free[:n-1]
			} else {
				ls = new(lastStart)
			}
			p.last = dense(p.last, v)
			p.last[v] = ls
		}
		*ls = lastStart{attempt: m.Attempt, open: true}
	}
}

// unpaid reports a completion its release did not carry. One still waiting for a release when
// the run ended (a run cut short, or the fact came with the last step) is not judged.
func (p *progress) unpaid(o owed) {
	if o.paid || o.release == 0 {
		return
	}
	p.vs = append(p.vs, newViolation(progressName, o.inv, fmt.Sprintf(
		"entry %d was completed durably while attempt %d was running, but release %d went out without a Completion of it to the attempt or a new attempt (a lost wake-up)", o.index, o.attempt, o.release), o.event))
}

// walk visits h's events and l's link events in the order they happened: a link event whose
// After is i comes before history event i (and after every link event before it in l).
// Only the events of the kinds of only are told to w: the others change nothing of the
// checkers walked for.
func walk(h History, l Link, only *kindSet, w walker) {
	// Link event by link event: the history events before it, then it. Each link event waits
	// for those before it in l, so it follows every history event below its After and below
	// theirs, and precedes the rest, as the rule says.
	i, events := 0, h.Events
	for j := range l {
		for after := l[j].After; i < len(events) && i < after; i++ {
			if e := &events[i]; only.has(e.Kind) {
				w.event(i, e)
			}
		}
		w.link(j, &l[j])
	}
	for ; i < len(events); i++ {
		if e := &events[i]; only.has(e.Kind) {
			w.event(i, e)
		}
	}
}

// walker is what walk tells the events and link events of a history and its link log.
type walker interface {
	event(i int, e *Event)
	link(j int, le *LinkEvent)
}

// walkFuncs is a walker of two functions.
type walkFuncs struct {
	onEvent func(int, *Event)
	onLink  func(int, *LinkEvent)
}

func (w walkFuncs) event(i int, e *Event)     { w.onEvent(i, e) }
func (w walkFuncs) link(j int, le *LinkEvent) { w.onLink(j, le) }
