package sim

import (
	"sync"

	"github.com/vigilsim/vigil/checkers"
	hist "github.com/vigilsim/vigil/checkers/event"
	"github.com/vigilsim/vigil/runtime/engine"
)

// judges is what the checkers keep from one run's judgement to the next: the maps and slices
// they fill for each history, cleared by them for the next instead of made again (a seed's
// history is small, so making them was as costly as filling them). Nothing of one run reaches
// the next: each checker forgets everything of a history before it reads another, and hands
// out the violations it found.
type judges struct {
	all      checkers.AllJudge
	attempts checkers.AttemptJudges
	storage  checkers.StorageJudge
	// read are the client path's readings of the run's requests (readRequest).
	read checkers.ReadRequests
	// flipEng is the engine of the bit-flip fault's last restart (checkBitFlip), which the
	// next one is recovered over (engine.RecoverOver empties it first, as a new engine, whatever
	// world's store it read): a restart's maps and buffers made afresh at every flip were most
	// of its allocations. Nothing reads it but that next recovery.
	flipEng *engine.Engine
}

// judgesPool holds the judges of finished judgements; a run takes one at its first request or
// its judgement (World.judges) and gives it back once judged. A pool rather than a buffer of
// the recycled world: a world whose history a Result keeps is dropped (runOn), and the judges
// are worth keeping then too; and which judges a run gets changes nothing it reports.
var judgesPool = sync.Pool{New: func() any { return new(judges) }}

// readRequest is the client path's reading of request number n, ParseClientRequest of h with
// the declared services, which the judge's index takes instead of parsing the request again
// (checkers.ReadRequests says when it may). The judges are taken from the pool at the run's
// first request. The reading is the judges' own (ReadRequests.Parse): read it at once, never
// write to it.
func (w *World) readRequest(n uint64, h *hist.HTTP) *checkers.ParsedRequest {
	return w.takeJudges().read.Parse(n, h, w.declared)
}

// takeJudges returns the run's judges, from the pool if no request took them yet; the judge
// puts them back (putJudges) when it is done with them.
func (w *World) takeJudges() *judges {
	if w.judges == nil {
		w.judges = judgesPool.Get().(*judges)
		w.judges.read.Reset()
	}
	return w.judges
}

// putJudges hands the run's judges back to the pool.
func (w *World) putJudges() {
	if w.judges != nil {
		judgesPool.Put(w.judges)
		w.judges = nil
	}
}
