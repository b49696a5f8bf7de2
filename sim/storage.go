package sim

import (
	"github.com/vigilsim/vigil/checkers"
)

// storageViolations audits the runtime node's store at the end of a run against the history
// (checkers.StorageAudit). It reads the store directly, every row applied, synced or not: at the
// end of the liveness phase nothing is in flight, and what the engine wrote is what a restart
// would find.
//
// keys reports whether every key of the store was read (in the store's order: the rows'), for
// bitFlipViolations to draw from instead of listing them again.
//
// x is the history's index when the checkers judged it (AllJudge.Index), nil when not: the
// audit reads the events it models from it instead of walking the whole history.
func (w *World) storageViolations(j *judges, x *checkers.Index) (vs []checkers.Violation, keys bool) {
	// Load's value is valid only during its callback: each row is judged in it (the audit reads
	// a value only while judging its row), and only the keys are kept, for the bit flip's draw.
	rows := w.auditRows[:0]
	j.storage.Begin(&w.history, x, &j.read)
	err := w.runtime.store.Load(func(key string, value []byte) error {
		j.storage.Row(checkers.Row{Key: key, Value: value})
		rows = append(rows, checkers.Row{Key: key})
		return nil
	})
	w.auditRows = rows
	vs = j.storage.End()
	if err != nil {
		// The store was not read whole: its rows are not judged.
		return []checkers.Violation{{Checker: "storage", Message: "the store cannot be read at the end of the run: " + err.Error()}}, false
	}
	return vs, true
}
