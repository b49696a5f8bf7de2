package executor

import (
	"iter"
	"sync"

	"github.com/vigilsim/vigil/internal/freelist"
)

// worker is a coroutine that runs the handlers of attempts one after another. An executor keeps
// the workers whose attempts ended, so that most attempts neither make a coroutine (iter.Pull
// allocates its state and closures) nor grow a fresh coroutine's small stack again by copying: a
// pooled worker keeps the stack its earlier handlers grew.
//
// Only the driver resumes a worker (next), and only to run its attempt's handler: the first
// resume after an attempt is bound starts the handler, the others resume it where it parked. A
// worker yields when its handler parks or when the handler is over (returned, failed, or unwound
// by an abort); attempt.done tells the two apart. A worker that yields at the end of a handler
// waits there, with no attempt, until it is bound again or stopped.
type worker struct {
	next  func() (struct{}, bool)
	stop  func()
	yield func(struct{}) bool
	// a is the attempt whose handler the worker runs; nil while it waits in the pool.
	a *attempt
}

// maxIdleWorkers bounds the workers an executor keeps waiting for attempts: a burst of parked
// attempts leaves that many grown stacks at most, the rest of its workers end.
const maxIdleWorkers = 64

// loop is the worker's coroutine: it runs the bound attempt's handler, yields at its end, and
// runs the next bound attempt's when resumed, until it is stopped.
func (w *worker) loop(yield func(struct{}) bool) {
	w.yield = yield
	growStack()
	for {
		a := w.a
		a.body()
		a.done = true
		if !yield(struct{}{}) {
			return
		}
	}
}

// bind gives attempt a a worker, a waiting one if there is one; its handler runs at the next
// resume.
func (e *Executor) bind(a *attempt) {
	w, ok := freelist.Pop(&e.idle)
	if !ok {
		w = takeKeptWorker(e.cfg.Spare != nil)
	}
	if w == nil {
		w = &worker{}
		w.next, w.stop = iter.Pull(w.loop)
	}
	w.a = a
	a.w = w
}

// release takes back the worker of a, whose handler is over, for a later attempt, or ends it
// when enough workers wait already or the executor runs no attempt any more.
func (a *attempt) release() {
	w := a.w
	a.w, w.a = nil, nil
	e := a.ex
	if len(e.idle) >= maxIdleWorkers {
		w.stop()
		return
	}
	e.idle = append(e.idle, w)
}

// stopWorkers ends every waiting worker's coroutine.
func (e *Executor) stopWorkers() {
	for i, w := range e.idle {
		e.idle[i] = nil
		w.stop()
	}
	e.idle = e.idle[:0]
}

// stackRoom is how much stack a new worker makes room for before its first handler runs. A
// coroutine starts with the smallest stack (2 KB), and handler code deeper than that (durable
// calls, a side effect's own calls) grows it by copying, which walks every frame on it: growing
// it once here, while the worker holds three frames, costs little; growing it under a handler
// costs a walk of twenty. The room (8 KB once grown) stays with the worker for later attempts.
const stackRoom = 5 << 10

// growStack needs a frame of stackRoom bytes, so that the stack is grown to hold one at once.
//
//go:noinline
func growStack() {
	var room [stackRoom]byte
	touch(&room)
}

// touch keeps room, and so growStack's frame, from being optimised away.
//
//go:noinline
func touch(room *[stackRoom]byte) { room[0] = 1 }

// keptWorkers are waiting workers that stopped Spares left (Spare.Stop) for executors built
// with a Spare after them: the simulator builds its executor, and its Spare, afresh for every
// run, and without them every run made its first workers again (iter.Pull's allocations, a new
// goroutine, the stack grown by copying). A kept worker holds no attempt and nothing of one
// (its coroutine waits at the yield after a handler's end, where the attempt is dead), so which
// worker runs an attempt changes nothing. They are goroutines that outlive the executors that
// made them: StopKeptWorkers ends them. Bounded; guarded, since runs may go on at once on
// several goroutines (a worker is resumed by one goroutine at a time, handed over under the lock).
var keptWorkers struct {
	sync.Mutex
	free []*worker
}

// maxKeptWorkers bounds keptWorkers.
const maxKeptWorkers = 16

// keepWorkers hands the waiting workers ws to keptWorkers, as many as it has room for, and ends
// the others; it leaves ws cleared.
func keepWorkers(ws []*worker) {
	keptWorkers.Lock()
	n := min(len(ws), maxKeptWorkers-len(keptWorkers.free))
	keptWorkers.free = append(keptWorkers.free, ws[:n]...)
	keptWorkers.Unlock()
	for _, w := range ws[n:] {
		w.stop()
	}
	clear(ws)
}

// takeKeptWorker returns a worker that keepWorkers kept, or nil; none unless spare says the
// executor was built with a Spare (the production host's are not, and make their own).
func takeKeptWorker(spare bool) *worker {
	if !spare {
		return nil
	}
	keptWorkers.Lock()
	defer keptWorkers.Unlock()
	w, _ := freelist.Pop(&keptWorkers.free)
	return w
}

// StopKeptWorkers ends the coroutines of the waiting workers that stopped Spares kept for later
// executors (see Spare.Stop). A program or test that checks that no goroutine is left behind
// calls it first: what it then finds is a coroutine that holds an attempt.
func StopKeptWorkers() {
	keptWorkers.Lock()
	ws := keptWorkers.free
	keptWorkers.free = nil
	keptWorkers.Unlock()
	for _, w := range ws {
		w.stop()
	}
}
