package checkers

import (
	"fmt"
	"time"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// LinkEventKind tells what a LinkEvent records.
type LinkEventKind uint8

// Link event kinds: what the simulator saw cross the engine<->executor link. They are facts of
// the simulator, not claims of the runtime: the simulator performs every send and delivery itself.
const (
	// LinkSent: the runtime node put Message on the link to the executor as part of release
	// number Release (everything one synced batch made durable leaves in one release), or
	// before its batch was synced (a gated Start, Release zero), or the executor node put
	// Message on the link to the runtime (Release zero).
	LinkSent LinkEventKind = iota + 1
	// LinkDelivered: Message reached its receiver, which took it: From "runtime" means the
	// executor node handed it to its executor, From "executor" that the runtime node handed it
	// to its engine (a broken connection reaches the engine as an Error the executor "sent").
	LinkDelivered
	// LinkReleased: the runtime node began release number Release, sending what its last sync
	// made durable; the release's sends follow it. Message is zero.
	LinkReleased
)

// LinkEvent is one message crossing the engine<->executor link. It is kept apart from the
// History's events (the vocabulary of those is being reworked) and placed among them by After.
type LinkEvent struct {
	// After is how many history events were recorded before this one: it happened after
	// History.Events[After-1] and before History.Events[After].
	After int
	// At is the virtual time.
	At   time.Duration
	Kind LinkEventKind
	// From is the sending node: "runtime" or "executor".
	From string
	// Release numbers the runtime node's releases (1, 2, ...); zero for executor sends and
	// deliveries.
	Release uint64
	// Message is the message, without its journal and state (Start) and its entry (Command,
	// Completion): the checkers of the link need its kind, invocation, attempt, index and, for a
	// Suspend, the indices it waits on.
	Message LinkMessage
}

// LinkMessage is what the checkers of the link read of a protocol.Message: a small value, so
// that the log stays small next to the history.
type LinkMessage struct {
	Kind       protocol.Kind
	Invocation protocol.InvocationID
	Attempt    uint32
	Index      uint32
	WaitingOn  []uint32
	// Gated is a Start's protocol.Message.Gated: the runtime may send it before its batch is
	// durable, and its attempt must run no side effect before a Durable for it arrives.
	Gated bool
}

// LinkMessageOf keeps of m what the checkers of the link read.
func LinkMessageOf(m protocol.Message) LinkMessage {
	return LinkMessage{Kind: m.Kind, Invocation: m.Invocation, Attempt: m.Attempt, Index: m.Index, WaitingOn: m.WaitingOn, Gated: m.Gated}
}

// reportedAt is the index of the history event a link event is reported at: the event after
// it, or the last when none came after (nor any before: zero).
func reportedAt(h *History, le *LinkEvent) int {
	return max(0, min(le.After, len(h.Events)-1))
}

// String renders the link event as one trace line.
func (e LinkEvent) String() string {
	m := e.Message
	s := fmt.Sprintf("%12s link-%s %s->%s %s#%d [%d]", e.At, map[LinkEventKind]string{LinkSent: "sent", LinkDelivered: "delivered", LinkReleased: "released"}[e.Kind], e.From, peer(e.From), m.Kind, m.Attempt, m.Index)
	if len(m.WaitingOn) > 0 {
		s += fmt.Sprintf(" waiting on %v", m.WaitingOn)
	}
	if e.Release != 0 {
		s += fmt.Sprintf(" release %d", e.Release)
	}
	return s + " " + m.Invocation.String()
}

func peer(node string) string {
	if node == "runtime" {
		return "executor"
	}
	return "runtime"
}

// Link is everything that crossed the engine<->executor link in one run, in order.
type Link []LinkEvent

// Attempts runs every checker that judges attempts against the link log — progress, causality,
// retry timing, durable start and inactivity — and returns their violations in that order, each
// checker's sorted by first event index. The simulator calls it once per run.
func Attempts(h History, l Link) []Violation {
	var a AttemptJudges
	return a.Judge(&h, l)
}

// AttemptJudges is Attempts with the checkers' state kept from one call to the next: their
// maps and slices are cleared for each history, not made again, which a simulator judging
// thousands of small runs one after another feels. What one call finds is never seen by the
// next (each checker's reset forgets everything of it) and the violations a call returns are
// its caller's. The zero value is ready; it is not safe for concurrent use.
type AttemptJudges struct {
	progress   progress
	causality  causality
	retry      retryTiming
	durable    durableStart
	inactivity inactivity
	// nums numbers the invocations of the walk, for the judges' state by invocation.
	nums invNumbers
	// withInactivity is set when the history declares the runtime's inactivity bound, which
	// the inactivity checker judges against; without it that checker does not run.
	withInactivity bool
}

// Judge is Attempts(*h, l) on a's kept state.
func (a *AttemptJudges) Judge(h *History, l Link) []Violation {
	a.nums.reset()
	a.progress.reset()
	a.causality.reset()
	a.retry.reset(h, DeclaredRetry(h))
	a.durable.reset()
	a.withInactivity = false
	if decl := declaredRuntime(h); decl != nil {
		a.inactivity.reset(h, decl)
		a.withInactivity = true
	}
	a.walk(h, l)
	vs := a.progress.finish()
	vs = append(vs, a.causality.finish()...)
	vs = append(vs, a.retry.finish()...)
	vs = append(vs, a.durable.finish()...)
	if a.withInactivity {
		vs = append(vs, a.inactivity.finish()...)
	}
	a.progress.vs, a.causality.vs, a.retry.vs, a.durable.vs, a.inactivity.vs = nil, nil, nil, nil, nil
	return vs
}

// The attempt judges as bits of a readers mask, in the order Judge reports them.
const (
	readsProgress uint8 = 1 << iota
	readsCausality
	readsRetry
	readsDurable
	readsInactivity
)

// kindReaders and linkReaders are, for each kind of event and each class of link event, the
// judges that read it (their kinds and links): one load tells event and link whom to call.
var (
	kindReaders = func() (t [256]uint8) {
		for k := range t {
			t[k] = readers(func(s *kindSet) bool { return s.has(event.Kind(k)) }, &progressKinds, &causalityKinds, &retryKinds, &durableKinds, &inactivityKinds)
		}
		return t
	}()
	linkReaders = func() (t [linkGroups * 256]uint8) {
		for c := range t {
			t[c] = readers(func(s *linkSet) bool { return s.has(linkClass(c)) }, &progressLinks, &causalityLinks, &retryLinks, &durableLinks, &inactivityLinks)
		}
		return t
	}()
)

// readers is the mask of the judges whose set, of sets in the order of the mask's bits, has
// what has asks about.
func readers[S any](has func(*S) bool, sets ...*S) uint8 {
	var m uint8
	for n, s := range sets {
		if has(s) {
			m |= 1 << n
		}
	}
	return m
}

// walk is walk(*h, l, only, a) for the attempt judges, only being their kinds: the same order
// of events and link events, with each event's readers looked up once (the mask of kindReaders
// is zero for the kinds no judge reads) and the judges called directly rather than through the
// walker interface, which for the few hundred events of a seed's history cost as much as the
// judges' own work on most of them.
func (a *AttemptJudges) walk(h *History, l Link) {
	mask := ^readsInactivity
	if a.withInactivity {
		mask = ^uint8(0)
	}
	i, events := 0, h.Events
	for j := range l {
		for after := l[j].After; i < len(events) && i < after; i++ {
			if r := kindReaders[events[i].Kind] & mask; r != 0 {
				a.event(i, &events[i], r)
			}
		}
		a.link(j, &l[j])
	}
	for ; i < len(events); i++ {
		if r := kindReaders[events[i].Kind] & mask; r != 0 {
			a.event(i, &events[i], r)
		}
	}
}

// event tells each checker of r (kindReaders of e's kind, less the inactivity checker when it
// does not run) history event i, in the order Judge reports them.
func (a *AttemptJudges) event(i int, e *Event, r uint8) {
	v := a.nums.of(e.Invocation) // once for every judge
	if r&readsProgress != 0 {
		a.progress.event(i, e, v)
	}
	if r&readsCausality != 0 {
		a.causality.event(i, e, v)
	}
	if r&readsRetry != 0 {
		a.retry.event(i, e, v)
	}
	if r&readsDurable != 0 {
		a.durable.event(i, e, v)
	}
	if r&readsInactivity != 0 {
		a.inactivity.event(i, e, v)
	}
}

// link tells each checker that reads its class link event k.
func (a *AttemptJudges) link(k int, le *LinkEvent) {
	r := linkReaders[linkClassOf(le, le.From == runtimeNode)]
	if r == 0 {
		return
	}
	v := noInvocation // a release names no invocation (its readers read none)
	if le.Kind != LinkReleased {
		v = a.nums.of(le.Message.Invocation) // once for every judge
	}
	if r&readsProgress != 0 {
		a.progress.link(k, le, v)
	}
	if r&readsCausality != 0 {
		a.causality.link(k, le, v)
	}
	if r&readsRetry != 0 {
		a.retry.link(k, le, v)
	}
	if r&readsDurable != 0 {
		a.durable.link(k, le, v)
	}
	if r&readsInactivity != 0 && a.withInactivity {
		a.inactivity.link(k, le, v)
	}
}

// attemptJudge is a checker that Attempts runs with the others over one walk of the history and
// the link log (walk): it is told each event and link event in the order they happened, then
// gives its violations, sorted by first event index. It is told only the events of its kinds:
// those its event method reads (events of other kinds would change nothing), and the link
// events of its links, likewise. v is the number of the event's invocation in the walk
// (invNumbers): the judges keep their state by invocation in slices indexed by it.
type attemptJudge interface {
	kinds() *kindSet
	links() *linkSet
	event(i int, e *Event, v invNum)
	link(j int, le *LinkEvent, v invNum)
	finish() []Violation
}

// judgeAttempts walks h and l once for all of judges and returns each one's violations, in the
// order of judges.
func judgeAttempts(h History, l Link, judges ...attemptJudge) [][]Violation {
	var only kindSet
	for _, j := range judges {
		only = only.union(*j.kinds())
	}
	var nums invNumbers
	walk(h, l, &only, walkFuncs{func(i int, e *Event) {
		v := nums.of(e.Invocation)
		for _, j := range judges {
			if j.kinds().has(e.Kind) {
				j.event(i, e, v)
			}
		}
	}, func(k int, le *LinkEvent) {
		c := linkClassOf(le, le.From == runtimeNode)
		v := nums.of(le.Message.Invocation)
		for _, j := range judges {
			if j.links().has(c) {
				j.link(k, le, v)
			}
		}
	}})
	out := make([][]Violation, len(judges))
	for n, j := range judges {
		out[n] = j.finish()
	}
	return out
}
