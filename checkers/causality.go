package checkers

import (
	"fmt"
	"slices"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

const causalityName = "causality"

// Causality checks that every attempt the runtime node starts has a cause the history shows. An
// extra attempt breaks nothing any other checker sees (it replays the journal and parks again),
// so an engine that wakes suspended invocations on every completion, or restarts them for no
// reason, passes every other property while it burns work and reorders what handlers observe.
//
// A Start of attempt a of an invocation, sent by the runtime node (l), is caused when, since the
// runtime's previous Start of it (or since the runtime node started, if there is none):
//
//   - the invocation was accepted, took its key's lock (a lock handed over), or a retry or
//     delayed-send timer of it fired;
//   - the runtime node restarted (recovery restarts what was running) and this is its first Start
//     of the invocation;
//   - or the previous attempt's Suspend reached the runtime waiting on indices W, and some index of
//     W is complete by the time of the Start: an awakeable's accepted completion, a fired sleep,
//     a completed promise a get-promise entry named, a peek or complete of a promise (answered
//     when journaled), a run or other entry that needs no completion, or an entry a start
//     journal already held completed.
//
// A suspended invocation woken by a completion it does not wait on has none of these.
//
// A gated Start (see DurableStart) leaves before the sync of the batch that accepted its
// invocation, so its cause is recorded after it: it is caused when the invocation's acceptance
// (or lock) is recorded before the runtime starts the invocation again, the run ends, or the
// runtime crashes (a crash may lose the batch, and the invocation with it). That acceptance
// caused this start and no later one.
func Causality(h History, l Link) []Violation { return judgeAttempts(h, l, newCausality())[0] }

func newCausality() *causality {
	c := &causality{}
	c.reset()
	return c
}

// reset readies c for a new history, keeping its maps' and slices' room (AttemptJudges).
func (c *causality) reset() {
	c.dropWindows()
	c.gated.reset()
	c.untargeted.reset()
	c.ready.reset()
	c.target.reset()
	c.gets.reset()
	c.done.reset()
	c.restarted, c.restartAt = false, 0
	c.vs = nil // handed out by finish
}

// dropWindows forgets every window, keeping them for window to reuse: c.since alone holds them.
func (c *causality) dropWindows() {
	for _, w := range c.since {
		if w != nil {
			c.free = append(c.free, w)
		}
	}
	c.since = clearDense(c.since)
}

func (c *causality) finish() []Violation {
	// Nearly every invocation's first start is gated and resolved; only the rest are sorted,
	// in invocation order: violations at one event must come out in one order every run.
	var open []protocol.InvocationID
	for n, g := range c.gated.vals {
		if !g.resolved {
			open = append(open, c.gated.keys[n])
		}
	}
	slices.SortFunc(open, compareInvocations)
	for _, inv := range open {
		c.gatedUncaused(inv, c.gated.get(inv))
	}
	sortByFirstEvent(c.vs)
	return c.vs
}

// gatedStart is a gated Start whose cause the history has not recorded yet (resolved false),
// or whose acceptance it has (resolved true: a lock noted with it belongs to the same start).
type gatedStart struct {
	attempt  uint32
	at       int
	resolved bool
}

// gatedUncaused reports g, a gated start of inv, if no cause of it was recorded.
func (c *causality) gatedUncaused(inv protocol.InvocationID, g gatedStart) {
	if !g.resolved {
		c.vs = append(c.vs, newViolation(causalityName, inv, fmt.Sprintf(
			"attempt %d started (gated, before its sync) without a cause: the invocation's acceptance was never recorded, though the runtime did not crash", g.attempt), g.at))
	}
}

// gatedCause resolves a gated start of inv by its acceptance or lock, and reports whether there
// was one to resolve (the note then causes no later start).
func (c *causality) gatedCause(inv protocol.InvocationID) bool {
	n := c.gated.find(inv)
	if n < 0 {
		return false
	}
	c.gated.vals[n].resolved = true
	return true
}

// startWindow is what happened to an invocation since the runtime's last Start of it.
type startWindow struct {
	started  bool   // a Start was sent since the runtime node (re)started
	attempt  uint32 // the attempt of that Start
	caused   bool   // a cause other than a wake-up came since
	suspends [][]uint32
	event    int // where the window opened (-1: the beginning of the run)
}

type keyRef struct{ service, key string }

type promiseRef struct {
	keyRef
	name string
}

type causality struct {
	since []*startWindow                              // by invocation number; nil for none
	free  []*startWindow                              // windows since dropped, for window to reuse
	gated smallMap[protocol.InvocationID, gatedStart] // the last gated start of each invocation
	// untargeted are get-promise entries journaled before their invocation's acceptance
	untargeted smallMap[protocol.InvocationID, []namedEntry]
	restarted  bool // the runtime node recovered since it last crashed
	restartAt  int
	ready      invBits // entries complete (or needing no completion)
	target     smallMap[protocol.InvocationID, keyRef]
	gets       smallMap[promiseRef, []entryRef] // get-promise entries, by the promise they name
	done       smallMap[promiseRef, bool]
	vs         []Violation
}

// sinceOf returns the window of invocation number v, nil when there is none.
func (c *causality) sinceOf(v invNum) *startWindow {
	if int(v) < len(c.since) {
		return c.since[v]
	}
	return nil
}

func (c *causality) window(v invNum) *startWindow {
	w := c.sinceOf(v)
	if w == nil {
		if n := len(c.free); n > 0 {
			w, c.free = c.free[n-1], c.free[:n-1]
			*w = startWindow{event: -1, suspends: w.suspends[:0]}
		} else {
			w = &startWindow{event: -1}
		}
		if c.restarted {
			w.event = c.restartAt
		}
		c.since = dense(c.since, v)
		c.since[v] = w
	}
	return w
}

// causalityKinds are the kinds of event that causality.event reads.
var causalityKinds = kinds(NodeCrashed, NodeRestarted, InvocationAccepted, LockAcquired, TimerFired, CompletionAccepted,
	PromiseCompleted, Purged, CommandEmitted, AttemptStarted)

func (*causality) kinds() *kindSet { return &causalityKinds }

func (c *causality) event(i int, e *Event, v invNum) {
	switch e.Kind {
	case NodeCrashed:
		if e.Node == "runtime" {
			c.dropWindows()
			c.gated.reset() // their batches may be lost, and their causes with them
			c.restarted = false
		}
	case NodeRestarted:
		if e.Node == "runtime" {
			c.restarted, c.restartAt = true, i
		}
	case InvocationAccepted:
		c.target.set(e.Invocation, keyRef{e.Service, e.Key})
		for _, g := range c.untargeted.get(e.Invocation) {
			c.get(promiseRef{keyRef{e.Service, e.Key}, g.name}, g.s)
		}
		c.untargeted.del(e.Invocation)
		if !c.gatedCause(e.Invocation) {
			c.window(v).caused = true
		}
	case LockAcquired:
		if !c.gatedCause(e.Invocation) {
			c.window(v).caused = true
		}
	case TimerFired:
		switch e.Timer {
		case event.TimerRetry:
			c.window(v).caused = true
		case event.TimerSleep:
			c.setReady(entryRef{v, e.Index})
		}
	case CompletionAccepted:
		c.setReady(entryRef{v, e.Index})
	case PromiseCompleted:
		p := promiseRef{keyRef{e.Service, e.Key}, e.Promise}
		c.done.set(p, true)
		for _, s := range c.gets.get(p) {
			c.setReady(s)
		}
	case Purged:
		if e.Purge == event.PurgeWorkflow {
			// A new run of the key has promises of its own.
			k := keyRef{e.Service, e.Key}
			c.done.deleteFunc(func(p promiseRef) bool { return p.keyRef == k })
		}
	case CommandEmitted:
		c.command(e, v)
	case AttemptStarted:
		// The entries below invBitsWord are noted at once, as one word: a start journal holds
		// a few, and a search for the invocation's word per entry cost more than the test.
		var low uint64
		for idx, en := range e.Journal {
			if !en.Kind.Completable() || en.Completed {
				if idx < invBitsWord {
					low |= 1 << idx
				} else {
					c.setReady(entryRef{v, uint32(idx)})
				}
			}
		}
		if low != 0 {
			c.ready.addLow(v, low)
		}
	}
}

// entryRef is a journal entry of the invocation numbered v: a slot, as the judges' walk numbers
// invocations (invNum).
type entryRef struct {
	v     invNum
	index uint32
}

// setReady notes the entry at s complete (or needing no completion).
func (c *causality) setReady(s entryRef) { c.ready.add(s.v, s.index) }

// isReady reports whether setReady noted s.
func (c *causality) isReady(s entryRef) bool { return c.ready.has(s.v, s.index) }

// get notes a get-promise entry at s that waits for promise p.
func (c *causality) get(p promiseRef, s entryRef) {
	g := c.gets.ref(p)
	*g = append(*g, s)
	if c.done.get(p) {
		c.setReady(s)
	}
}

// namedEntry is a get-promise entry whose invocation's target is not known yet.
type namedEntry struct {
	name string
	s    entryRef
}

// command notes an entry an attempt journaled: most need no completion; a promise's peek and
// complete are answered as they are journaled; a get waits for its promise.
func (c *causality) command(e *Event, v invNum) {
	s := entryRef{v, e.Index}
	switch e.Entry.Kind {
	case journal.KindGetPromise:
		target, ok := c.target.lookup(e.Invocation)
		if !ok {
			// A gated attempt's commands come before its acceptance names its target.
			u := c.untargeted.ref(e.Invocation)
			*u = append(*u, namedEntry{e.Entry.Name, s})
			return
		}
		c.get(promiseRef{target, e.Entry.Name}, s)
	case journal.KindAwakeable, journal.KindSleep:
	default:
		c.setReady(s)
	}
}

// causalityLinks are the link events that causality.link reads.
var causalityLinks = links(linkMatch{kind: LinkDelivered, from: "executor", msgs: []protocol.Kind{protocol.KindSuspend}},
	linkMatch{kind: LinkSent, from: runtimeNode, msgs: []protocol.Kind{protocol.KindStart}})

func (*causality) links() *linkSet { return &causalityLinks }

func (c *causality) link(_ int, le *LinkEvent, v invNum) {
	m := &le.Message
	switch {
	case le.Kind == LinkDelivered && le.From == "executor" && m.Kind == protocol.KindSuspend:
		if w := c.sinceOf(v); w != nil && w.started && w.attempt == m.Attempt {
			w.suspends = append(w.suspends, m.WaitingOn)
		}
	case le.Kind == LinkSent && le.From == "runtime" && m.Kind == protocol.KindStart:
		w := c.window(v)
		// One search: the invocation's gated start, if any, is judged and dropped, and a new
		// one is then known to be absent.
		if n := c.gated.find(m.Invocation); n >= 0 {
			c.gatedUncaused(m.Invocation, c.gated.vals[n])
			c.gated.remove(n)
		}
		if m.Gated {
			c.gated.vals[c.gated.insert(m.Invocation)] = gatedStart{attempt: m.Attempt, at: le.After}
		} else if !w.caused && !(c.restarted && !w.started) && !c.wokenBy(v, w) {
			c.vs = append(c.vs, c.uncaused(m, w, le.After))
		}
		// A new window opens; w (in c.since, held by nothing else) is reused for it.
		*w = startWindow{started: true, attempt: m.Attempt, event: le.After, suspends: w.suspends[:0]}
	}
}

// wokenBy reports whether a suspension of the window, of invocation number v, waits on an
// entry complete by now.
func (c *causality) wokenBy(v invNum, w *startWindow) bool {
	for _, waiting := range w.suspends {
		for _, idx := range waiting {
			if c.isReady(entryRef{v, idx}) {
				return true
			}
		}
	}
	return false
}

func (c *causality) uncaused(m *LinkMessage, w *startWindow, at int) Violation {
	why := "no acceptance, lock, timer, recovery or awaited completion came before it"
	if len(w.suspends) > 0 {
		why = fmt.Sprintf("the previous attempt suspended waiting on %v and none of those entries is complete (a spurious wake-up)", w.suspends[len(w.suspends)-1])
	}
	events := []int{at}
	if w.event >= 0 {
		events = append(events, w.event)
	}
	return newViolation(causalityName, m.Invocation, fmt.Sprintf("attempt %d started without a cause: %s", m.Attempt, why), events...)
}
