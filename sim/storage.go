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
	// Load's value is valid only during its callback, so each is copied: all into one buffer
	// the world keeps across runs, each row's value a capped slice of it (a row is never
	// written to, and an append that moves the buffer leaves the earlier slices valid).
	rows, buf := w.auditRows[:0], w.auditBytes[:0]
	err := w.runtime.store.Load(func(key string, value []byte) error {
		start := len(buf)
		buf = append(buf, value...)
		rows = append(rows, checkers.Row{Key: key, Value: buf[start:len(buf):len(buf)]})
		return nil
	})
	w.auditRows, w.auditBytes = rows, buf
	if err != nil {
		return []checkers.Violation{{Checker: "storage", Message: "the store cannot be read at the end of the run: " + err.Error()}}, false
	}
	if x != nil {
		return j.storage.JudgeIndexed(x, rows, &j.read), true
	}
	return j.storage.Judge(&w.history, rows, &j.read), true
}
