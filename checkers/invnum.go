package checkers

import "github.com/vigilsim/vigil/runtime/protocol"

// invNum is an invocation's number in one walk of a history and its link log (invNumbers):
// 0, 1, 2, ... in the order the walk first met them. The attempt judges keep what they know
// of each invocation in slices indexed by it: the walk finds an event's invocation once, where
// each judge searched a map of its own for it, several times an event.
type invNum int32

// noInvocation is the invNum the attempt judges are told with a link event that names no
// invocation (LinkReleased): no judge reads a number there, and it is no slice's index.
const noInvocation invNum = -1

// invNumbers numbers the invocations of one walk. Its numbers are positions in a smallMap that
// is only ever added to, so an invocation keeps its number until reset. The zero value is
// empty.
type invNumbers struct {
	ids smallMap[protocol.InvocationID, struct{}]
	// last is the invocation of, and its number, last gave (when it has given one): a history's
	// events and link events come in runs of one invocation's.
	last  protocol.InvocationID
	lastV invNum
	given bool
}

// of returns inv's number, giving it the next one when it has none. It inlines: the memo's test
// is most of its calls.
func (n *invNumbers) of(inv protocol.InvocationID) invNum {
	if inv == n.last && n.given {
		return n.lastV
	}
	return n.search(inv)
}

// search is of past its memo.
func (n *invNumbers) search(inv protocol.InvocationID) invNum {
	k := n.ids.find(inv)
	if k < 0 {
		k = n.ids.insert(inv)
	}
	n.last, n.lastV, n.given = inv, invNum(k), true
	return invNum(k)
}

// reset forgets every number, keeping the room.
func (n *invNumbers) reset() {
	n.ids.reset()
	n.last, n.lastV, n.given = protocol.InvocationID{}, 0, false
}

// dense returns s with an element for invocation number v: s itself when it has one, else s
// lengthened to v+1 elements, the new ones zero. The judges' slices by number are emptied
// (clearDense) for each history and only lengthened by dense while it is judged.
func dense[T any](s []T, v invNum) []T {
	if int(v) < len(s) {
		return s
	}
	old, n := len(s), int(v)+1
	if n > cap(s) {
		s = append(s[:cap(s)], make([]T, n-cap(s))...)
	}
	s = s[:n]
	clear(s[old:])
	return s
}

// clearDense empties a judge's slice by invocation number, keeping its room: the values it
// held are dropped (zeroed), so nothing of one history stays reachable from the next.
func clearDense[T any](s []T) []T {
	clear(s)
	return s[:0]
}
