package sim

import (
	"slices"

	"github.com/vigilsim/vigil/checkers"
)

// storageViolations audits the runtime node's store at the end of a run against the history
// (checkers.StorageAudit). It reads the store directly, every row applied, synced or not: at the
// end of the liveness phase nothing is in flight, and what the engine wrote is what a restart
// would find.
func (w *World) storageViolations() []checkers.Violation {
	var rows []checkers.Row
	err := w.runtime.store.Load(func(key string, value []byte) error {
		rows = append(rows, checkers.Row{Key: key, Value: slices.Clone(value)})
		return nil
	})
	if err != nil {
		return []checkers.Violation{{Checker: "storage", Message: "the store cannot be read at the end of the run: " + err.Error()}}
	}
	return checkers.StorageAudit(w.history, rows)
}
