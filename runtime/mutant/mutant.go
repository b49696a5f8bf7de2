// Package mutant names the bugs that can be planted in the runtime to prove that the simulator
// and its checkers catch them.
//
// A mutant is compiled in only under the build tag vigil_mutants. In every other build On is a
// constant false, so the planted branches are dead code that the compiler removes: production
// and ordinary test binaries carry none of them. The package imports nothing of Vigil's.
package mutant

// ID names one planted bug.
type ID uint8

// The catalogue. Each is a realistic mistake a runtime developer could make.
const (
	// None plants nothing.
	None ID = iota
	// AcceptSecondCompletion lets a later resolve or reject of an already completed awakeable
	// overwrite the first one instead of being dropped.
	AcceptSecondCompletion
	// ReexecuteJournaledRun makes the executor run a side effect again on replay even though its
	// result is journaled.
	ReexecuteJournaledRun
	// AcceptStaleAttempt makes the engine accept commands from an attempt older than the current.
	AcceptStaleAttempt
	// AckBeforeSync makes the driver send replies as soon as the engine produces them, before the
	// store batch they depend on is synced.
	AckBeforeSync
	count
)

var names = [...]string{
	None:                   "none",
	AcceptSecondCompletion: "accept-second-completion",
	ReexecuteJournaledRun:  "reexecute-journaled-run",
	AcceptStaleAttempt:     "accept-stale-attempt",
	AckBeforeSync:          "ack-before-sync",
}

// String returns the mutant's name as simrun prints and accepts it.
func (id ID) String() string {
	if int(id) < len(names) {
		return names[id]
	}
	return "unknown"
}

// All lists every mutant of the catalogue (None excluded), in catalogue order.
func All() []ID {
	ids := make([]ID, 0, count-1)
	for id := None + 1; id < count; id++ {
		ids = append(ids, id)
	}
	return ids
}

// Parse returns the mutant with the given name.
func Parse(name string) (ID, bool) {
	for id, n := range names {
		if n == name {
			return ID(id), true
		}
	}
	return None, false
}
