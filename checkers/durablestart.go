package checkers

import (
	"fmt"

	"github.com/vigilsim/vigil/runtime/protocol"
)

const durableStartName = "durable-start"

// DurableStart checks the speculative start of attempts. A gated Start (the first attempt of an
// invocation, in the same store batch as its acceptance) may leave the runtime before that
// batch is durable, so that a call ending inside one group commit costs one fsync; a crash that
// loses the batch then loses the invocation, and the attempt must have done nothing the world
// can see. Two rules keep it so:
//
//   - the runtime tells the attempt its start is durable (a Durable message) only once the
//     invocation's acceptance is a fact of the history, that is, after the sync of its batch,
//     and only in a release (what a sync made durable, leaving) begun after the start left;
//   - the attempt runs no side effect (RunExecuted) before that Durable reached it.
//
// Both are judged from what the simulator saw cross the link and the acceptance it recorded
// when the batch became durable, never from the runtime's own account of its gate.
func DurableStart(h History, l Link) []Violation {
	return judgeAttempts(h, l, newDurableStart())[0]
}

func newDurableStart() *durableStart {
	d := &durableStart{}
	d.reset()
	return d
}

// reset readies d for a new history, keeping its maps' room (AttemptJudges).
func (d *durableStart) reset() {
	d.accepted = clearDense(d.accepted)
	d.gated.reset()
	d.durable.reset()
	d.sentIn.reset()
	d.release = 0
	d.vs = nil // handed out by finish
}

type durableStart struct {
	// accepted are the invocations whose acceptance the history records (durable).
	accepted []bool // by invocation number
	// gated are the attempts the executor took a gated start of and no Durable yet, with the
	// event index of that start.
	gated smallMap[uint64, int] // by farKey(invocation number, attempt), as durable and sentIn
	// durable are the attempts a Durable reached (before their start, too: the network may
	// reorder them, and the executor keeps it).
	durable smallMap[uint64, bool]
	// release is the runtime's last release so far; sentIn, the last release begun when each
	// gated start was sent (it left before its own sync, so its Durable belongs to a later one).
	release uint64
	sentIn  smallMap[uint64, uint64]
	vs      []Violation
}

// durableKinds are the kinds of event that durableStart.event reads.
var durableKinds = kinds(InvocationAccepted, RunExecuted)

func (*durableStart) kinds() *kindSet { return &durableKinds }

func (d *durableStart) event(i int, e *Event, v invNum) {
	switch e.Kind {
	case InvocationAccepted:
		d.accepted = dense(d.accepted, v)
		d.accepted[v] = true
	case RunExecuted:
		if e.Node != "executor" {
			return
		}
		if at, ok := d.gated.lookup(farKey(v, e.Attempt)); ok {
			d.vs = append(d.vs, newViolation(durableStartName, e.Invocation, fmt.Sprintf(
				"attempt %d ran the side effect at index %d before its start was durable: its start was gated and no Durable had reached it", e.Attempt, e.Index), at, i))
		}
	}
}

// durableLinks are the link events that durableStart.link reads.
var durableLinks = links(linkMatch{kind: LinkReleased, from: runtimeNode}, linkMatch{kind: LinkReleased, from: "executor"},
	linkMatch{kind: LinkSent, from: runtimeNode, msgs: []protocol.Kind{protocol.KindStart, protocol.KindDurable}},
	linkMatch{kind: LinkDelivered, from: runtimeNode, msgs: []protocol.Kind{protocol.KindStart, protocol.KindDurable}})

func (*durableStart) links() *linkSet { return &durableLinks }

func (d *durableStart) link(_ int, le *LinkEvent, v invNum) {
	m := &le.Message
	k := farKey(v, m.Attempt)
	switch {
	case le.Kind == LinkReleased:
		d.release = le.Release
	case le.Kind == LinkSent && le.From == "runtime" && m.Kind == protocol.KindStart && m.Gated:
		d.sentIn.set(k, d.release)
	case le.Kind == LinkSent && le.From == "runtime" && m.Kind == protocol.KindDurable:
		// The simulator's own account first: a sync's effects leave in a release it begins.
		if r, ok := d.sentIn.lookup(k); ok && d.release == r {
			d.vs = append(d.vs, newViolation(durableStartName, m.Invocation, fmt.Sprintf(
				"the runtime told attempt %d its start was durable in no release after the start left (before any sync that could have made it so)", m.Attempt), le.After))
		}
		if int(v) >= len(d.accepted) || !d.accepted[v] {
			d.vs = append(d.vs, newViolation(durableStartName, m.Invocation, fmt.Sprintf(
				"the runtime told attempt %d its start was durable before the invocation's acceptance was", m.Attempt), le.After))
		}
	case le.Kind == LinkDelivered && le.From == "runtime" && m.Kind == protocol.KindStart && m.Gated:
		if d.gated.find(k) < 0 && !d.durable.get(k) { // a repeat keeps the first
			d.gated.vals[d.gated.insert(k)] = le.After
		}
	case le.Kind == LinkDelivered && le.From == "runtime" && m.Kind == protocol.KindDurable:
		d.durable.set(k, true)
		d.gated.del(k)
	}
}

func (d *durableStart) finish() []Violation {
	sortByFirstEvent(d.vs)
	return d.vs
}
