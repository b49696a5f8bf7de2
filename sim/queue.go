package sim

import (
	"time"

	"github.com/vigilsim/vigil/runtime/engine"
	"github.com/vigilsim/vigil/runtime/protocol"
)

// eventKind says what a queued event does when it fires.
type eventKind uint8

const (
	evCall           eventKind = iota + 1 // run fn
	evToEngine                            // deliver msg to the runtime node's engine
	evToExecutor                          // deliver msg to the executor node
	evSync                                // the runtime node's store sync completes (gen)
	evEngineTimer                         // an engine timer falls due (gen)
	evExecutorTimer                       // an executor inactivity timer falls due (gen, timer)
	evConnectionLost                      // the runtime (gen) notices an attempt's connection failed (msg)
	evRelease                             // the runtime (gen) sends what its last sync made durable
)

// event is one thing due at a virtual instant. It is a value type with the hot payloads inline
// so that pushing a message delivery does not allocate a closure.
type event struct {
	at   time.Duration
	seq  uint64
	kind eventKind
	gen  uint64
	// srcGen is the sender's incarnation for messages: a message whose sender or receiver has
	// crashed since it was sent travelled on a connection that no longer exists, and is lost.
	srcGen uint64
	// timerSpec is the engine timer an evEngineTimer delivers.
	timerSpec *engine.Timer
	msg       protocol.Message
	fn        func()
	timer     *simTimer
}

// eventQueue is a binary min-heap on (at, seq). seq is the push order, so events due at the same
// instant run in the order they were scheduled — unless ties is set, when seq is drawn from it
// and events due at one instant run in an order the seed decides.
type eventQueue struct {
	items []event
	seq   uint64
	ties  Source
}

func (q *eventQueue) Len() int { return len(q.items) }

func (q *eventQueue) less(i, j int) bool {
	a, b := &q.items[i], &q.items[j]
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

func (q *eventQueue) push(e event) {
	q.seq++
	e.seq = q.seq
	if q.ties != nil {
		e.seq = q.ties.Draw(^uint64(0), "tie")
	}
	q.items = append(q.items, e)
	i := len(q.items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q.items[i], q.items[p] = q.items[p], q.items[i]
		i = p
	}
}

func (q *eventQueue) pop() event {
	top := q.items[0]
	last := len(q.items) - 1
	q.items[0] = q.items[last]
	q.items[last] = event{}
	q.items = q.items[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= last {
			break
		}
		m := l
		if r := l + 1; r < last && q.less(r, l) {
			m = r
		}
		if !q.less(m, i) {
			break
		}
		q.items[i], q.items[m] = q.items[m], q.items[i]
		i = m
	}
	return top
}
