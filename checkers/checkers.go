// Package checkers owns the property checkers: pure judges of a recorded History. Each checker
// is a function from a history to the list of violations it finds, lives in its own file and
// proves one property of DESIGN.md's "What the checkers prove" (exactly-once resolution, correct
// replay, ...). A checker keeps no state between calls, never depends on map iteration order and
// returns identical violations for identical histories, so a failing seed reports the same
// findings every time it is replayed.
//
// The checkers, by the name their violations carry:
//
//   - "exactly-once" (ExactlyOnce): one accepted completion per awakeable, every observed value
//     equal to it, one output per invocation;
//   - "replay" (Replay): each attempt extends the journal it was given and replays it faithfully;
//   - "final-journal" (FinalJournal): every observed value and start journal agrees with the
//     invocation's final journal;
//   - "outputs" (Outputs): every output a client received is the invocation's output, and
//     idempotent retries and workflow submissions reach one invocation until a purge;
//   - "timers" (Timers): sleep and retry timers never fire early, twice, or not at all;
//   - "retention" (Retention): purges happen when the declared retention says, never early, late
//     or missing, and a purged output is never read again;
//   - "first-completion" (FirstCompletion): the first completion of an awakeable to reach the
//     runtime wins, whatever was buffered;
//   - "exclusive" (Exclusive): one lock holder per object or workflow key, FIFO among exclusive
//     calls, and attempts only run while their invocation holds the lock;
//   - "promises" (Promises): durable promise operations are linearizable (checked with porcupine)
//     and each promise is completed once, with the winning complete's value.
//
// Attempts runs the checkers that also read the link log (what crossed the engine<->executor
// link, as the simulator sent and delivered it): "progress" and "causality" (attempts go on
// when woken and start only with a cause), "retry-timing" (RetryTiming: a failed attempt's
// retry waits the declared backoff, and comes), "durable-start" (DurableStart: an attempt sent
// speculatively, before its invocation's acceptance was durable, runs no side effect until it
// is told the acceptance is durable, which happens only once it is) and "inactivity"
// (Inactivity: an idle attempt suspends within the declared inactivity bound).
//
// Exactly one checker is not deterministic in theory: Promises reports a promise whose check ran
// out of PromiseCheckTimeout, which depends on the machine (see PromiseCheckTimeout).
//
// Checkers learn what clients asked for from the bytes the clients sent, parsed here
// (ParseClientRequest), and judge the runtime's notes against the scenario's declarations and
// the order in which things reached the runtime; the notes are claims, not expectations.
//
// The package imports only checkers/event, runtime/journal and runtime/protocol (the vocabulary
// of what was recorded). It must never import the simulator or the engine: a checker judges what happened,
// not how the code that made it happen works, so a bug in the runtime cannot hide itself from the
// checker that is meant to catch it.
package checkers

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/vigilsim/vigil/runtime/protocol"
)

// Checker is one named property checker, as simrun lists and reports them.
type Checker struct {
	// Name is the checker's name; it equals Violation.Checker of everything Check returns.
	Name string
	// Check judges a whole history and returns its violations, sorted by first event index.
	Check func(History) []Violation
	// Judge, when set, is Check over the history's shared Index: All builds the index once and
	// hands it to every checker that has a Judge, instead of each rebuilding its own maps.
	Judge func(*Index) []Violation
}

// Registry lists every checker that All runs, in the order it runs them. Add a checker here to
// have simrun and All use it.
var Registry = []Checker{
	{Name: exactlyOnceName, Check: ExactlyOnce, Judge: exactlyOnce},
	{Name: replayName, Check: Replay, Judge: replay},
	{Name: finalJournalName, Check: FinalJournal, Judge: finalJournal},
	{Name: outputsName, Check: Outputs, Judge: outputs},
	{Name: timersName, Check: Timers, Judge: timers},
	{Name: retentionName, Check: Retention, Judge: retention},
	{Name: firstCompletionName, Check: FirstCompletion, Judge: firstCompletion},
	{Name: exclusiveName, Check: Exclusive, Judge: exclusive},
	{Name: promisesName, Check: Promises, Judge: promises},
	{Name: durabilityName, Check: Durability, Judge: durability},
}

// All runs every checker of Registry over h and returns their violations sorted by checker name,
// then by the index of the first event each violation names (violations without events first).
// Ties keep the order the checker reported them in, so the result is fully deterministic.
func All(h History) []Violation { return AllRead(h, nil) }

// AllRead is All with the requests' readings of read (ReadRequests; nil for none) taken where
// they are the ones the checkers would make.
func AllRead(h History, read *ReadRequests) []Violation { return all(newIndex(&h, read)) }

// AllJudge is AllRead with the index kept from one call to the next: its maps and slices are
// cleared and filled again for each history instead of made, which a simulator judging
// thousands of small runs one after another feels. Nothing of one history is left in the index
// of the next, and no violation points into it. The zero value is ready; it is not safe for
// concurrent use.
type AllJudge struct{ x Index }

// Judge is AllRead(*h, read) on a's kept index.
func (a *AllJudge) Judge(h *History, read *ReadRequests) []Violation {
	a.x.build(h, read)
	return all(&a.x)
}

// Index is the index of the history a judged last (nil before its first Judge), valid until
// its next Judge: other judges of that history may read it (StorageJudge.JudgeIndexed) instead
// of walking the history again. It must not be changed.
func (a *AllJudge) Index() *Index {
	if a.x.H == nil {
		return nil
	}
	return &a.x
}

// all runs every checker of Registry on the index x of a history.
func all(x *Index) []Violation {
	var vs []Violation
	h := *x.H
	for _, c := range Registry {
		if c.Judge != nil {
			vs = append(vs, c.Judge(x)...)
			continue
		}
		vs = append(vs, c.Check(h)...)
	}
	slices.SortStableFunc(vs, func(a, b Violation) int {
		return cmp.Or(cmp.Compare(a.Checker, b.Checker), cmp.Compare(firstEvent(a), firstEvent(b)))
	})
	return vs
}

// firstEvent is the lowest event index a violation names, or -1 when it names none.
func firstEvent(v Violation) int {
	if len(v.Events) == 0 {
		return -1
	}
	return v.Events[0]
}

// newViolation builds a violation whose event indices are sorted and free of repeats, so that
// Events[0] is always the earliest event involved.
func newViolation(checker string, inv protocol.InvocationID, msg string, events ...int) Violation {
	evs := slices.Clone(events)
	slices.Sort(evs)
	evs = slices.Compact(evs)
	return Violation{Checker: checker, Invocation: inv, Message: msg, Events: evs}
}

// sortByFirstEvent orders one checker's violations by their earliest event, keeping the
// checker's own order among ties.
func sortByFirstEvent(vs []Violation) {
	slices.SortStableFunc(vs, func(a, b Violation) int {
		return cmp.Compare(firstEvent(a), firstEvent(b))
	})
}

// compareInvocations orders invocation ids by their bytes: the order checkers walk the keys of a
// map by invocation in, so that violations come out in one order every run.
func compareInvocations(a, b protocol.InvocationID) int { return bytes.Compare(a[:], b[:]) }

// slot is the package's short name for Slot.
type slot = Slot
