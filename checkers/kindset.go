package checkers

import (
	"slices"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// kindSet is a set of event kinds: one bit per Kind (a uint8, so a kind added later fits too).
// The checkers that are told events one by one (the attempt judges) say with one which kinds
// their event method reads, so that a walk skips the calls that would change nothing: most of
// a history (deliveries, client requests, replays) concerns none of them.
type kindSet [4]uint64

// kinds returns the set of ks.
func kinds(ks ...event.Kind) kindSet {
	var s kindSet
	for _, k := range ks {
		s[k>>6] |= 1 << (k & 63)
	}
	return s
}

// has reports whether k is in s.
func (s *kindSet) has(k event.Kind) bool { return s[k>>6]&(1<<(k&63)) != 0 }

// union returns the kinds of s and of t.
func (s kindSet) union(t kindSet) kindSet {
	for n := range s {
		s[n] |= t[n]
	}
	return s
}

// linkSet is a set of classes of link event (linkClassOf): what the event is (sent, delivered,
// released), whether the runtime node is its From, and its message's kind. Like kindSet for
// history events, it says which link events an attempt judge's link method reads.
type linkSet [linkGroups * 4]uint64

// linkGroups counts the groups of link events a linkSet tells apart: each known LinkEventKind
// (and zero) from the runtime node or not, and one group for any kind added later, which every
// set holds whole.
const linkGroups = (int(LinkReleased) + 2) * 2

// linkClass is one class of link event: its group times 256, plus its message's kind.
type linkClass int

// linkClassOf is le's class; fromRuntime is le.From == runtimeNode.
func linkClassOf(le *LinkEvent, fromRuntime bool) linkClass {
	g := min(int(le.Kind), int(LinkReleased)+1) * 2
	if fromRuntime {
		g++
	}
	return linkClass(g<<8 | int(le.Message.Kind))
}

// linkMatch names link events for links: those of kind, from (runtimeNode or not), with a
// message of one of msgs (none: any).
type linkMatch struct {
	kind LinkEventKind
	from string
	msgs []protocol.Kind
}

// links returns the set of the link events of ms, and of every kind of link event added later.
func links(ms ...linkMatch) linkSet {
	var s linkSet
	add := func(g, msg int) {
		c := g<<8 | msg
		s[c>>6] |= 1 << (c & 63)
	}
	for _, m := range ms {
		g := int(m.kind) * 2
		if m.from == runtimeNode {
			g++
		}
		for msg := range 256 {
			if len(m.msgs) == 0 || slices.Contains(m.msgs, protocol.Kind(msg)) {
				add(g, msg)
			}
		}
	}
	for _, g := range []int{linkGroups - 2, linkGroups - 1} {
		for msg := range 256 {
			add(g, msg)
		}
	}
	return s
}

// has reports whether c is in s.
func (s *linkSet) has(c linkClass) bool { return s[c>>6]&(1<<(c&63)) != 0 }
