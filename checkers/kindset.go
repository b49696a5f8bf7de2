package checkers

import "github.com/vigilsim/vigil/checkers/event"

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
