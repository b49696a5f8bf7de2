package checkers

import (
	"fmt"
	"slices"
	"time"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// inactivityName is the Checker name of Inactivity's violations.
const inactivityName = "inactivity"

// InactivitySlack is how long past the declared inactivity bound a parked attempt may still
// suspend. The executor's timers run on the true virtual time (no clock fault reaches them), so
// none is needed but a millisecond for the rounding of a drawn duration; stretches in which the
// executor was paused are added on top, since its timers wait for the pause to end.
const InactivitySlack = time.Millisecond

// Inactivity checks that an attempt that waits and hears nothing suspends within the declared
// inactivity bound (RuntimeDeclared's InactivityMax), judged from the link log the simulator kept
// (l) placed among the history (h). An attempt the executor was given (its Start delivered) is
// open until the executor sends its Suspend, End or Error, or it is aborted (an Abort or a
// newer Start of the invocation delivered, the executor crashed). Whatever an open attempt last
// sent or was delivered, it then either goes on at once (in virtual time, handler code takes
// none) or parks and arms an inactivity timer of at most InactivityMax; so by InactivityMax plus
// InactivitySlack plus the executor's pauses after that, it has sent something or suspended,
// unless something reached it. An open attempt that is still silent then — when something next
// reaches it, when it is aborted, or at the end of the run — kept its connection while idle.
//
// A history without a RuntimeDeclared declares no bound and is not judged. Violations are
// sorted by their first event index.
func Inactivity(h History, l Link) []Violation {
	c := newInactivity(&h)
	if c == nil {
		return nil
	}
	return judgeAttempts(h, l, c)[0]
}

// newInactivity returns the checker, or nil for a history that declares no runtime (one
// written by hand): there is no bound to judge against.
func newInactivity(h *History) *inactivity {
	decl := declaredRuntime(h)
	if decl == nil {
		return nil
	}
	c := &inactivity{}
	c.reset(h, decl)
	return c
}

// reset readies c for history h, which declares decl, keeping its maps' and slices' room
// (AttemptJudges).
func (c *inactivity) reset(h *History, decl *event.Runtime) {
	c.free = append(c.free, c.open.vals...)
	c.open.reset()
	c.newest = clearDense(c.newest)
	c.h, c.bound = h, decl.InactivityMax+InactivitySlack
	c.order, c.pauses = c.order[:0], c.pauses[:0]
	c.vs = nil // handed out by finish
}

func (c *inactivity) finish() []Violation {
	for _, o := range c.order {
		if a := c.open.get(o.key); a != nil {
			c.check(o.k, *a, c.h.End(), len(c.h.Events)-1, silenceEnd{text: "the end of the run"})
		}
	}
	sortByFirstEvent(c.vs)
	return c.vs
}

// idle is an open attempt's last sign of life, and when it opened (its place in order).
type idle struct {
	at     time.Duration
	ev     int
	opened int
}

type inactivity struct {
	h      *History
	bound  time.Duration
	open   smallMap[uint64, *idle] // by farKey(invocation number, attempt): one lookup finds and updates an attempt's silence
	free   []*idle                 // idles of closed attempts, for open to reuse (only open holds them)
	newest []uint32                // by invocation number: the newest attempt the executor was given, in its life
	order  []orderedAttempt        // attempts in the order opened, for a stable report
	older  []openedAttempt         // scratch for link
	pauses []Window                // the executor node's pauses so far
	vs     []Violation
}

// inactivityKinds are the kinds of event that inactivity.event reads.
var inactivityKinds = kinds(event.NodePaused, event.NodeCrashed)

func (*inactivity) kinds() *kindSet { return &inactivityKinds }

func (c *inactivity) event(i int, e *Event, _ invNum) {
	if e.Node != "executor" {
		return
	}
	switch e.Kind {
	case event.NodePaused:
		c.pauses = append(c.pauses, Window{e.At, e.At + e.Span})
	case event.NodeCrashed:
		// In the order they opened; the scan ends with the last open one (closing removes it
		// from open), not at the end of every attempt the run opened.
		for _, o := range c.order {
			if len(c.open.keys) == 0 {
				break
			}
			if c.open.get(o.key) != nil {
				c.close(o.k, o.key, e.At, i, silenceEnd{text: "the executor's crash"})
			}
		}
		c.newest = clearDense(c.newest) // the restarted executor remembers nothing
	}
}

// inactivityLinks are the link events that inactivity.link reads.
var inactivityLinks = links(linkMatch{kind: LinkDelivered, from: runtimeNode}, linkMatch{kind: LinkSent, from: "executor"})

func (*inactivity) links() *linkSet { return &inactivityLinks }

func (c *inactivity) link(_ int, le *LinkEvent, v invNum) {
	m := &le.Message
	k, key := attemptKey{m.Invocation, m.Attempt}, farKey(v, m.Attempt)
	at := reportedAt(c.h, le)
	switch {
	case le.Kind == LinkDelivered && le.From == runtimeNode:
		if c.newest = dense(c.newest, v); m.Kind == protocol.KindStart && m.Attempt > c.newest[v] {
			// The executor runs only a start newer than every attempt of the invocation it has
			// seen; it drops a repeated or overtaken one.
			c.newest[v] = m.Attempt
			// The invocation's other open attempts are aborted, in the order they opened: found
			// among the few open ones (a copy: close changes open as it goes).
			older := c.older[:0]
			for n, ok := range c.open.keys {
				if ok>>32 == uint64(v) && uint32(ok) != m.Attempt && c.open.vals[n] != nil {
					older = append(older, openedAttempt{uint32(ok), c.open.vals[n].opened})
				}
			}
			if len(older) > 1 { // mostly none: a new attempt starts after the last ended
				slices.SortFunc(older, func(a, b openedAttempt) int { return a.opened - b.opened })
			}
			c.older = older
			for _, o := range older {
				c.close(attemptKey{m.Invocation, o.attempt}, farKey(v, o.attempt), le.At, at, silenceEnd{start: m.Attempt})
			}
			a := c.open.get(key)
			if a == nil {
				if n := len(c.free); n > 0 {
					a, c.free = c.free[n-1], c.free[:n-1]
				} else {
					a = new(idle)
				}
				c.open.set(key, a)
			}
			*a = idle{le.At, at, len(c.order)}
			c.order = append(c.order, orderedAttempt{k, key})
			return
		}
		a := c.open.get(key)
		if a == nil {
			return
		}
		if m.Kind == protocol.KindAbort {
			c.close(k, key, le.At, at, silenceEnd{text: "its abort"})
			return
		}
		c.touch(k, a, le.At, at, silenceEnd{text: "the delivery of its ", kind: m.Kind})
	case le.Kind == LinkSent && le.From == "executor":
		a := c.open.get(key)
		if a == nil {
			return
		}
		switch m.Kind {
		case protocol.KindSuspend, protocol.KindEnd, protocol.KindError:
			c.close(k, key, le.At, at, silenceEnd{text: "its ", kind: m.Kind})
		default:
			c.touch(k, a, le.At, at, silenceEnd{text: "its ", kind: m.Kind})
		}
	}
}

// silenceEnd names what ended an open attempt's silence, for a violation's message: text, with
// the message kind after it when kind is set, or the start of attempt start when that is set.
// It is spelled out only when a violation is reported, not for every message the link log holds.
type silenceEnd struct {
	text  string
	kind  protocol.Kind
	start uint32
}

func (w silenceEnd) String() string {
	switch {
	case w.start != 0:
		return fmt.Sprintf("the start of attempt %d", w.start)
	case w.kind != 0:
		return w.text + w.kind.String()
	}
	return w.text
}

// touch judges the silence of open attempt k (whose silence is a) up to at, then starts a new one.
func (c *inactivity) touch(k attemptKey, a *idle, at time.Duration, i int, what silenceEnd) {
	c.check(k, *a, at, i, what)
	a.at, a.ev = at, i
}

// close judges the silence of open attempt k, whose key in open is key, up to at and forgets
// the attempt.
func (c *inactivity) close(k attemptKey, key uint64, at time.Duration, i int, what silenceEnd) {
	n := c.open.find(key)
	if n < 0 || c.open.vals[n] == nil {
		return
	}
	a := c.open.vals[n]
	c.check(k, *a, at, i, what)
	c.open.remove(n) // check changes nothing of open: n is still k's position
	c.free = append(c.free, a)
}

// orderedAttempt is an attempt inactivity opened, and its key in open.
type orderedAttempt struct {
	k   attemptKey
	key uint64
}

// openedAttempt is an open attempt of an invocation and when it opened (idle.opened).
type openedAttempt struct {
	attempt uint32
	opened  int
}

// check reports attempt k if it stayed silent from its last sign of life to at for longer than
// the bound, the executor's pauses in between added.
func (c *inactivity) check(k attemptKey, a idle, at time.Duration, i int, what silenceEnd) {
	limit := c.bound + pausedDuring(c.pauses, a.at, at)
	if at-a.at <= limit {
		return
	}
	c.vs = append(c.vs, newViolation(inactivityName, k.inv, fmt.Sprintf(
		"attempt %d stayed silent and unsuspended from %v to %s at %v, %v, past the declared inactivity bound %v plus the slack of %v",
		k.attempt, a.at, what, at, at-a.at, c.bound-InactivitySlack, limit-(c.bound-InactivitySlack)), a.ev, i))
}

// pausedDuring sums the pauses of ws that meet [from, to]: an upper bound of how long a node was
// held in between (pauses may overlap).
func pausedDuring(ws []Window, from, to time.Duration) time.Duration {
	var d time.Duration
	for _, w := range ws {
		if w.From <= to && from <= w.To {
			d += w.To - w.From
		}
	}
	return d
}
