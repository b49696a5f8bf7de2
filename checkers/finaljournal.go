package checkers

import (
	"fmt"

	"github.com/vigilsim/vigil/runtime/journal"
)

const finalJournalName = "final-journal"

// FinalJournal judges every finished invocation against its final durable journal (the Journal
// of its InvocationDone event, when the recorder attached one): every value any attempt of it
// observed for a run or an awakeable must equal the one that journal holds at that index, and
// every start journal must be a prefix of it. This catches a handler that went on with a value
// the engine never made durable — for example a run acknowledged for another attempt's result —
// even when no later attempt replays the journal.
func FinalJournal(h History) []Violation { return finalJournal(NewIndex(&h)) }

func finalJournal(x *Index) []Violation {
	h := x.H
	// Each invocation's first InvocationDone with a journal, in the index's room: a seed's few
	// invocations are found by a short search, where a Go map made per history cost more to
	// make, fill and read than the checks it serves.
	final := &x.room.final
	final.reset()
	for _, i := range x.ofKind(InvocationDone) {
		if e := &h.Events[i]; e.Journal != nil && !final.has(e.Invocation) {
			final.set(e.Invocation, i)
		}
	}
	if len(final.keys) == 0 {
		return nil
	}
	var vs []Violation
	// The observations and start journals, in history order.
	x.eachOf(ValueObserved, AttemptStarted, func(i int) {
		e := &h.Events[i]
		di, ok := final.lookup(e.Invocation)
		if !ok {
			return
		}
		j := h.Events[di].Journal
		switch e.Kind {
		case ValueObserved:
			if e.Entry.Kind != journal.KindRun && e.Entry.Kind != journal.KindAwakeable {
				return
			}
			if int(e.Index) >= len(j) {
				vs = append(vs, newViolation(finalJournalName, e.Invocation, fmt.Sprintf(
					"attempt %d observed %s at [%d], past the final journal of %d entries", e.Attempt, e.Result, e.Index, len(j)), i, di))
				return
			}
			if want := &j[e.Index]; want.Kind != e.Entry.Kind || !want.Result.Equal(e.Result) {
				vs = append(vs, newViolation(finalJournalName, e.Invocation, fmt.Sprintf(
					"attempt %d observed %s at [%d], but the final journal holds %s", e.Attempt, e.Result, e.Index, *want), i, di))
			}
		case AttemptStarted:
			if len(e.Journal) > len(j) {
				vs = append(vs, newViolation(finalJournalName, e.Invocation, fmt.Sprintf(
					"attempt %d started with %d entries, more than the final journal's %d", e.Attempt, len(e.Journal), len(j)), i, di))
				return
			}
			for k := range e.Journal {
				en, want := &e.Journal[k], &j[k]
				if !en.SameCommand(*want) || (en.Completed || en.Kind == journal.KindRun) && !en.Result.Equal(want.Result) {
					vs = append(vs, newViolation(finalJournalName, e.Invocation, fmt.Sprintf(
						"attempt %d started with %s at [%d], but the final journal holds %s", e.Attempt, *en, k, *want), i, di))
					break
				}
			}
		}
	})
	sortByFirstEvent(vs)
	return vs
}
