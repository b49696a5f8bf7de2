package histutil

import (
	"github.com/vigilsim/vigil/checkers"
)

// Slot names one journal entry of one invocation: the checkers' own (checkers.Slot).
type Slot = checkers.Slot

// Index is the index the checkers build once per history (checkers.Index: each invocation's
// first acceptance and first output, the order outputs came in, each entry's first accepted
// completion and its sleep timer's first arming and firing, every emission of each entry, the
// requests as the clients sent them), with the executor's pauses that the scenario checks
// need on top. It extends the checkers' index rather than keeping a second one.
type Index struct {
	*checkers.Index
	Paused []Window
}

// NewIndex indexes h in one pass.
func NewIndex(h *checkers.History) *Index {
	return &Index{Index: checkers.NewIndex(h), Paused: Pauses(h, "executor")}
}
