package checkers

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// exclusiveName is the Checker name of Exclusive's violations.
const exclusiveName = "exclusive"

// Exclusive checks object exclusivity and FIFO per key (DESIGN.md, "What the checkers prove",
// item 6). Exclusive handlers of a virtual object, and a workflow's run, hold their
// Service/Key's lock from LockAcquired (before their first attempt) to LockReleased (when they
// finish), suspended or not. Walking the history in order, per Service/Key:
//
//   - one holder at a time: a LockAcquired by an invocation while another one holds the lock
//     (the newcomer then counts as the holder). A LockAcquired repeated by the holder itself is
//     tolerated;
//   - only the holder releases: a LockReleased by an invocation that does not hold the lock, or
//     while nobody does (the holder, if any, keeps it);
//   - first in, first out: exclusive invocations (InvocationAccepted with HandlerKind exclusive) of
//     one key acquire its lock in increasing Seq order. An exclusive invocation acquiring the lock
//     while one with a lower Seq, accepted earlier in the history, has not acquired it yet and has
//     not finished (a cancelled one leaves the queue) is a violation (the earliest one skipped is
//     named);
//   - attempts run under the lock: an AttemptStarted of an exclusive or workflow invocation
//     (HandlerKind exclusive or workflow) before its LockAcquired or after its LockReleased. This
//     is what catches an engine that frees the key while a handler is suspended and lets the
//     next call in, and an executor that starts a stale attempt after the invocation finished.
//     A gated start (the runtime sends it before the sync that records its acceptance and
//     lock) comes before both in the history: the invocation must acquire the lock before
//     its next attempt starts, before it finishes, and before the history ends.
//
// Violations are sorted by their first event index.
func Exclusive(h History) []Violation { return exclusiveOf(h) }

// exclusive is Exclusive over an index, which tells at once a history with nothing to judge:
// every violation comes from a LockAcquired, a LockReleased, or an attempt of an invocation
// accepted as exclusive or workflow, so without those there is none (most seeds of a scenario
// without objects or workflows), and the walks are skipped.
func exclusive(x *Index) []Violation {
	if len(x.ofKind(LockAcquired)) == 0 && len(x.ofKind(LockReleased)) == 0 {
		locked := false
		for _, i := range x.ofKind(InvocationAccepted) {
			if k := x.H.Events[i].HandlerKind; k == event.HandlerExclusive || k == event.HandlerWorkflow {
				locked = true
				break
			}
		}
		if !locked {
			return nil
		}
	}
	return exclusiveOf(*x.H)
}

func exclusiveOf(h History) []Violation {
	var vs []Violation

	// accepted is each invocation's first InvocationAccepted; queues lists, per key, its
	// exclusive invocations by Seq.
	accepted := make(map[protocol.InvocationID]int)
	queues := make(map[workflowKey][]int)
	for i := range h.Events {
		e := &h.Events[i]
		if e.Kind != InvocationAccepted {
			continue
		}
		if _, ok := accepted[e.Invocation]; ok {
			continue
		}
		accepted[e.Invocation] = i
		if e.HandlerKind == event.HandlerExclusive {
			k := workflowKey{e.Service, e.Key}
			queues[k] = append(queues[k], i)
		}
	}
	for _, q := range queues {
		slices.SortStableFunc(q, func(a, b int) int { return cmp.Compare(h.Events[a].Seq, h.Events[b].Seq) })
	}

	type holder struct {
		inv protocol.InvocationID
		at  int // its LockAcquired event
	}
	holders := make(map[workflowKey]holder)
	// lockState is, per invocation, whether it acquired (1) and released (2) its lock, or left
	// the queue without it (3): it finished while it waited, as a cancelled one does.
	const (
		acquired  = 1
		released  = 2
		leftQueue = 3
	)
	lockState := make(map[protocol.InvocationID]int)
	lockOf := make(map[protocol.InvocationID]workflowKey)
	// next is, per key, how far its queue is known to have acquired the lock in order.
	next := make(map[workflowKey]int)
	// early are attempts started before their invocation's acceptance was recorded (gated
	// starts), by invocation: the lock must come with the acceptance.
	type earlyStart struct {
		attempt uint32
		at      int
	}
	early := make(map[protocol.InvocationID]earlyStart)
	unlocked := func(inv protocol.InvocationID, s earlyStart) {
		acc := h.Events[accepted[inv]]
		vs = append(vs, newViolation(exclusiveName, inv,
			fmt.Sprintf("%s/%s: attempt %d started before the invocation acquired the lock", acc.Service, acc.Key, s.attempt),
			accepted[inv], s.at))
	}
	// stillUnlocked reports inv's early start, if it has one, once the history moved past the
	// point where its lock had to come (its next start, its end).
	stillUnlocked := func(inv protocol.InvocationID) {
		if s, ok := early[inv]; ok {
			unlocked(inv, s)
			delete(early, inv)
		}
	}

	for i := range h.Events {
		e := &h.Events[i]
		switch e.Kind {
		case LockAcquired:
			k := workflowKey{e.Service, e.Key}
			cur, held := holders[k]
			if held && cur.inv == e.Invocation {
				continue
			}
			if held {
				vs = append(vs, newViolation(exclusiveName, e.Invocation,
					fmt.Sprintf("%s/%s: acquired the lock while %s holds it", k.service, k.key, cur.inv),
					cur.at, i))
			}
			holders[k] = holder{e.Invocation, i}
			delete(early, e.Invocation)
			if lockState[e.Invocation] == 0 {
				lockState[e.Invocation] = acquired
				lockOf[e.Invocation] = k
			}
			if v, ok := fifo(h, queues[k], next, k, lockState, accepted, e.Invocation, i); ok {
				vs = append(vs, v)
			}
		case InvocationDone:
			stillUnlocked(e.Invocation)
			if lockState[e.Invocation] == 0 {
				lockState[e.Invocation] = leftQueue
			}
		case LockReleased:
			k := workflowKey{e.Service, e.Key}
			cur, held := holders[k]
			switch {
			case !held:
				vs = append(vs, newViolation(exclusiveName, e.Invocation,
					fmt.Sprintf("%s/%s: released the lock, but nobody holds it", k.service, k.key), i))
			case cur.inv != e.Invocation:
				vs = append(vs, newViolation(exclusiveName, e.Invocation,
					fmt.Sprintf("%s/%s: released the lock, but %s holds it", k.service, k.key, cur.inv), cur.at, i))
			default:
				delete(holders, k)
				lockState[e.Invocation] = released
			}
		case AttemptStarted:
			a, ok := accepted[e.Invocation]
			if !ok {
				continue
			}
			acc := &h.Events[a]
			if acc.HandlerKind != event.HandlerExclusive && acc.HandlerKind != event.HandlerWorkflow {
				continue
			}
			stillUnlocked(e.Invocation)
			switch lockState[e.Invocation] {
			case 0:
				if a > i {
					early[e.Invocation] = earlyStart{e.Attempt, i}
					continue
				}
				unlocked(e.Invocation, earlyStart{e.Attempt, i})
			case released:
				k := lockOf[e.Invocation]
				vs = append(vs, newViolation(exclusiveName, e.Invocation,
					fmt.Sprintf("%s/%s: attempt %d started after the invocation released the lock", k.service, k.key, e.Attempt),
					i))
			case leftQueue:
				vs = append(vs, newViolation(exclusiveName, e.Invocation,
					fmt.Sprintf("%s/%s: attempt %d started after the invocation finished without ever holding the lock", acc.Service, acc.Key, e.Attempt),
					a, i))
			}
		}
	}
	for _, inv := range slices.SortedFunc(maps.Keys(early), compareInvocations) {
		unlocked(inv, early[inv])
	}

	sortByFirstEvent(vs)
	return vs
}

// fifo checks that inv, acquiring key k's lock at event i, is not overtaking an exclusive
// invocation of k with a lower Seq that was accepted before i and has not acquired the lock.
// next[k] skips the prefix of the queue that has already acquired it.
func fifo(h History, queue []int, next map[workflowKey]int, k workflowKey, lockState map[protocol.InvocationID]int,
	accepted map[protocol.InvocationID]int, inv protocol.InvocationID, i int) (Violation, bool) {
	a, ok := accepted[inv]
	if !ok || h.Events[a].HandlerKind != event.HandlerExclusive || h.Events[a].Service != k.service || h.Events[a].Key != k.key {
		return Violation{}, false
	}
	n := next[k]
	for n < len(queue) && lockState[h.Events[queue[n]].Invocation] != 0 {
		n++
	}
	next[k] = n
	seq := h.Events[a].Seq
	for _, q := range queue[n:] {
		w := &h.Events[q]
		if w.Seq >= seq {
			break
		}
		if q < i && lockState[w.Invocation] == 0 {
			return newViolation(exclusiveName, inv,
				fmt.Sprintf("%s/%s: acquired the lock (seq %d) before %s (seq %d), which was accepted earlier and still waits (FIFO)",
					k.service, k.key, seq, w.Invocation, w.Seq),
				q, a, i), true
		}
	}
	return Violation{}, false
}
