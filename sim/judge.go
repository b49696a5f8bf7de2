package sim

import (
	"sync"

	"github.com/vigilsim/vigil/checkers"
)

// judges is what the checkers keep from one run's judgement to the next: the maps and slices
// they fill for each history, cleared by them for the next instead of made again (a seed's
// history is small, so making them was as costly as filling them). Nothing of one run reaches
// the next: each checker forgets everything of a history before it reads another, and hands
// out the violations it found.
type judges struct {
	attempts checkers.AttemptJudges
}

// judgesPool holds the judges of finished judgements. A pool rather than a field of World: a
// world whose history a Result keeps is dropped (runOn), and the judges are worth keeping then
// too; and which judges a run gets changes nothing it reports.
var judgesPool = sync.Pool{New: func() any { return new(judges) }}
