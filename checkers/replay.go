package checkers

import (
	"slices"

	"fmt"

	"github.com/vigilsim/vigil/runtime/journal"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// replayName is the Checker name of Replay's violations.
const replayName = "replay"

// Replay checks correct replay (DESIGN.md, "What the checkers prove", item 2). Within one attempt
// of an invocation, judged against the journal its AttemptStarted carries:
//
//   - its new commands take the indices len(journal), len(journal)+1, ... in emission order, each
//     once, with no gap;
//   - a value it observes at an index of its start journal equals that entry's result, and the
//     entry is of the observed kind. An awakeable still pending in the start journal cannot be
//     replayed: its value can only arrive live, so observing it needs an accepted completion of
//     that awakeable somewhere in the history (whether the value is the accepted one is
//     ExactlyOnce's question). Other pending completable entries (sleeps, promise commands) are
//     not judged here;
//   - a run whose entry is in its start journal is never executed again;
//   - a value it observes beyond its start journal belongs to a command it emitted at that index,
//     of the same kind, and for a run equals the result that command journaled.
//
// Across the attempts of one invocation, in the order they started:
//
//   - attempt numbers strictly increase;
//   - entry 0 of every start journal is the input, the same in all of them;
//   - a start journal is never shorter than the previous one (what was sent had been durable),
//     keeps every entry of it as the same command, and keeps every completion and run result it
//     held unchanged. It may be shorter than what an earlier attempt emitted: a crash can lose
//     entries that were never synced;
//   - every entry past the previous start journal is a command that an earlier attempt emitted
//     at that index (for a run, with that result): the engine invents nothing.
//
// Events of an attempt that never started are reported, since nothing about them can be judged.
// Violations are sorted by their first event index.
func Replay(h History) []Violation { return replay(NewIndex(&h)) }

func replay(x *Index) []Violation {
	h := x.H
	starts := x.ofKind(AttemptStarted)
	// The replayer is the index's, kept from its last history (empty: forget) for its room.
	r := &x.replay
	r.h, r.x = *h, x
	// Each attempt and invocation has a slot in these, room made once: no more than one per
	// AttemptStarted, so they never grow and the pointers to their slots stay valid.
	r.attemptSlots = slices.Grow(r.attemptSlots[:0], len(starts))
	defer r.forget()
	// Each attempt's start journal is known before the walk, so that the events of an attempt
	// recorded before its start are judged, not orphaned: the order events were recorded in is
	// not the order they happened in.
	for _, i := range starts {
		e := &h.Events[i]
		k := farKey(r.nums.of(e.Invocation), e.Attempt)
		known := len(r.attempts.keys)
		if at := r.attempts.ref(k); len(r.attempts.keys) > known { // k is new: one search, not two
			*at = len(r.attemptSlots)
			r.attemptSlots = append(r.attemptSlots, attemptReplay{start: i, journal: e.Journal, next: uint64(len(e.Journal))})
		}
	}
	events := h.Events // read once: the calls below could change *h, as far as the compiler knows
	for i := range events {
		e := &events[i]
		switch e.Kind {
		case AttemptStarted:
			r.started(i, e, r.nums.of(e.Invocation))
		case CommandEmitted, ValueObserved, RunExecuted:
			n, ok := r.attempts.lookup(farKey(r.nums.of(e.Invocation), e.Attempt))
			if !ok {
				r.orphan(attemptKey{e.Invocation, e.Attempt}, i)
				continue
			}
			a := &r.attemptSlots[n]
			switch e.Kind {
			case CommandEmitted:
				r.emitted(a, i, e)
			case ValueObserved:
				r.observed(a, i, e)
			case RunExecuted:
				r.executed(a, i, e)
			}
		}
	}
	for _, o := range r.orphans {
		r.report(o.key.inv, fmt.Sprintf("attempt %d never started, yet %d of its events were recorded", o.key.attempt, len(o.events)),
			o.events...)
	}
	sortByFirstEvent(r.vs)
	vs := r.vs
	r.vs = nil // the caller's
	return vs
}

// attemptKey names one attempt of one invocation.
type attemptKey struct {
	inv     protocol.InvocationID
	attempt uint32
}

// attemptReplay is what Replay tracks of one attempt while it walks the history.
type attemptReplay struct {
	// start is the index of the attempt's (first) AttemptStarted event.
	start int
	// journal is the journal the attempt started with.
	journal []journal.Entry
	// next is the index its next new command must take.
	next uint64
}

// invocationReplay is what Replay tracks of one invocation across its attempts.
type invocationReplay struct {
	// prevStart is the index of the invocation's latest AttemptStarted event.
	prevStart int
	// maxAttempt is the highest attempt number started so far.
	maxAttempt uint32
	// inputStart is the AttemptStarted event whose journal holds the reference input, or -1.
	inputStart int
	// begun tells that the fields above are set: a slot is zero until its invocation's first
	// start.
	begun bool
}

// orphanAttempt collects the events of an attempt that has no AttemptStarted.
type orphanAttempt struct {
	key    attemptKey
	events []int
}

// replayer holds one Replay call's state and findings; the index keeps it for the room of its
// maps and slices, emptied (forget) after each call. The
// commands emitted at each slot (Index.Emitted, in history order) and the awakeables accepted
// (Index.Completed) come from the shared index.
type replayer struct {
	h  History
	x  *Index
	vs []Violation

	// nums numbers the invocations (invNumbers); attempts finds an attempt by farKey of its
	// invocation's number and its own, invSlots an invocation by its number.
	nums         invNumbers
	attempts     smallMap[uint64, int] // into attemptSlots
	attemptSlots []attemptReplay
	invSlots     []invocationReplay
	orphans      []orphanAttempt
	orphanIx     smallMap[attemptKey, int]
}

// forget empties r for the next history, keeping its room: nothing of this one stays reachable.
func (r *replayer) forget() {
	r.h, r.x, r.vs = History{}, nil, nil
	r.nums.reset()
	r.attempts.reset()
	r.orphanIx.reset()
	clear(r.attemptSlots)
	clear(r.orphans)
	r.attemptSlots, r.orphans = r.attemptSlots[:0], r.orphans[:0]
	r.invSlots = clearDense(r.invSlots)
}

// command returns the first CommandEmitted of attempt at index of inv, and whether there is one.
func (r *replayer) command(inv protocol.InvocationID, attempt, index uint32) (int, bool) {
	for _, i := range r.x.Emitted.Get(slot{inv, index}) {
		if r.h.Events[i].Attempt == attempt {
			return i, true
		}
	}
	return 0, false
}

// report adds one violation.
func (r *replayer) report(inv protocol.InvocationID, msg string, events ...int) {
	r.vs = append(r.vs, newViolation(replayName, inv, msg, events...))
}

// orphan remembers event i of an attempt that never started.
func (r *replayer) orphan(k attemptKey, i int) {
	n, ok := r.orphanIx.lookup(k)
	if !ok {
		n = len(r.orphans)
		r.orphanIx.set(k, n)
		r.orphans = append(r.orphans, orphanAttempt{key: k})
	}
	r.orphans[n].events = append(r.orphans[n].events, i)
}

// emitted checks that a new command takes the next index of its attempt.
func (r *replayer) emitted(a *attemptReplay, i int, e *Event) {
	idx := uint64(e.Index)
	switch {
	case idx < uint64(len(a.journal)):
		r.report(e.Invocation, fmt.Sprintf("attempt %d emitted command [%d] %s inside its start journal of %d entries",
			e.Attempt, e.Index, e.Entry, len(a.journal)), a.start, i)
	case idx == a.next:
		a.next++
	case idx > a.next:
		r.report(e.Invocation, fmt.Sprintf("attempt %d emitted command [%d] %s, expected [%d] (gap)",
			e.Attempt, e.Index, e.Entry, a.next), i)
		a.next = idx + 1
	default:
		first, _ := r.command(e.Invocation, e.Attempt, e.Index)
		if first != i {
			r.report(e.Invocation, fmt.Sprintf("attempt %d emitted command [%d] again (repeat): %s after %s",
				e.Attempt, e.Index, e.Entry, r.h.Events[first].Entry), first, i)
		} else {
			r.report(e.Invocation, fmt.Sprintf("attempt %d emitted command [%d] %s out of order, after [%d]",
				e.Attempt, e.Index, e.Entry, a.next-1), i)
		}
	}
}

// observed checks a value the handler received against the journal or the attempt's own command.
func (r *replayer) observed(a *attemptReplay, i int, e *Event) {
	if uint64(e.Index) < uint64(len(a.journal)) {
		je := a.journal[e.Index]
		switch {
		case e.Entry.Kind != je.Kind:
			r.report(e.Invocation, fmt.Sprintf("attempt %d observed %s at [%d] (kind %s), but its start journal holds %s",
				e.Attempt, e.Result, e.Index, e.Entry.Kind, je), a.start, i)
		case je.Kind.Completable() && !je.Completed:
			// Not a replay: the completion can only have arrived live. Only awakeables have their
			// completions recorded here (CompletionAccepted); timers and promises complete by the
			// engine's own events, which Timers and Promises judge.
			if _, accepted := r.x.Completed.Lookup(slot{e.Invocation, e.Index}); je.Kind == journal.KindAwakeable && !accepted {
				r.report(e.Invocation, fmt.Sprintf("attempt %d observed %s for [%d], which is pending in its start journal and was never completed",
					e.Attempt, e.Result, e.Index), a.start, i)
			}
		case !e.Result.Equal(je.Result):
			r.report(e.Invocation, fmt.Sprintf("attempt %d replayed %s at [%d], but its start journal holds %s",
				e.Attempt, e.Result, e.Index, je), a.start, i)
		}
		return
	}
	c, ok := r.command(e.Invocation, e.Attempt, e.Index)
	if !ok {
		r.report(e.Invocation, fmt.Sprintf("attempt %d observed %s at [%d] (kind %s), beyond its start journal of %d entries, where it emitted no command",
			e.Attempt, e.Result, e.Index, e.Entry.Kind, len(a.journal)), i)
		return
	}
	ce := r.h.Events[c].Entry
	switch {
	case e.Entry.Kind != ce.Kind:
		r.report(e.Invocation, fmt.Sprintf("attempt %d observed %s at [%d] (kind %s), but its command there is %s",
			e.Attempt, e.Result, e.Index, e.Entry.Kind, ce), c, i)
	case ce.Kind == journal.KindRun && !e.Result.Equal(ce.Result):
		r.report(e.Invocation, fmt.Sprintf("attempt %d observed %s from run [%d], but its command journaled %s",
			e.Attempt, e.Result, e.Index, ce.Result), c, i)
	}
}

// executed checks that a run's side effect ran only for a run the start journal does not hold.
func (r *replayer) executed(a *attemptReplay, i int, e *Event) {
	if uint64(e.Index) < uint64(len(a.journal)) {
		je := a.journal[e.Index]
		if je.Kind == journal.KindRun {
			r.report(e.Invocation, fmt.Sprintf("journaled run [%d] re-executed by attempt %d (its start journal holds %s)",
				e.Index, e.Attempt, je), a.start, i)
		} else {
			r.report(e.Invocation, fmt.Sprintf("attempt %d executed a run at [%d], but its start journal holds %s",
				e.Attempt, e.Index, je), a.start, i)
		}
		return
	}
	if c, ok := r.command(e.Invocation, e.Attempt, e.Index); ok && r.h.Events[c].Entry.Kind != journal.KindRun {
		r.report(e.Invocation, fmt.Sprintf("attempt %d executed a run at [%d], but its command there is %s",
			e.Attempt, e.Index, r.h.Events[c].Entry), c, i)
	}
}

// started checks a start journal against the invocation's previous one and its emitted commands;
// v is the invocation's number (invNumbers).
func (r *replayer) started(i int, e *Event, v invNum) {
	r.invSlots = dense(r.invSlots, v)
	st := &r.invSlots[v]
	if !st.begun {
		*st = invocationReplay{prevStart: -1, inputStart: -1, begun: true}
	}
	if st.prevStart >= 0 && e.Attempt <= st.maxAttempt {
		r.report(e.Invocation, fmt.Sprintf("attempt %d started after attempt %d (attempt numbers must strictly increase)",
			e.Attempt, st.maxAttempt), st.prevStart, i)
	}

	jb := e.Journal
	switch {
	case len(jb) == 0:
		r.report(e.Invocation, fmt.Sprintf("attempt %d's start journal is empty (no input)", e.Attempt), i)
	case jb[0].Kind != journal.KindInput:
		r.report(e.Invocation, fmt.Sprintf("attempt %d's start journal holds %s at [0], not the input", e.Attempt, jb[0]), i)
	case st.inputStart < 0:
		st.inputStart = i
	default:
		ref := &r.h.Events[st.inputStart]
		if !jb[0].SameCommand(ref.Journal[0]) {
			r.report(e.Invocation, fmt.Sprintf("attempt %d's start journal changed the input from %s (attempt %d) to %s",
				e.Attempt, ref.Journal[0].Result, ref.Attempt, jb[0].Result), st.inputStart, i)
		}
	}

	from := 1
	if st.prevStart >= 0 {
		prev := &r.h.Events[st.prevStart]
		ja := prev.Journal
		if len(jb) < len(ja) {
			r.report(e.Invocation, fmt.Sprintf("attempt %d's start journal has %d entries, fewer than attempt %d's %d (a durable entry was lost)",
				e.Attempt, len(jb), prev.Attempt, len(ja)), st.prevStart, i)
		}
		n := min(len(ja), len(jb))
		for idx := 1; idx < n; idx++ {
			if msg := journalChange(ja[idx], jb[idx]); msg != "" {
				r.report(e.Invocation, fmt.Sprintf("attempt %d's start journal %s at [%d] (attempt %d's held %s)",
					e.Attempt, msg, idx, prev.Attempt, ja[idx]), st.prevStart, i)
			}
		}
		from = max(from, len(ja))
	}
	for idx := from; idx < len(jb); idx++ {
		if !r.emittedEarlier(e.Invocation, e.Attempt, uint32(idx), jb[idx]) {
			r.report(e.Invocation, fmt.Sprintf("attempt %d's start journal holds %s at [%d], which no earlier attempt emitted",
				e.Attempt, jb[idx], idx), i)
		}
	}

	st.prevStart = i
	st.maxAttempt = max(st.maxAttempt, e.Attempt)
}

// journalChange says how the later journal's entry b differs from the earlier journal's entry a
// at the same index, or returns "" when b keeps everything a held.
func journalChange(a, b journal.Entry) string {
	switch {
	case !b.SameCommand(a):
		return fmt.Sprintf("changed the entry to %s", b)
	case a.Kind.Completable() && a.Completed && !b.Completed:
		return fmt.Sprintf("lost the completion %s", a.Result)
	case a.Kind.Completable() && a.Completed && !b.Result.Equal(a.Result):
		return fmt.Sprintf("changed the completion from %s to %s", a.Result, b.Result)
	case a.Kind == journal.KindRun && !b.Result.Equal(a.Result):
		return fmt.Sprintf("changed the run result from %s to %s", a.Result, b.Result)
	}
	return ""
}

// emittedEarlier reports whether an attempt numbered below attempt emitted the command that
// entry is, at index, with the same result when it is a run.
func (r *replayer) emittedEarlier(inv protocol.InvocationID, attempt, index uint32, entry journal.Entry) bool {
	for _, i := range r.x.Emitted.Get(slot{inv, index}) {
		em := &r.h.Events[i]
		if em.Attempt >= attempt || !em.Entry.SameCommand(entry) {
			continue
		}
		if entry.Kind == journal.KindRun && !em.Entry.Result.Equal(entry.Result) {
			continue
		}
		return true
	}
	return false
}
